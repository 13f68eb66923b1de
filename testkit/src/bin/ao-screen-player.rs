//! Plays recorded agent screens in a terminal, for the screen-stability tests of the agent
//! plugins: `ao-screen-player [--interval-ms N] FRAME...`. One frame is drawn once and held;
//! several are cycled (a spinner), each drawn from a cleared screen.

use std::io::Write;
use std::time::Duration;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut interval = 150u64;
    if args.first().map(String::as_str) == Some("--interval-ms") {
        interval = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(150);
        args.drain(..2);
    }
    let frames: Vec<String> = args
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let mut out = std::io::stdout();
    for i in 0.. {
        let frame = &frames[i % frames.len()];
        // Home, clear, then the frame with CRLF line ends (the tty is not in cooked mode
        // for output translation guarantees).
        let _ = write!(out, "\x1b[H\x1b[2J{}", frame.replace('\n', "\r\n"));
        let _ = out.flush();
        if frames.len() == 1 {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        std::thread::sleep(Duration::from_millis(interval));
    }
}

//! A stand-in for an AI coding CLI, for runtime tests: it owns its terminal like a TUI does
//! (raw mode, bracketed paste), echoes what is typed or pasted, and on Enter "works" on the
//! message: it records it, shows progress, and reports its state through a status file the way
//! a real agent's hooks do.
//!
//! ```text
//! ao-scripted-agent [--log FILE] [--status-file FILE] [--work-ms N] [--boot-ms N]
//!                   [--drop-enters N] [--deaf] [--no-hooks]
//! ```
//! - `--log`: every received message as a JSON line `{"n": 1, "text": "..."}`;
//! - `--status-file`: `ready` at start and after each message, `active` on submit;
//! - `--work-ms`: how long each message takes (a spinner animates meanwhile);
//! - `--boot-ms`: animate for this long before the first prompt (a busy start);
//! - `--drop-enters`: ignore the first N Enter presses (a TUI that swallowed them);
//! - `--deaf`: never read the terminal (an agent hung in a tool call);
//! - `--script FILE`: a [`ao_testkit::playbook::Playbook`]: what to do with each message
//!   (commit, push, open a PR, ask a question), so it plays an AI agent in `ao demo`;
//! - `--session-id ID` / `--resume`: the conversation id it prints, and whether it continues
//!   the conversation already in `--log` (as `claude --resume` would).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use ao_plugin_api::slots::agent::ActivityState;
use ao_plugin_api::status_file::{self, StatusRecord};
use ao_testkit::playbook::{self, Outcome, Playbook};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Args {
    log: Option<PathBuf>,
    status: Option<PathBuf>,
    work_ms: u64,
    boot_ms: u64,
    drop_enters: u32,
    deaf: bool,
    script: Option<PathBuf>,
    session_id: Option<String>,
    resume: bool,
}

fn parse() -> Args {
    let mut a = Args {
        work_ms: 100,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| die(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--log" => a.log = Some(value().into()),
            "--status-file" => a.status = Some(value().into()),
            "--work-ms" => a.work_ms = value().parse().unwrap_or_else(|_| die("bad --work-ms")),
            "--boot-ms" => a.boot_ms = value().parse().unwrap_or_else(|_| die("bad --boot-ms")),
            "--drop-enters" => {
                a.drop_enters = value().parse().unwrap_or_else(|_| die("bad --drop-enters"))
            }
            "--deaf" => a.deaf = true,
            "--script" => a.script = Some(value().into()),
            "--session-id" => a.session_id = Some(value()),
            "--resume" => a.resume = true,
            other => die(&format!("unknown flag {other}")),
        }
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("ao-scripted-agent: {msg}");
    std::process::exit(2)
}

/// Raw mode without echo, keeping signals; restored on exit by the terminal's owner anyway.
fn raw_mode() {
    // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return; // not a terminal: line-oriented input still works
        }
        t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::IEXTEN);
        t.c_iflag &= !(libc::ICRNL | libc::IXON | libc::INLCR);
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        libc::tcsetattr(0, libc::TCSANOW, &t);
    }
}

struct Agent {
    args: Args,
    out: std::io::Stdout,
    count: u64,
    playbook: Option<Playbook>,
    fired: Vec<u32>,
}

impl Agent {
    fn say(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    fn hook(&self, state: ActivityState, event: &str) {
        if let Some(p) = &self.args.status {
            let _ = status_file::append(p, &StatusRecord::now(state, Some(event)));
        }
    }

    fn animate(&mut self, what: &str, ms: u64) {
        let frames = ['|', '/', '-', '\\'];
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed() < Duration::from_millis(ms) {
            self.say(&format!(
                "\r{} {what} {}ms",
                frames[i % 4],
                start.elapsed().as_millis()
            ));
            i += 1;
            std::thread::sleep(Duration::from_millis(30));
        }
        self.say("\r\x1b[K");
    }

    fn submit(&mut self, text: String) {
        self.count += 1;
        let n = self.count;
        // Logged before the hook fires, so a test that saw `active` finds the message logged.
        if let Some(p) = &self.args.log {
            let line = serde_json::json!({ "n": n, "text": text }).to_string() + "\n";
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(line.as_bytes()));
        }
        self.hook(ActivityState::Active, "UserPromptSubmit");
        self.say(&format!("\r\n[message {n}: {} bytes]\r\n", text.len()));
        let ms = self.args.work_ms;
        self.animate("working", ms);
        if self.play(&text) {
            return; // asked the human: waiting for input, not ready
        }
        self.say(&format!("[done {n}]\r\n> "));
        self.hook(ActivityState::Ready, "Stop");
    }

    /// Runs the playbook's rule for `text`; true when it ended asking the human.
    fn play(&mut self, text: &str) -> bool {
        let Some(book) = &self.playbook else {
            return false;
        };
        let Some(i) = book.pick(text, &self.fired) else {
            return false;
        };
        if self.fired.len() <= i {
            self.fired.resize(i + 1, 0);
        }
        self.fired[i] += 1;
        let forge = book.forge.clone();
        let steps = book.rules[i].steps.clone();
        let cwd = std::env::current_dir().unwrap_or_default();
        for step in &steps {
            match playbook::run_step(step, &cwd, forge.as_ref()) {
                Ok(Outcome::Done(line)) => self.say(&format!("  {line}\r\n")),
                Ok(Outcome::Think(ms)) => self.animate("thinking", ms),
                Ok(Outcome::Crash(line)) => {
                    self.say(&format!("{line}\r\n"));
                    std::process::exit(3);
                }
                Ok(Outcome::Asked(q)) => {
                    self.say(&format!("? {q}\r\n(answer) > "));
                    if let Some(p) = &self.args.status {
                        let _ = status_file::append(
                            p,
                            &StatusRecord {
                                detail: Some(q.clone()),
                                ..StatusRecord::now(
                                    ActivityState::WaitingInput,
                                    Some("Notification"),
                                )
                            },
                        );
                    }
                    return true;
                }
                Err(e) => {
                    self.say(&format!("  error: {e}\r\n"));
                    break;
                }
            }
        }
        false
    }
}

fn main() {
    let args = parse();
    raw_mode();
    let playbook = args
        .script
        .as_deref()
        .map(|p| Playbook::load(p).unwrap_or_else(|e| die(&e)));
    // Resuming continues the numbering of the conversation in the log.
    let earlier = match (&args.log, args.resume) {
        (Some(log), true) => std::fs::read_to_string(log)
            .map(|t| t.lines().count() as u64)
            .unwrap_or(0),
        _ => 0,
    };
    let mut agent = Agent {
        args,
        out: std::io::stdout(),
        count: earlier,
        playbook,
        fired: Vec::new(),
    };
    // Ask for bracketed paste, as Claude Code, Codex and Aider's prompt_toolkit do.
    agent.say("\x1b[?2004hscripted agent\r\n");
    if let Some(id) = agent.args.session_id.clone() {
        let how = if agent.args.resume { "resumed" } else { "new" };
        agent.say(&format!(
            "{how} conversation {id} ({earlier} earlier messages)\r\n"
        ));
    }
    let boot = agent.args.boot_ms;
    agent.animate("starting", boot);
    agent.say("> ");
    agent.hook(ActivityState::Ready, "SessionStart");
    if agent.args.deaf {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    let mut input: Vec<u8> = Vec::new();
    let mut pasting = false;
    let mut esc: Vec<u8> = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if !esc.is_empty() || b == 0x1b {
                esc.push(b);
                // CSI: ESC [ params final-byte(0x40..=0x7e)
                let done = esc.len() > 2 && (0x40..=0x7e).contains(&b) || esc.len() > 16;
                if esc.len() == 2 && b != b'[' {
                    esc.clear();
                } else if done {
                    match esc.as_slice() {
                        b"\x1b[200~" => pasting = true,
                        b"\x1b[201~" => pasting = false,
                        _ => {}
                    }
                    esc.clear();
                }
                continue;
            }
            if pasting {
                let b = if b == b'\r' { b'\n' } else { b };
                input.push(b);
                agent.say(if b == b'\n' { "\r\n" } else { "" });
                if b != b'\n' {
                    let _ = agent.out.write_all(&[b]);
                }
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    if agent.args.drop_enters > 0 {
                        agent.args.drop_enters -= 1;
                        continue;
                    }
                    if input.is_empty() {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&std::mem::take(&mut input)).into_owned();
                    agent.submit(text);
                }
                0x15 => {
                    input.clear();
                    agent.say("\r\x1b[K> ");
                }
                0x7f | 0x08 => {
                    if input.pop().is_some() {
                        agent.say("\x08 \x08");
                    }
                }
                _ => {
                    input.push(b);
                    let _ = agent.out.write_all(&[b]);
                }
            }
        }
        let _ = agent.out.flush();
    }
}

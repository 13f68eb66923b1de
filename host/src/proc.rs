//! Running an external command: an argument vector (never a shell string) and a deadline.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit success.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `argv` with no stdin; kills it after `timeout`. `Err` is one line.
pub fn run(argv: &[&str], timeout: Duration) -> Result<Finished, String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{program}`: {e}"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        let _ = tx.send((o, e));
    });
    match rx.recv_timeout(timeout) {
        Ok((stdout, stderr)) => {
            let status = child.wait().map_err(|e| format!("lost `{program}`: {e}"))?;
            Ok(Finished {
                success: status.success(),
                stdout,
                stderr,
            })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "`{program}` did not finish within {}s",
                timeout.as_secs()
            ))
        }
    }
}

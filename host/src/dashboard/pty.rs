//! A program on a pseudo-terminal, for the dashboard's live terminal: the runtime's attach
//! command (for tmux, `tmux attach` to the session) runs as the session leader of a new pty,
//! its output is read by a thread, keystrokes are written back, and the window size follows
//! the browser's. Dropping it hangs up the program.

use crate::Error;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// A running program on a pty.
pub struct Pty {
    master: File,
    child: Child,
}

fn winsize(cols: u16, rows: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows.max(1),
        ws_col: cols.max(1),
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Pty {
    /// Starts `argv` (no shell) on a new pty of `cols`×`rows`, with `$TMUX` unset and a
    /// `TERM` xterm.js understands.
    pub fn spawn(argv: &[String], cols: u16, rows: u16) -> Result<Pty, Error> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| Error::Invalid("an empty attach command".into()))?;
        let (mut master, mut slave) = (-1, -1);
        let ws = winsize(cols, rows);
        // SAFETY: openpty writes the two descriptors it opens; the pointers are valid.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &ws,
            )
        };
        if rc != 0 {
            return Err(Error::io(
                "could not open",
                "a pseudo-terminal",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: both descriptors were just opened and are owned here alone.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| fd.try_clone().map(Stdio::from);
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .stdin(io(&slave).map_err(|e| Error::io("could not use", "the pty", e))?)
            .stdout(io(&slave).map_err(|e| Error::io("could not use", "the pty", e))?)
            .stderr(io(&slave).map_err(|e| Error::io("could not use", "the pty", e))?);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The pty on stdin becomes the controlling terminal.
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("could not run", prog.as_str(), e))?;
        drop(slave);
        Ok(Pty {
            master: File::from(master),
            child,
        })
    }

    /// A reader of the program's output (for a thread of its own).
    pub fn reader(&self) -> Result<File, Error> {
        self.master
            .try_clone()
            .map_err(|e| Error::io("could not read", "the pty", e))
    }

    /// Types `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.master.write_all(bytes)
    }

    /// Tells the program its window is now `cols`×`rows`.
    pub fn resize(&self, cols: u16, rows: u16) {
        let ws = winsize(cols, rows);
        // SAFETY: TIOCSWINSZ reads a winsize we own from a descriptor we own.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ as _, &ws) };
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // tmux attach detaches on hangup; the session it showed lives on. A program that
        // ignores the hangup is killed after half a second: this runs on an async worker.
        let pid = self.child.id() as i32;
        // SAFETY: signals to our own child.
        unsafe { libc::kill(pid, libc::SIGHUP) };
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Reads until EOF or error, handing each chunk to `each` (false stops).
pub fn pump(mut from: File, mut each: impl FnMut(Vec<u8>) -> bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if !each(buf[..n].to_vec()) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_runs_on_the_pty_sees_its_size_and_gets_what_is_typed() {
        let argv: Vec<String> = ["sh", "-c", "stty size; read line; echo got:$line"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut pty = Pty::spawn(&argv, 100, 30).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = pty.reader().unwrap();
        std::thread::spawn(move || pump(reader, |b| tx.send(b).is_ok()));
        let mut out = String::new();
        let wait = |out: &mut String, want: &str| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !out.contains(want) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Ok(b) => out.push_str(&String::from_utf8_lossy(&b)),
                    Err(_) => panic!("no {want:?} in {out:?}"),
                }
            }
        };
        wait(&mut out, "30 100");
        pty.write(b"hello\r").unwrap();
        wait(&mut out, "got:hello");
    }
}

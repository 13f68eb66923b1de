//! One agent on a pseudo-terminal: the child, a thread feeding its output into a terminal
//! emulator (so capture reads a screen, as with tmux), and non-blocking input with deadlines.

use ao_plugin_api::sdk::delivery::Terminal;
use ao_plugin_api::sdk::{Ctx, SdkError};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of history kept beyond the visible screen.
const SCROLLBACK: usize = 5_000;
/// Longest a write to the agent's input may block before the agent counts as not reading.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);

/// Answers the terminal queries TUIs send at start-up (cursor position, device attributes);
/// without answers some of them wait seconds or give up.
struct Replies {
    out: Option<File>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let reply = match (i1, c, params.first().and_then(|p| p.first())) {
            (None, 'n', Some(6)) => {
                let (row, col) = screen.cursor_position();
                format!("\x1b[{};{}R", row + 1, col + 1)
            }
            (None, 'n', Some(5)) => "\x1b[0n".to_string(),
            (None, 'c', _) => "\x1b[?1;2c".to_string(),
            _ => return,
        };
        if let Some(out) = &mut self.out {
            let _ = out.write_all(reply.as_bytes());
        }
    }
}

type Screen = vt100::Parser<Replies>;

/// A running (or finished) agent.
pub(crate) struct Session {
    pub(crate) pid: u32,
    pub(crate) started: Instant,
    child: Mutex<Child>,
    input: Mutex<File>,
    /// The pty's output side, read under the screen lock by whoever reads the screen.
    output: File,
    screen: Arc<Mutex<Screen>>,
    exit: Arc<Mutex<Option<String>>>,
}

impl Session {
    /// Starts `argv` on a new pty of `rows`×`cols` in `cwd`.
    pub(crate) fn spawn(
        argv: &[String],
        cwd: &str,
        env: &std::collections::BTreeMap<String, String>,
        rows: u16,
        cols: u16,
    ) -> Result<Arc<Self>, SdkError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            SdkError::Unavailable(format!("cannot {what}: {e}"))
        };
        let (pty, pts) = pty_process::blocking::open().map_err(|e| fail("open a pty", &e))?;
        pty.resize(pty_process::Size::new(rows, cols))
            .map_err(|e| fail("size the pty", &e))?;
        let mut cmd = pty_process::blocking::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(cwd)
            .env("TERM", "xterm-256color");
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let child = cmd
            .spawn(pts)
            .map_err(|e| fail(&format!("start `{}`", argv[0]), &e))?;
        let master: OwnedFd = pty.into();
        set_nonblocking(&master).map_err(|e| fail("configure the pty", &e))?;
        let reader = File::from(master);
        let input = reader.try_clone().map_err(|e| fail("dup the pty", &e))?;
        let output = reader.try_clone().map_err(|e| fail("dup the pty", &e))?;
        let replies = reader.try_clone().ok();
        let screen = Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(
            rows,
            cols,
            SCROLLBACK,
            Replies { out: replies },
        )));
        let session = Arc::new(Self {
            pid: child.id(),
            started: Instant::now(),
            child: Mutex::new(child),
            input: Mutex::new(input),
            output,
            screen: screen.clone(),
            exit: Arc::default(),
        });
        let weak = Arc::downgrade(&session);
        std::thread::Builder::new()
            .name(format!("ao-pty-{}", session.pid))
            .spawn(move || pump(reader, &screen, &weak))
            .map_err(|e| fail("start the output reader", &e))?;
        Ok(session)
    }

    /// The screen with everything the agent has written so far applied. The pump thread may
    /// lag under load; a decision taken on a stale screen (no bracketed paste yet, output
    /// missing after exit) would be wrong, so readers catch up first.
    fn screen(&self) -> std::sync::MutexGuard<'_, Screen> {
        let mut parser = self.screen.lock().unwrap_or_else(|e| e.into_inner());
        drain(&self.output, &mut parser);
        parser
    }

    /// `None` while running; how it ended otherwise.
    pub(crate) fn exit_status(&self) -> Option<String> {
        if let Some(s) = self.exit.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Some(s);
        }
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match child.try_wait() {
            Ok(Some(status)) => {
                let s = describe(status);
                *self.exit.lock().unwrap_or_else(|e| e.into_inner()) = Some(s.clone());
                Some(s)
            }
            _ => None,
        }
    }

    /// SIGTERM to the agent's process group, SIGKILL after `grace`.
    pub(crate) fn terminate(&self, grace: Duration) {
        let pgid = -(self.pid as libc::pid_t);
        // SAFETY: kill(2) on the child's own process group (it is a session leader).
        unsafe { libc::kill(pgid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while self.exit_status().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.exit_status().is_none() {
            // SAFETY: as above.
            unsafe { libc::kill(pgid, libc::SIGKILL) };
            let _ = self.child.lock().unwrap_or_else(|e| e.into_inner()).wait();
            self.exit_status();
        }
    }

    /// The last `lines` lines of history and screen, soft-wrapped rows joined (like tmux
    /// `capture-pane -J`), trailing blank lines dropped.
    pub(crate) fn lines(&self, lines: usize) -> String {
        let mut parser = self.screen();
        let screen = parser.screen_mut();
        let (rows, cols) = screen.size();
        screen.set_scrollback(usize::MAX);
        let available = screen.scrollback();
        // Up to `lines` of history, not `lines - rows`: the screen's bottom rows may be blank.
        let mut off = lines.min(available);
        let mut raw: Vec<(String, bool)> = Vec::new();
        let mut read = |screen: &vt100::Screen, take: usize| {
            let texts: Vec<String> = screen.rows(0, cols).take(take).collect();
            for (i, text) in texts.into_iter().enumerate() {
                raw.push((text, screen.row_wrapped(i as u16)));
            }
        };
        while off > 0 {
            screen.set_scrollback(off);
            let take = off.min(usize::from(rows));
            read(screen, take);
            off -= take;
        }
        screen.set_scrollback(0);
        read(screen, usize::from(rows));
        let mut kept: Vec<String> = Vec::new();
        let mut continues = false;
        for (text, wrapped) in raw {
            match kept.last_mut() {
                Some(last) if continues => last.push_str(&text),
                _ => kept.push(text),
            }
            continues = wrapped;
        }
        let mut kept: Vec<String> = kept.into_iter().map(|l| l.trim_end().to_owned()).collect();
        while kept.last().is_some_and(|l| l.is_empty()) {
            kept.pop();
        }
        let start = kept.len().saturating_sub(lines);
        kept[start..].join("\n")
    }

    fn write(&self, ctx: &Ctx, bytes: &[u8]) -> Result<(), SdkError> {
        if let Some(how) = self.exit_status() {
            return Err(SdkError::NotFound(format!("the agent has exited ({how})")));
        }
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + WRITE_DEADLINE;
        let mut rest = bytes;
        while !rest.is_empty() {
            match input.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(SdkError::Timeout(
                            "the agent is not reading its input (the terminal's input buffer is full)"
                                .into(),
                        ));
                    }
                    ctx.sleep(Duration::from_millis(10))?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(SdkError::NotFound(format!(
                        "the agent's terminal is gone: {e}"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Terminal for Session {
    fn capture(&self, _ctx: &Ctx) -> Result<String, SdkError> {
        Ok(self.screen().screen().contents())
    }

    fn clear_input(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.write(ctx, b"\x15")
    }

    fn paste(&self, ctx: &Ctx, text: &str) -> Result<(), SdkError> {
        let bracketed = self.screen().screen().bracketed_paste();
        // A terminal sends Enter as CR, and so does a paste.
        let body = text.replace('\n', "\r");
        let mut bytes = Vec::with_capacity(body.len() + 12);
        if bracketed {
            bytes.extend_from_slice(b"\x1b[200~");
        }
        bytes.extend_from_slice(body.as_bytes());
        if bracketed {
            bytes.extend_from_slice(b"\x1b[201~");
        }
        self.write(ctx, &bytes)
    }

    fn press_enter(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.write(ctx, b"\r")
    }

    fn type_keys(&self, ctx: &Ctx, keys: &str) -> Result<(), SdkError> {
        let clean = ao_plugin_api::sdk::delivery::sanitize(keys);
        self.write(ctx, clean.as_bytes())
    }

    fn send_key(&self, ctx: &Ctx, key: &str) -> Result<(), SdkError> {
        // What a terminal sends for each key (cursor keys in normal mode).
        let bytes: &[u8] = match key {
            "Enter" => b"\r",
            "Up" => b"\x1b[A",
            "Down" => b"\x1b[B",
            "Right" => b"\x1b[C",
            "Left" => b"\x1b[D",
            "Escape" => b"\x1b",
            _ => {
                return Err(SdkError::InvalidParams(format!(
                    "not a key ao presses: {key:?}"
                )));
            }
        };
        self.write(ctx, bytes)
    }
}

fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown status".into(),
    }
}

/// Reads whatever output is pending (non-blocking) into the emulator. Called with the screen
/// locked, so chunks are applied in the order they were read. `false` once the agent's side
/// has closed.
fn drain(mut reader: &File, parser: &mut Screen) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => parser.process(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // EIO: every process holding the terminal has exited.
            Err(_) => return false,
        }
    }
}

/// Feeds the pty's output into the emulator until the agent's side closes.
fn pump(reader: File, screen: &Mutex<Screen>, session: &std::sync::Weak<Session>) {
    let fd = reader.as_raw_fd();
    loop {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own; a bounded wait so a dropped session ends the thread.
        let ready = unsafe { libc::poll(&mut pfd, 1, 200) };
        if ready == 0 {
            if session.strong_count() == 0 {
                return;
            }
            continue;
        }
        let mut parser = screen.lock().unwrap_or_else(|e| e.into_inner());
        if !drain(&reader, &mut parser) {
            break;
        }
    }
    if let Some(s) = session.upgrade() {
        // Reap it now, so liveness does not wait for someone to ask.
        for _ in 0..50 {
            if s.exit_status().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

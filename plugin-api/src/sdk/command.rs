//! Running an external program the only way `ao` allows: an argument vector (never a shell
//! string), a deadline, and cancellation by the host.
//!
//! The child gets its own process group, so a timeout or a cancel kills what it started too
//! (`npm install` and its workers), not only the direct child.

use crate::sdk::{Ctx, SdkError};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Output kept per stream; a chatty command keeps its last bytes, which hold the error.
const MAX_CAPTURE: usize = 4 << 20;

/// An external command.
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Its standard output (lossy UTF-8, capped at the last 4 MiB).
    pub stdout: String,
    /// Its standard error (lossy UTF-8, capped at the last 4 MiB).
    pub stderr: String,
}

impl Output {
    /// Whether it exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The first non-empty line of stderr (else stdout), for one-line error messages.
    pub fn first_error_line(&self) -> &str {
        first_line(&self.stderr)
            .or_else(|| first_line(&self.stdout))
            .unwrap_or("no output")
    }
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

impl Command {
    /// A command running `program` with a 30 s deadline.
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// A command from an argument vector; `Err` when it is empty.
    pub fn from_argv<S: AsRef<std::ffi::OsStr>>(argv: &[S]) -> Result<Self, SdkError> {
        let (first, rest) = argv
            .split_first()
            .ok_or_else(|| SdkError::InvalidParams("empty command".into()))?;
        Ok(Self::new(first.as_ref()).args(rest))
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets an environment variable for the child (the rest is inherited).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Removes an inherited environment variable.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// Feeds `bytes` to the child's stdin (otherwise stdin is `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Gives up (and kills the process group) after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The program and arguments, for messages.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn name(&self) -> String {
        let base = Path::new(&self.program)
            .file_name()
            .unwrap_or(self.program.as_os_str())
            .to_string_lossy();
        match self.args.first() {
            Some(sub) if !sub.to_string_lossy().starts_with('-') => {
                format!("{base} {}", sub.to_string_lossy())
            }
            _ => base.into_owned(),
        }
    }

    /// Runs to completion. A non-zero exit is still `Ok`; see [`Command::run_ok`].
    ///
    /// `ctx` (when given) cancels the command as soon as the host cancels the call, and the
    /// call's remaining time caps the command's own deadline.
    pub fn run(&self, ctx: Option<&Ctx>) -> Result<Output, SdkError> {
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| self.spawn_error(e))?;
        let pid = child.id();
        let mut guard = GroupGuard(Some(pid));

        if let (Some(bytes), Some(mut stdin)) = (self.stdin.clone(), child.stdin.take()) {
            // A thread, so a child that does not read cannot block us past the deadline.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let stdout = spawn_reader(child.stdout.take());
        let stderr = spawn_reader(child.stderr.take());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
            drop::<Child>(child);
        });

        let mut budget = self.timeout;
        if let Some(left) = ctx.and_then(Ctx::remaining) {
            budget = budget.min(left);
        }
        let deadline = Instant::now() + budget;
        let status = loop {
            let now = Instant::now();
            if now >= deadline {
                guard.kill();
                return Err(SdkError::Timeout(format!(
                    "`{}` did not finish within {}",
                    self.name(),
                    human(budget)
                )));
            }
            match rx.recv_timeout((deadline - now).min(Duration::from_millis(50))) {
                Ok(status) => break status,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if ctx.is_some_and(Ctx::is_cancelled) {
                        guard.kill();
                        return Err(SdkError::Cancelled);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(SdkError::Internal(format!("lost `{}`", self.name())));
                }
            }
        };
        let status =
            status.map_err(|e| SdkError::Internal(format!("lost `{}`: {e}", self.name())))?;
        // The direct child is gone; grandchildren that kept the pipes open are killed with
        // the group so the readers below finish.
        guard.kill();
        Ok(Output {
            code: status.code(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Runs and requires exit 0; the error names the command and its first error line.
    pub fn run_ok(&self, ctx: Option<&Ctx>) -> Result<Output, SdkError> {
        let out = self.run(ctx)?;
        if out.success() {
            Ok(out)
        } else {
            Err(SdkError::Internal(format!(
                "`{}` failed: {}",
                self.name(),
                out.first_error_line()
            )))
        }
    }

    fn spawn_error(&self, e: std::io::Error) -> SdkError {
        let program = self.program.to_string_lossy();
        match e.kind() {
            std::io::ErrorKind::NotFound => {
                if self.cwd.as_ref().is_some_and(|d| !d.is_dir()) {
                    SdkError::NotFound(format!(
                        "cannot run `{program}`: directory {} does not exist",
                        self.cwd
                            .as_ref()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default()
                    ))
                } else {
                    SdkError::Unavailable(format!("`{program}` is not installed or not on PATH"))
                }
            }
            _ => SdkError::Unavailable(format!("cannot run `{program}`: {e}")),
        }
    }
}

fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Kills the child's whole process group when dropped or asked.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals the group we created with
            // process_group(0); it touches no memory.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

type Reader = std::thread::JoinHandle<String>;

fn spawn_reader(stream: Option<impl Read + Send + 'static>) -> Reader {
    std::thread::spawn(move || {
        let Some(mut stream) = stream else {
            return String::new();
        };
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * MAX_CAPTURE {
                        kept.drain(..kept.len() - MAX_CAPTURE);
                    }
                }
            }
        }
        if kept.len() > MAX_CAPTURE {
            kept.drain(..kept.len() - MAX_CAPTURE);
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

/// Whether `program` can be found: a path that exists and is executable, or a name on `path`
/// (a `PATH`-style list; the process's own `PATH` when `None`).
pub fn find_program(program: &str, path: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = match path {
        Some(p) => p.to_owned(),
        None => std::env::var("PATH").unwrap_or_default(),
    };
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| executable(p))
}

/// Checks a launch before any runtime starts it: an argv with a program, environment names every
/// runtime can pass, and no NUL byte anywhere (C strings end there).
pub fn check_launch(
    argv: &[String],
    env: &std::collections::BTreeMap<String, String>,
) -> Result<(), SdkError> {
    if argv.is_empty() {
        return Err(SdkError::InvalidParams(
            "the launch command is empty".into(),
        ));
    }
    for k in env.keys() {
        check_env_name(k)
            .map_err(|e| SdkError::InvalidParams(format!("invalid environment variable: {e}")))?;
    }
    if argv.iter().chain(env.values()).any(|s| s.contains('\0')) {
        return Err(SdkError::InvalidParams(
            "the launch command or its environment contains a NUL byte".into(),
        ));
    }
    Ok(())
}

/// Checks an environment variable name: letters, digits and `_`, not starting with a digit,
/// the names every runtime can pass as they are (tmux `-e`, a shell's `export`, a container's
/// env). The config and each runtime check with this one rule.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let plain = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a variable name: letters, digits and `_`, not starting with a digit",
            name.escape_debug()
        ))
    }
}

/// An AppleScript string literal for `osascript -e` (macOS plugins): quoted, `\\` and `"`
/// escaped, newlines as `\n`, other control characters dropped, so no text can end the string
/// and run as script.
pub fn applescript_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_plain() {
        for ok in ["A", "_x1", "ANTHROPIC_BASE_URL"] {
            assert!(check_env_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1X", "A-B", "A=B", "A B", "A\0"] {
            assert!(check_env_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arguments_reach_the_program_verbatim() {
        let out = Command::new("printf")
            .args(["%s|", "$(echo no)", "a b", "`x`;"])
            .run_ok(None)
            .unwrap();
        assert_eq!(out.stdout, "$(echo no)|a b|`x`;|");
    }

    #[test]
    fn stdin_env_and_cwd_are_given() {
        let dir = std::env::temp_dir();
        let out = Command::new("sh")
            .args(["-c", "cat; printf ' %s ' \"$AO_X\"; pwd"])
            .stdin("in")
            .env("AO_X", "x")
            .cwd(&dir)
            .run_ok(None)
            .unwrap();
        assert!(out.stdout.starts_with("in x "), "{}", out.stdout);
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let start = Instant::now();
        // The grandchild keeps stdout open; without the group kill this would hang 30 s.
        let err = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .timeout(Duration::from_millis(300))
            .run(None)
            .unwrap_err();
        assert!(matches!(err, SdkError::Timeout(_)), "{err}");
        assert!(
            err.to_string().contains("`sh` did not finish within 300ms"),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn failures_name_the_command_and_its_error() {
        let err = Command::new("git")
            .args(["definitely-not-a-command"])
            .run_ok(None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`git definitely-not-a-command` failed: "),
            "{err}"
        );
        let missing = Command::new("ao-no-such-program").run(None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "`ao-no-such-program` is not installed or not on PATH"
        );
    }

    #[test]
    fn programs_are_found_on_a_given_path() {
        assert!(find_program("sh", None).is_some());
        assert!(find_program("sh", Some("/nonexistent")).is_none());
        assert!(find_program("/bin/sh", Some("")).is_some());
    }
}

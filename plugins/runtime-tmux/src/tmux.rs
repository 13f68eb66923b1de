//! The one door to tmux: every call is an argv with a deadline, and tmux's error text becomes
//! an error kind the host can act on.

use ao_plugin_api::sdk::command::Command;
use ao_plugin_api::sdk::tmux::{TmuxDoor, classify};
use ao_plugin_api::sdk::{Ctx, SdkError};
use std::path::Path;
use std::time::Duration;

/// A tmux server: the default one, or the one at `socket`.
#[derive(Debug, Clone)]
pub(crate) struct Tmux {
    socket: Option<String>,
    timeout: Duration,
}

impl Tmux {
    pub(crate) fn new(socket: Option<String>, timeout: Duration) -> Self {
        Self { socket, timeout }
    }

    pub(crate) fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// `tmux [-S socket] <args>` as an argv, for attach commands shown to people.
    pub(crate) fn argv<S: AsRef<str>>(&self, args: &[S]) -> Vec<String> {
        let mut argv = vec!["tmux".to_string()];
        if let Some(s) = &self.socket {
            argv.extend(["-S".to_string(), s.clone()]);
        }
        argv.extend(args.iter().map(|a| a.as_ref().to_string()));
        argv
    }

    fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let argv = self.argv(args);
        Command::new(&argv[0])
            .args(&argv[1..])
            .env("LC_ALL", "C.UTF-8")
            .timeout(self.timeout)
    }

    /// Runs a tmux command; tmux's complaints become typed errors.
    pub(crate) fn run<S: AsRef<str>>(&self, ctx: &Ctx, args: &[S]) -> Result<String, SdkError> {
        self.run_with(ctx, self.command(args))
    }

    /// Runs in `cwd` with `input` on stdin (`source-file -`). New sessions start in the
    /// client's directory; tmux would format-expand a `-c` argument, and a `#(...)` in a path
    /// would run.
    pub(crate) fn run_in_stdin<S: AsRef<str>>(
        &self,
        ctx: &Ctx,
        cwd: &Path,
        input: &str,
        args: &[S],
    ) -> Result<String, SdkError> {
        let cmd = self.command(args).cwd(cwd).stdin(input.as_bytes().to_vec());
        self.run_with(ctx, cmd)
    }

    /// Runs with `input` on stdin (`load-buffer -`).
    pub(crate) fn run_stdin<S: AsRef<str>>(
        &self,
        ctx: &Ctx,
        input: &str,
        args: &[S],
    ) -> Result<String, SdkError> {
        self.run_with(ctx, self.command(args).stdin(input.as_bytes().to_vec()))
    }

    fn run_with(&self, ctx: &Ctx, cmd: Command) -> Result<String, SdkError> {
        let shown = cmd.display();
        let out = cmd.run(Some(ctx)).map_err(|e| match e {
            SdkError::Unavailable(_) => SdkError::Unavailable(
                "tmux is not installed or not on PATH (install it: apt install tmux / brew install tmux)"
                    .into(),
            ),
            other => other,
        })?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(classify(&shown, out.first_error_line()))
        }
    }
}

pub(crate) use ao_plugin_api::sdk::tmux::is_gone;

impl TmuxDoor for Tmux {
    fn run(&self, ctx: &Ctx, args: &[&str], stdin: Option<&str>) -> Result<String, SdkError> {
        match stdin {
            Some(text) => self.run_stdin(ctx, text, args),
            None => Tmux::run(self, ctx, args),
        }
    }
}

/// Asks the tmux server at `pid` to reap its exited children again.
///
/// tmux built with libutempter (Debian's and Ubuntu's) loses a pane's SIGCHLD when the agent
/// exits while utempter's helper runs — and tmux runs it exactly when it reads the pane's
/// end of file. The agent then stays a zombie, the pane is dead without an exit status, and
/// "Pane is dead" is never drawn until some other child exits (tmux/tmux#311, #4559). A
/// SIGCHLD makes tmux's handler run its `waitpid(WNOHANG)` loop, which is harmless when
/// nothing is waiting; a server we may not signal is left alone.
pub(crate) fn nudge_reaper(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 1 {
        // SAFETY: kill(2) with a positive pid signals one process; it touches no memory.
        unsafe { libc::kill(pid, libc::SIGCHLD) };
    }
}

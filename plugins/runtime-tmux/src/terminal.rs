//! The delivery driver's view of a tmux pane.

use crate::launch::quote;
use crate::tmux::Tmux;
use ao_plugin_api::sdk::delivery::Terminal;
use ao_plugin_api::sdk::{Ctx, SdkError};
use std::sync::atomic::{AtomicU64, Ordering};

static BUFFERS: AtomicU64 = AtomicU64::new(0);

pub(crate) struct TmuxTerminal<'a> {
    tmux: &'a Tmux,
    target: &'a str,
    name: &'a str,
}

impl<'a> TmuxTerminal<'a> {
    pub(crate) fn new(tmux: &'a Tmux, target: &'a str, name: &'a str) -> Self {
        Self { tmux, target, name }
    }
}

impl Terminal for TmuxTerminal<'_> {
    fn capture(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.tmux
            .run(ctx, &["capture-pane", "-p", "-t", self.target])
    }

    fn capture_styled(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.tmux
            .run(ctx, &["capture-pane", "-p", "-e", "-t", self.target])
    }

    fn clear_input(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.on_live_pane(
            ctx,
            None,
            &[],
            &format!("send-keys -t {} C-u", quote(self.target)),
        )
    }

    fn paste(&self, ctx: &Ctx, text: &str) -> Result<(), SdkError> {
        // A buffer of our own (unique per paste) loaded from stdin: the text never appears on a
        // command line, and `-p` brackets it when the application enabled bracketed paste, so
        // newlines inside it do not submit early. `-d` deletes the buffer after pasting.
        let buffer = format!(
            "ao-{}-{}-{}",
            self.name,
            std::process::id(),
            BUFFERS.fetch_add(1, Ordering::Relaxed)
        );
        let result = self.on_live_pane(
            ctx,
            Some(text),
            &["load-buffer", "-b", &buffer, "-"],
            &format!(
                "paste-buffer -d -p -b {} -t {}",
                quote(&buffer),
                quote(self.target)
            ),
        );
        if result.is_err() {
            let _ = self.tmux.run(ctx, &["delete-buffer", "-b", &buffer]);
        }
        result
    }

    fn press_enter(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.send_key(ctx, "Enter")
    }

    fn type_keys(&self, ctx: &Ctx, keys: &str) -> Result<(), SdkError> {
        // `-l`: the text is typed as characters, never read as key names.
        let action = format!("send-keys -t {} -l -- {}", quote(self.target), quote(keys));
        self.on_live_pane(ctx, None, &[], &action)
    }

    fn send_key(&self, ctx: &Ctx, key: &str) -> Result<(), SdkError> {
        if !matches!(key, "Enter" | "Up" | "Down" | "Left" | "Right" | "Escape") {
            return Err(SdkError::InvalidParams(format!(
                "not a key ao presses: {key:?}"
            )));
        }
        self.on_live_pane(
            ctx,
            None,
            &[],
            &format!("send-keys -t {} {key}", quote(self.target)),
        )
    }
}

impl TmuxTerminal<'_> {
    /// Runs `action` (tmux command language, every word quoted) on the pane only while its
    /// process runs, decided by tmux itself in the same command queue as `before` (so no exit
    /// can slip in between): tmux 3.3a crashes, taking every session on the server with it,
    /// when a paste reaches a dead pane (reproduced with plain tmux). Keys sent to a dead pane
    /// are harmless but would vanish while ao waited for an answer; both say the agent exited.
    fn on_live_pane(
        &self,
        ctx: &Ctx,
        stdin: Option<&str>,
        before: &[&str],
        action: &str,
    ) -> Result<(), SdkError> {
        let dead = format!("display-message -p {}", quote(DEAD_MARK));
        let mut args: Vec<&str> = before.to_vec();
        if !args.is_empty() {
            args.push(";");
        }
        args.extend([
            "if-shell",
            "-F",
            "-t",
            self.target,
            "#{pane_dead}",
            &dead,
            action,
        ]);
        let out = match stdin {
            Some(text) => self.tmux.run_stdin(ctx, text, &args)?,
            None => self.tmux.run(ctx, &args)?,
        };
        if out.contains(DEAD_MARK) {
            return Err(SdkError::NotFound(format!("{}: {PANE_DEAD}", self.name)));
        }
        Ok(())
    }
}

/// What a refusal to type into a dead pane prints (tmux echoes it back to us).
const DEAD_MARK: &str = "ao: the pane is dead";

/// The error of a delivery to an agent that exited.
pub(crate) const PANE_DEAD: &str = "the agent has exited (its pane is dead); nothing was typed";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// tmux 3.3a segfaults when a paste reaches a dead pane, and every session on the server
    /// dies with it: the guard must keep the server, and say why nothing was typed.
    #[test]
    fn nothing_reaches_a_dead_pane_and_the_server_lives() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("t.sock").display().to_string();
        let tmux = Tmux::new(Some(socket.clone()), Duration::from_secs(5));
        let ctx = Ctx::detached();
        tmux.run(&ctx, &["new-session", "-d", "-s", "other", "sleep", "600"])
            .unwrap();
        tmux.run(
            &ctx,
            &[
                "new-session",
                "-d",
                "-s",
                "dead",
                "true",
                ";",
                "set-option",
                "-w",
                "-t",
                "=dead:",
                "remain-on-exit",
                "on",
            ],
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while tmux
            .run(
                &ctx,
                &["display-message", "-p", "-t", "=dead:", "#{pane_dead}"],
            )
            .unwrap()
            .trim()
            != "1"
        {
            assert!(std::time::Instant::now() < deadline, "the pane never died");
            std::thread::sleep(Duration::from_millis(20));
        }
        let term = TmuxTerminal::new(&tmux, "=dead:", "dead");
        for (what, r) in [
            ("paste", term.paste(&ctx, "hello")),
            ("keys", term.type_keys(&ctx, "y")),
            ("Enter", term.press_enter(&ctx)),
            ("C-u", term.clear_input(&ctx)),
        ] {
            match r {
                Err(SdkError::NotFound(m)) => assert!(m.ends_with(PANE_DEAD), "{what}: {m}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        let sessions = tmux
            .run(&ctx, &["list-sessions", "-F", "#{session_name}"])
            .expect("the tmux server lives");
        assert_eq!(
            sessions.split_whitespace().collect::<Vec<_>>(),
            ["dead", "other"]
        );
        // No buffer of ours is left behind.
        let buffers = tmux
            .run(&ctx, &["list-buffers", "-F", "#{buffer_name}"])
            .unwrap();
        assert!(!buffers.contains("ao-"), "{buffers}");
        // A live pane still gets its paste.
        let live = TmuxTerminal::new(&tmux, "=other:", "other");
        live.paste(&ctx, "typed").unwrap();
        let _ = tmux.run(&ctx, &["kill-server"]);
    }
}

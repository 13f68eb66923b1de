//! A tmux pane as the delivery driver sees it ([`delivery::Terminal`]), over any door to a tmux
//! server: a local `tmux` client (runtime-tmux) or an exec into a container that runs tmux
//! inside (runtime-docker). Delivery, capture and dialog answers keep one implementation
//! whatever carries the commands.
//!
//! [`delivery::Terminal`]: crate::sdk::delivery::Terminal

use crate::sdk::delivery::Terminal;
use crate::sdk::{Ctx, SdkError};
use std::sync::atomic::{AtomicU64, Ordering};

/// How tmux commands reach a server.
pub trait TmuxDoor {
    /// Runs one tmux command line (`args` after `tmux [-S socket]`, `;` separating commands),
    /// with `stdin` on its standard input when given; returns its standard output. tmux's
    /// complaints come back through [`classify`].
    fn run(&self, ctx: &Ctx, args: &[&str], stdin: Option<&str>) -> Result<String, SdkError>;
    /// The end of the session's status file, when the session keeps its files (a container);
    /// see [`Terminal::status_tail`].
    fn status_tail(&self, _ctx: &Ctx) -> Option<String> {
        None
    }
}

/// One word of tmux's command language, quoted so tmux reads it as it is.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Whether an error means "that session (or the whole server) is not there".
pub fn is_gone(e: &SdkError) -> bool {
    matches!(e, SdkError::NotFound(_))
}

/// tmux's first error line (`msg`) as a typed error; `shown` is the command, for the message.
pub fn classify(shown: &str, msg: &str) -> SdkError {
    let gone = [
        "no server running",
        "error connecting to",
        "can't find session",
        "can't find pane",
        "can't find window",
        "session not found",
        "server exited unexpectedly",
        "no such file or directory",
    ];
    let lower = msg.to_ascii_lowercase();
    if gone.iter().any(|g| lower.contains(g)) {
        SdkError::NotFound(format!("tmux: {msg}"))
    } else if lower.contains("duplicate session") {
        SdkError::Conflict(format!("tmux: {msg}"))
    } else {
        let sub = shown
            .split_whitespace()
            .find(|w| !w.starts_with('-') && *w != "tmux" && !w.contains('/'));
        SdkError::Internal(format!("tmux {} failed: {msg}", sub.unwrap_or("")))
    }
}

/// The error of a delivery to an agent that exited.
pub const PANE_DEAD: &str = "the agent has exited (its pane is dead); nothing was typed";

/// What a refusal to type into a dead pane prints (tmux echoes it back to us).
const DEAD_MARK: &str = "ao: the pane is dead";

static BUFFERS: AtomicU64 = AtomicU64::new(0);

/// The pane at `target` (an exact target such as `=name:`), named `name` in messages.
pub struct TmuxPane<'a, D: TmuxDoor> {
    door: &'a D,
    target: &'a str,
    name: &'a str,
}

impl<'a, D: TmuxDoor> TmuxPane<'a, D> {
    /// The pane at `target` behind `door`.
    pub fn new(door: &'a D, target: &'a str, name: &'a str) -> Self {
        Self { door, target, name }
    }

    /// The pane's last `lines` lines, its history included (`get_output`): wrapped lines
    /// joined, trailing blanks gone.
    pub fn history(&self, ctx: &Ctx, lines: u32) -> Result<String, SdkError> {
        let lines = lines.clamp(1, 100_000);
        let start = format!("-{lines}");
        let args = ["capture-pane", "-p", "-J", "-t", self.target, "-S", &start];
        let text = self.door.run(ctx, &args, None)?;
        Ok(last_screen_lines(&text, lines))
    }

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
        let out = self.door.run(ctx, &args, stdin)?;
        if out.contains(DEAD_MARK) {
            return Err(SdkError::NotFound(format!("{}: {PANE_DEAD}", self.name)));
        }
        Ok(())
    }
}

impl<D: TmuxDoor> Terminal for TmuxPane<'_, D> {
    fn status_tail(&self, ctx: &Ctx) -> Option<String> {
        self.door.status_tail(ctx)
    }

    fn capture(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.door
            .run(ctx, &["capture-pane", "-p", "-t", self.target], None)
    }

    fn capture_styled(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.door
            .run(ctx, &["capture-pane", "-p", "-e", "-t", self.target], None)
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
            let _ = self.door.run(ctx, &["delete-buffer", "-b", &buffer], None);
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

/// The `pipe-pane` command that keeps an exiting agent's last output on its pane.
///
/// tmux before 3.7 closes a pane as soon as it reaps the pane's process, and output the process
/// wrote just before exiting that tmux had not read yet is lost (tmux GitHub issue 4807): a CLI
/// that prints its error and exits at once, under load, leaves a blank dead pane. While a pipe
/// is open on the pane, those versions wait until the pty is drained. The pipe's reader costs
/// one small process per session and ends with the pane.
pub const DRAIN_PIPE: &str = "exec cat >/dev/null";

/// Whether the tmux that printed `version` (`tmux -V`: "tmux 3.3a", "tmux next-3.7") drops a
/// pane's last output at exit, so it needs [`DRAIN_PIPE`]. A version this cannot read is
/// assumed to (the pipe is harmless), except a build from tmux's own master branch.
pub fn drops_last_output(version: &str) -> bool {
    let word = version.split_whitespace().last().unwrap_or("");
    if word == "master" {
        return false;
    }
    let word = word.strip_prefix("next-").unwrap_or(word);
    let mut parts = word.split('.');
    let number = |p: Option<&str>| -> Option<u32> {
        let digits: String = p?.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    match (number(parts.next()), number(parts.next())) {
        (Some(major), Some(minor)) => (major, minor) < (3, 7),
        _ => true,
    }
}

/// A capture cut to its last `lines` lines, trailing blanks and blank lines at the bottom gone.
pub fn last_screen_lines(text: &str, lines: u32) -> String {
    let mut kept: Vec<&str> = text.lines().map(str::trim_end).collect();
    while kept.last().is_some_and(|l| l.is_empty()) {
        kept.pop();
    }
    let start = kept.len().saturating_sub(lines as usize);
    kept[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmux_errors_are_typed() {
        assert!(is_gone(&classify("tmux has", "no server running on /x")));
        assert!(matches!(
            classify("tmux new-session", "duplicate session: a"),
            SdkError::Conflict(_)
        ));
        let e = classify("tmux -S /s send-keys -t x", "bad thing");
        assert_eq!(e.to_string(), "tmux send-keys failed: bad thing");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(last_screen_lines("a\nb  \nc\n\n  \n", 2), "b\nc");
    }

    #[test]
    fn tmux_before_3_7_drops_last_output() {
        for old in [
            "tmux 3.3a",
            "tmux 3.4",
            "tmux 3.6b",
            "tmux 2.9",
            "tmux next-3.6",
            "tmux ?",
        ] {
            assert!(drops_last_output(old), "{old}");
        }
        for new in [
            "tmux 3.7",
            "tmux 3.7c",
            "tmux 4.0",
            "tmux next-3.8",
            "tmux master",
        ] {
            assert!(!drops_last_output(new), "{new}");
        }
    }
}

//! What the simulated model answers: directives written in the user's prompt, one per line,
//! read from the newest real user message of the conversation the CLI sends.
//!
//! ```text
//! @sim reply <text>             the closing text of the turn (default "Done.")
//! @sim bash <command>           a shell call in the CLI's own tool (Claude `Bash`, Codex
//!                               `exec_command`, OpenCode `bash`); Aider has no tools: skipped
//! @sim escalate <command>       Codex: `exec_command` asking for `require_escalated` (its
//!                               approval dialog); other CLIs: as `bash`
//! @sim write <path> <content>   a file write (Claude `Write`, OpenCode `write`, Aider a
//!                               SEARCH/REPLACE block creating the file; Codex: a shell `printf`)
//! @sim delay <ms>               wait this long before every answer of the turn
//! @sim error <status> [count]   answer the turn's first `count` requests (default: all) with
//!                               the API's own error for `status` (401, 402, 429, 529, …)
//! @sim retry-after <secs>       the `retry-after` a 429 of the turn carries (default 20)
//! @sim usage <input> <output>   the usage reported for each answer (default 10 / 12)
//! ```
//!
//! Each request carries the whole conversation, so the step of a turn is the number of
//! assistant messages after the newest real user prompt: step 0 makes the first tool call,
//! step 1 the second, …, and the step after the last tool call closes with the reply.

use serde::Serialize;

/// One tool call of a turn, in neutral terms; each API module spells it in its CLI's tools.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Call {
    /// Run a shell command.
    Bash(String),
    /// Run a shell command, asking to leave the sandbox.
    Escalate(String),
    /// Create a file.
    Write { path: String, content: String },
}

/// The directives of one turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub calls: Vec<Call>,
    pub reply: String,
    pub delay_ms: u64,
    /// `(status, how many requests)`: `None` count means every request of the turn.
    pub error: Option<(u16, Option<u32>)>,
    /// Seconds in a 429's `retry-after`.
    pub retry_after: u32,
    pub usage: (u64, u64),
}

impl Default for Turn {
    fn default() -> Self {
        Self {
            calls: Vec::new(),
            reply: "Done.".into(),
            delay_ms: 0,
            error: None,
            retry_after: 20,
            usage: (10, 12),
        }
    }
}

/// The directives in `prompt`; lines that are not directives are ignored.
pub fn parse(prompt: &str) -> Turn {
    let mut turn = Turn::default();
    for line in prompt.lines() {
        let Some(rest) = line.trim().strip_prefix("@sim ") else {
            continue;
        };
        let (verb, arg) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
        let arg = arg.trim();
        match verb {
            "reply" => turn.reply = arg.to_owned(),
            "bash" => turn.calls.push(Call::Bash(arg.to_owned())),
            "escalate" => turn.calls.push(Call::Escalate(arg.to_owned())),
            "write" => {
                let (path, content) = arg.split_once(' ').unwrap_or((arg, ""));
                turn.calls.push(Call::Write {
                    path: path.to_owned(),
                    content: content.to_owned(),
                });
            }
            "delay" => turn.delay_ms = arg.parse().unwrap_or(0),
            "error" => {
                let mut it = arg.split_whitespace();
                if let Some(status) = it.next().and_then(|s| s.parse().ok()) {
                    turn.error = Some((status, it.next().and_then(|c| c.parse().ok())));
                }
            }
            "retry-after" => turn.retry_after = arg.parse().unwrap_or(turn.retry_after),
            "usage" => {
                let mut it = arg.split_whitespace().filter_map(|n| n.parse().ok());
                if let (Some(i), Some(o)) = (it.next(), it.next()) {
                    turn.usage = (i, o);
                }
            }
            _ => {}
        }
    }
    turn
}

/// What to answer at `step` of `turn`.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Call(Call),
    Reply(String),
}

/// The answer at `step` (assistant messages already in the turn).
pub fn answer(turn: &Turn, step: usize) -> Answer {
    match turn.calls.get(step) {
        Some(c) => Answer::Call(c.clone()),
        None => Answer::Reply(turn.reply.clone()),
    }
}

/// A title request (Claude's and Codex's TUIs ask for a session title with no tools): a short
/// title made from the prompt's first words.
pub fn title(prompt: &str) -> String {
    let words: Vec<&str> = prompt
        .split_whitespace()
        .filter(|w| !w.starts_with('@'))
        .take(5)
        .collect();
    if words.is_empty() {
        "Simulated session".into()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_line_by_line() {
        let t = parse(
            "Fix it.\n@sim bash echo hi > a.txt\n  @sim write b.txt hello world\n@sim reply All done\n\
             @sim delay 250\n@sim error 529 2\n@sim usage 100 7\n@sim retry-after 1\n@simulate nothing",
        );
        assert_eq!(
            t.calls,
            [
                Call::Bash("echo hi > a.txt".into()),
                Call::Write {
                    path: "b.txt".into(),
                    content: "hello world".into()
                }
            ]
        );
        assert_eq!(t.reply, "All done");
        assert_eq!(
            (t.delay_ms, t.error, t.usage, t.retry_after),
            (250, Some((529, Some(2))), (100, 7), 1)
        );
        assert_eq!(answer(&t, 1), Answer::Call(t.calls[1].clone()));
        assert_eq!(answer(&t, 2), Answer::Reply("All done".into()));
        assert_eq!(parse("plain").reply, "Done.");
    }
}

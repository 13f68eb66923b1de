//! `ao hook`: what an agent's own hooks run to say what it is doing. It appends one JSON line
//! to the session's status file (one `write` on an `O_APPEND` descriptor: no lock, no shell, no
//! config read) and exits.
//!
//! It runs inside the agent's hot path (Claude Code waits for it before every tool call), so it
//! must be fast, and it must never fail the agent: every error is one line on stderr and exit
//! status 0. In particular a usage error does not exit 2, which Claude Code reads as "block
//! this tool call".

use ao_plugin_api::slots::agent::ActivityState;
use ao_plugin_api::status_file::{self, StatusRecord};
use clap::Parser;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most of a hook payload read from stdin (tool inputs can be large; the fields used are
/// at its start or small).
const MAX_PAYLOAD: u64 = 1024 * 1024;

/// Record an agent's state in its session's status file (run by the agent's hooks)
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Args {
    /// The state: active, ready, idle, waiting_input, blocked or exited
    #[arg(long)]
    state: String,
    /// The status file (default: $AO_STATUS_FILE)
    #[arg(long, value_name = "FILE")]
    status_file: Option<PathBuf>,
    /// The adapter that installed the hook (it finds its own entries again by this flag)
    #[arg(long)]
    agent: Option<String>,
    /// Read the hook's JSON payload from stdin (Claude Code)
    #[arg(long)]
    stdin: bool,
    /// The hook event (`Stop`, `agent-turn-complete`, …)
    event: String,
    /// A JSON payload given as an argument (Codex's notify appends one)
    payload: Option<String>,
}

#[derive(Debug, Parser)]
#[command(name = "ao hook")]
struct Standalone {
    #[command(flatten)]
    args: Args,
}

/// Runs `ao hook` from the raw argv (`ao hook …`), before the main parser, so that no parse
/// error can exit non-zero.
pub(crate) fn run_raw(argv: Vec<std::ffi::OsString>) -> ExitCode {
    let rest = argv.into_iter().skip(2);
    match Standalone::try_parse_from(std::iter::once("ao hook".into()).chain(rest)) {
        Ok(s) => {
            if let Err(e) = run(s.args) {
                eprintln_safe(&format!("ao hook: {e}"));
            }
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            let _ = e.print();
        }
        Err(e) => eprintln_safe(&format!(
            "ao hook: {}",
            e.to_string().lines().next().unwrap_or("bad arguments")
        )),
    }
    ExitCode::SUCCESS
}

#[allow(clippy::print_stderr)]
fn eprintln_safe(line: &str) {
    eprintln!("{line}");
}

fn parse_state(s: &str) -> Result<ActivityState, String> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
        format!("unknown state {s:?}: use active, ready, idle, waiting_input, blocked or exited")
    })
}

pub(crate) fn run(args: Args) -> Result<(), String> {
    let state = parse_state(&args.state)?;
    let Some(file) = args
        .status_file
        .or_else(|| std::env::var_os("AO_STATUS_FILE").map(PathBuf::from))
    else {
        // Not an ao session (the user ran the agent by hand in the workspace): nothing to do.
        return Ok(());
    };
    let mut payload = args
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_PAYLOAD)
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading the payload: {e}"))?;
        payload = serde_json::from_slice(&buf).ok().or(payload);
    }
    let (session, detail) = payload
        .as_ref()
        .map(status_file::payload_fields)
        .unwrap_or_default();
    let mut record = StatusRecord::now(state, Some(&args.event));
    record.session = session;
    record.detail = detail;
    status_file::append(&file, &record).map_err(|e| format!("{}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_fields_of_each_agent() {
        let claude = json!({"session_id": "0b4c", "hook_event_name": "Notification",
            "message": "Claude needs your permission to use Bash"});
        assert_eq!(
            status_file::payload_fields(&claude),
            (
                Some("0b4c".into()),
                Some("Claude needs your permission to use Bash".into())
            )
        );
        let codex = json!({"type": "agent-turn-complete", "thread-id": "0199", "last-assistant-message": "Done."});
        assert_eq!(
            status_file::payload_fields(&codex),
            (Some("0199".into()), Some("Done.".into()))
        );
        let opencode = json!({"sessionID": "ses_abc", "tool_name": "bash"});
        assert_eq!(
            status_file::payload_fields(&opencode),
            (Some("ses_abc".into()), Some("bash".into()))
        );
        assert!(parse_state("waiting_input").is_ok());
        assert!(parse_state("done").unwrap_err().contains("use active"));
    }
}

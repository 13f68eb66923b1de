//! A session's status file: the JSON-lines log an agent's own hooks append to (through
//! `ao hook <event>` / `ao report <state>`), and the strongest activity signal `ao` has.
//!
//! Writers append one whole line with one `write` on an `O_APPEND` descriptor, so concurrent
//! hooks never interleave and need no lock. Readers look only at the file's tail: the host's
//! own file ([`Source::File`]), or, for a session whose files live in its runtime (a container,
//! a pod), the tail the runtime brought back ([`Source::Tail`]).
//!
//! Inside such a session the hook is a small shell script, not `ao`: it cannot read JSON, so it
//! records the hook's payload as it came, hex-encoded and capped (`payload_hex`), and readers
//! take the conversation id and the detail out of it ([`hook_fields`]).

use crate::slots::agent::ActivityState;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How much of the end of the file readers look at.
const TAIL: u64 = 64 * 1024;

/// How much of a status file's end a runtime brings back from inside a session (the probe's
/// `status_tail_bytes`, delivery's evidence): the newest records, several of the longest kind
/// (a shell hook's 2 KiB payload is a 4 KiB line).
pub const REMOTE_TAIL: u32 = 16 * 1024;

/// One line of a status file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// When the signal was produced, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What the agent is doing.
    pub state: ActivityState,
    /// The hook event that produced it (`Stop`, `UserPromptSubmit`, `report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Free text (the question asked, the tool running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The agent's own conversation id, when its hook payload carried one (for resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The hook's payload as the shell hook got it (hex, cut to a few KiB), for readers to
    /// take `session` and `detail` from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
}

/// Where a status file's records are read from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The host's file.
    File(&'a Path),
    /// The end of the file as a runtime read it inside the session.
    Tail(&'a str),
}

impl<'a> Source<'a> {
    /// The runtime's tail when there is one, else the host's file.
    pub fn of(tail: Option<&'a str>, file: Option<&'a str>) -> Option<Self> {
        tail.map(Source::Tail)
            .or_else(|| file.map(|f| Source::File(Path::new(f))))
    }
}

/// The conversation id and a one-line detail from a hook's JSON payload (Claude Code's
/// `session_id` and `message`, Codex's `thread-id` and `last-assistant-message`, OpenCode's
/// `sessionID`…).
pub fn payload_fields(payload: &serde_json::Value) -> (Option<String>, Option<String>) {
    let s = |k: &str| payload[k].as_str().filter(|v| !v.is_empty());
    let session = SESSION_KEYS.iter().find_map(|k| s(k)).map(str::to_owned);
    let detail = DETAIL_KEYS
        .iter()
        .find_map(|k| s(k))
        .map(|d| crate::sdk::agent::one_line(d, 200));
    (session, detail)
}

const SESSION_KEYS: [&str; 3] = ["session_id", "thread-id", "sessionID"];
const DETAIL_KEYS: [&str; 5] = [
    "message",
    "error_details",
    "error",
    "tool_name",
    "last-assistant-message",
];

/// [`payload_fields`] from the payload's bytes. A payload the shell hook cut short is no JSON:
/// its fields are then looked for in the text, so those before the cut still count.
pub fn hook_fields(payload: &[u8]) -> (Option<String>, Option<String>) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) {
        return payload_fields(&v);
    }
    let text = String::from_utf8_lossy(payload);
    let field = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| string_field(&text, k).filter(|v| !v.is_empty()))
    };
    let session = field(&SESSION_KEYS);
    let detail = field(&DETAIL_KEYS).map(|d| crate::sdk::agent::one_line(&d, 200));
    (session, detail)
}

/// The first `"key": "string"` in `text`, unescaped.
fn string_field(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let mut rest = text;
    while let Some(i) = rest.find(&quoted) {
        rest = &rest[i + quoted.len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let value = after.trim_start();
        if !value.starts_with('"') {
            continue;
        }
        // The string token ends at the first quote not escaped.
        let bytes = value.as_bytes();
        let mut j = 1;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'"' => return serde_json::from_str(&value[..=j]).ok(),
                _ => j += 1,
            }
        }
        return None;
    }
    None
}

/// A status line as a record, the shell hook's payload read into it.
fn parse(line: &[u8]) -> Option<StatusRecord> {
    let mut r: StatusRecord = serde_json::from_slice(line).ok()?;
    if let Some(hex) = r.payload_hex.take() {
        let payload = hex::decode(hex.trim()).unwrap_or_default();
        let (session, detail) = hook_fields(&payload);
        r.session = r.session.or(session);
        r.detail = r.detail.or(detail);
    }
    Some(r)
}

impl StatusRecord {
    /// A record stamped now.
    pub fn now(state: ActivityState, event: Option<&str>) -> Self {
        Self {
            at_ms: now_ms(),
            state,
            event: event.map(str::to_owned),
            detail: None,
            session: None,
            payload_hex: None,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Appends `record` as one line with one write.
pub fn append(path: &Path, record: &StatusRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    // Owner-only: the agent's questions and errors are in it.
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&line)
}

/// The newest well-formed record, reading only the last few KiB. Missing file → `None`;
/// torn or foreign lines are skipped.
pub fn latest(path: &Path) -> Option<StatusRecord> {
    latest_where(path, |_| true)
}

/// The newest well-formed record that `keep` accepts, within the last few KiB.
pub fn latest_where(path: &Path, keep: impl Fn(&StatusRecord) -> bool) -> Option<StatusRecord> {
    latest_in(Source::File(path), keep)
}

/// The newest well-formed record that `keep` accepts, from either source.
pub fn latest_in(source: Source<'_>, keep: impl Fn(&StatusRecord) -> bool) -> Option<StatusRecord> {
    match source {
        Source::File(path) => {
            let mut lines = crate::sdk::agent::tail::RevLines::open(path).ok()?;
            lines
                .find_map(TAIL, |line| parse(line).filter(|r| keep(r)))
                .ok()
                .flatten()
        }
        Source::Tail(text) => {
            let start = text.len().saturating_sub(TAIL as usize);
            let start = (start..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            text[start..]
                .lines()
                .rev()
                .find_map(|line| parse(line.as_bytes()).filter(|r| keep(r)))
        }
    }
}

/// The agent conversation id the hooks recorded most recently.
pub fn latest_session(path: &Path) -> Option<String> {
    latest_session_in(Source::File(path))
}

/// [`latest_session`], from either source.
pub fn latest_session_in(source: Source<'_>) -> Option<String> {
    latest_in(source, |r| r.session.is_some()).and_then(|r| r.session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_whole_line_wins() {
        let dir = std::env::temp_dir().join(format!("ao-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.jsonl");
        let _ = std::fs::remove_file(&path);
        assert!(latest(&path).is_none());
        append(
            &path,
            &StatusRecord::now(ActivityState::Active, Some("UserPromptSubmit")),
        )
        .unwrap();
        let mut ready = StatusRecord::now(ActivityState::Ready, Some("Stop"));
        ready.detail = Some("done".into());
        append(&path, &ready).unwrap();
        // A torn last line (a writer killed mid-write) is skipped.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"at_ms\":1,\"sta")
            .unwrap();
        assert_eq!(latest(&path), Some(ready));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_shell_hooks_payload_gives_the_conversation_and_the_detail() {
        let payload = br#"{"session_id":"0b4c","hook_event_name":"Notification","message":"Claude needs your \"ok\"","tool_input":{"content":"cut he"#;
        let line = format!(
            r#"{{"at_ms":5,"state":"waiting_input","event":"Notification","payload_hex":"{}"}}"#,
            hex::encode(payload)
        );
        let text = format!("{{\"at_ms\":1,\"state\":\"active\"}}\n{line}\n{{\"at_ms\":9,\"sta");
        let r = latest_in(Source::Tail(&text), |_| true).unwrap();
        assert_eq!(r.state, ActivityState::WaitingInput);
        assert_eq!(r.session.as_deref(), Some("0b4c"));
        assert_eq!(r.detail.as_deref(), Some("Claude needs your \"ok\""));
        assert_eq!(r.payload_hex, None);
        assert_eq!(
            latest_session_in(Source::Tail(&text)).as_deref(),
            Some("0b4c")
        );
        let codex = br#"{"type": "agent-turn-complete", "thread-id" : "0199", "last-assistant-message": "Done."}"#;
        assert_eq!(
            hook_fields(codex),
            (Some("0199".into()), Some("Done.".into()))
        );
        assert_eq!(
            hook_fields(br#"{"message": 3, "x": "message"}"#),
            (None, None)
        );
    }
}

//! A session's status file: the JSON-lines log an agent's own hooks append to (through
//! `ao hook <event>` / `ao report <state>`), and the strongest activity signal `ao` has.
//!
//! Writers append one whole line with one `write` on an `O_APPEND` descriptor, so concurrent
//! hooks never interleave and need no lock. Readers look only at the file's tail.

use crate::slots::agent::ActivityState;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How much of the end of the file readers look at.
const TAIL: u64 = 64 * 1024;

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
    let mut lines = crate::sdk::agent::tail::RevLines::open(path).ok()?;
    lines
        .find_map(TAIL, |line| {
            serde_json::from_slice::<StatusRecord>(line)
                .ok()
                .filter(|r| keep(r))
        })
        .ok()
        .flatten()
}

/// The agent conversation id the hooks recorded most recently.
pub fn latest_session(path: &Path) -> Option<String> {
    latest_where(path, |r| r.session.is_some()).and_then(|r| r.session)
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
}

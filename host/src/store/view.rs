//! The JSON shape of a session for `--json` output and the dashboard API (camelCase keys, as
//! upstream's `ao status --json`).

use crate::store::session::Session;
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

/// RFC 3339 with milliseconds.
pub fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// One session as JSON.
pub fn session_json(s: &Session) -> Value {
    json!({
        "id": s.id,
        "projectId": s.project,
        "role": s.role,
        "status": s.status.as_str(),
        "statusReason": s.status_reason,
        // An exited agent's last lines on screen: its own account of why.
        "lastLines": s.runtime_fact.as_ref().map(|r| &r.last_lines).filter(|l| !l.is_empty()),
        "activity": s.activity_fact.as_ref().map(|a| json!({
            "state": a.state, "source": a.source, "at": iso(a.at),
            "detail": a.detail, "dialog": a.dialog,
        })),
        "agent": s.agent,
        "agentSessionId": s.agent_session_id,
        "branch": s.branch,
        "issueId": s.issue,
        "pr": s.pr,
        "prState": s.pr_fact.as_ref().map(|p| json!({
            "state": p.state, "ci": p.ci, "review": p.review, "mergeable": p.mergeable,
            "unresolvedThreads": p.unresolved_threads, "at": iso(p.at),
        })),
        "workspacePath": s.workspace,
        "runtimeHandle": s.runtime_handle,
        "createdAt": iso(s.created_at),
        "lastActivityAt": s.last_activity_at.map(iso),
        "summary": s.summary,
        "cost": s.cost,
    })
}

/// A list of sessions that serialises one session at a time, so `--json` output of a large
/// fleet never holds the whole document in memory.
pub struct SessionList<'a>(pub &'a [&'a Session]);

impl serde::Serialize for SessionList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for s in self.0 {
            seq.serialize_element(&session_json(s))?;
        }
        seq.end()
    }
}

//! What `ao demo` prints as it happens: each session's status changes (read from the store),
//! the engine's events (tailed from `events.jsonl`) and the notifications the human got (as the
//! webhook notifier delivered them to the demo's inbox). One line each, time since the start.

use ao::store::events::{EventRecord, Tail};
use ao::store::session::{Session, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The timeline's state.
pub(crate) struct Timeline {
    start: Instant,
    color: bool,
    events: PathBuf,
    tail: Tail,
    statuses: BTreeMap<String, Status>,
    /// Every notification received, as posted.
    pub(crate) notified: Vec<Value>,
}

impl Timeline {
    pub(crate) fn new(events: PathBuf, color: bool) -> Timeline {
        Timeline {
            start: Instant::now(),
            color,
            events,
            tail: Tail::default(),
            statuses: BTreeMap::new(),
            notified: Vec::new(),
        }
    }

    pub(crate) fn elapsed(&self) -> std::time::Duration {
        self.start.elapsed()
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// One line: time, who, what (a fixed-width tag), detail.
    pub(crate) fn line(&self, who: &str, tag: &str, detail: &str) -> String {
        let code = match tag {
            "status" => "1",
            "notify" => "1;33",
            _ => "2",
        };
        format!(
            "{:>6.1}s  {:<10} {} {}",
            self.start.elapsed().as_secs_f64(),
            who,
            self.paint(code, &format!("{tag:<6}")),
            detail
        )
    }

    /// Lines for sessions whose status changed since the last call.
    pub(crate) fn statuses(&mut self, sessions: &[Session]) -> Vec<String> {
        let mut out = Vec::new();
        for s in sessions {
            let old = self.statuses.insert(s.id.clone(), s.status);
            if old == Some(s.status) {
                continue;
            }
            let text = match old {
                None => self.paint("1", s.status.as_str()),
                Some(o) => format!("{} → {}", o.as_str(), self.paint("1", s.status.as_str())),
            };
            let why = if s.status_reason.is_empty() {
                String::new()
            } else {
                format!("  ({})", s.status_reason)
            };
            out.push(self.line(&s.id, "status", &format!("{text}{why}")));
        }
        out
    }

    /// The events appended to the log since the last call, with their lines.
    pub(crate) fn events(&mut self) -> Vec<(EventRecord, String)> {
        self.tail
            .new_lines(&self.events)
            .iter()
            .filter_map(|l| serde_json::from_str::<EventRecord>(l).ok())
            .map(|e| {
                let who = e.session.clone().unwrap_or_else(|| "ao".into());
                let line = self.line(&who, "event", &format!("{:<26} {}", e.kind, e.message));
                (e, line)
            })
            .collect()
    }

    /// Records a notification body (the webhook notifier's JSON) and returns its line.
    pub(crate) fn notification(&mut self, body: Value) -> String {
        let ev = &body["event"];
        let who = ev["sessionId"].as_str().unwrap_or("ao").to_string();
        let detail = format!(
            "[{}] {}: {}",
            ev["priority"].as_str().unwrap_or("?"),
            ev["title"].as_str().unwrap_or(""),
            ev["message"].as_str().unwrap_or("")
        );
        self.notified.push(body);
        self.line(&who, "notify", &detail)
    }

    /// Whether every session is done, or waits for a human who has been told.
    pub(crate) fn settled(&self) -> bool {
        !self.statuses.is_empty()
            && self.statuses.iter().all(|(id, st)| match st {
                Status::NeedsInput => self.notified.iter().any(|n| {
                    n["event"]["sessionId"] == id.as_str()
                        && n["event"]["type"] == "session.needs_input"
                }),
                // A merged session settles once it is cleaned up.
                Status::Merged => false,
                st => st.is_terminal(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, st: Status) -> Session {
        let mut s = Session::new(id, "p", 0);
        s.status = st;
        s
    }

    #[test]
    fn settled_needs_every_session_done_or_its_human_told() {
        let mut t = Timeline::new(PathBuf::from("/nonexistent"), false);
        assert!(!t.settled(), "no sessions yet");
        t.statuses(&[
            session("a-1", Status::Cleanup),
            session("a-2", Status::NeedsInput),
        ]);
        assert!(!t.settled(), "a-2 waits but nobody was told");
        t.notification(
            serde_json::json!({"event": {"sessionId": "a-2", "type": "session.working"}}),
        );
        assert!(!t.settled());
        t.notification(
            serde_json::json!({"event": {"sessionId": "a-2", "type": "session.needs_input"}}),
        );
        assert!(t.settled());
        t.statuses(&[session("a-1", Status::PrOpen)]);
        assert!(!t.settled(), "a-1 is not done");
        t.statuses(&[session("a-1", Status::Merged)]);
        assert!(!t.settled(), "a-1 is not cleaned up yet");
    }

    #[test]
    fn status_lines_only_on_change() {
        let mut t = Timeline::new(PathBuf::from("/nonexistent"), false);
        assert_eq!(t.statuses(&[session("a-1", Status::Working)]).len(), 1);
        assert!(t.statuses(&[session("a-1", Status::Working)]).is_empty());
        let l = t.statuses(&[session("a-1", Status::PrOpen)]);
        assert!(l[0].contains("working → pr_open"), "{l:?}");
    }
}

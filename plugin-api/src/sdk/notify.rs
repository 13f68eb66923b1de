//! What every notifier says and does the same way: a priority's emoji and colour, a one-line
//! headline, a hint of what the human can do about the event (the command to run), and
//! [`Dedupe`], which drops a notification identical to one sent within a window.

use crate::slots::notifier::{Notification, Priority};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Slack-style emoji shortcode of a priority.
pub fn emoji(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => ":rotating_light:",
        Priority::Action => ":point_right:",
        Priority::Warning => ":warning:",
        Priority::Info => ":information_source:",
    }
}

/// The same as [`emoji`], as a Unicode character (for services without shortcodes).
pub fn emoji_char(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => "\u{1F6A8}",
        Priority::Action => "\u{1F449}",
        Priority::Warning => "\u{26A0}\u{FE0F}",
        Priority::Info => "\u{2139}\u{FE0F}",
    }
}

/// The colour of a priority, `0xRRGGBB` (red, blurple, yellow, green).
pub fn color(p: Priority) -> u32 {
    match p {
        Priority::Urgent => 0xED4245,
        Priority::Action => 0x5865F2,
        Priority::Warning => 0xFEE75C,
        Priority::Info => 0x57F287,
    }
}

/// The priority's name.
pub fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => "urgent",
        Priority::Action => "action",
        Priority::Warning => "warning",
        Priority::Info => "info",
    }
}

/// `<event type> — <session>` (or just the type).
pub fn headline(n: &Notification) -> String {
    match &n.session_id {
        Some(s) => format!("{} — {s}", n.event_type),
        None => n.event_type.clone(),
    }
}

/// What the human can do about it, as a command line, when there is an obvious one.
pub fn hint(n: &Notification) -> Option<String> {
    let id = n.session_id.as_deref()?;
    Some(match n.event_type.as_str() {
        "session.needs_input" => format!("answer with `ao send {id} \"...\"`"),
        "session.stuck" | "reaction.escalated" => {
            format!("look with `ao open {id}`, then `ao send {id} \"...\"`")
        }
        "session.killed" => format!("bring it back with `ao session restore {id}`"),
        "merge.ready" | "review.approved" => "review and merge the PR".to_string(),
        "merge.conflicts" => format!("ask the agent to rebase: `ao send {id} \"...\"`"),
        _ => return None,
    })
}

/// What makes two notifications the same one for de-duplication (not when it happened).
pub fn identity(n: &Notification) -> String {
    format!(
        "{}\n{:?}\n{}\n{}\n{:?}\n{:?}",
        n.event_type, n.priority, n.title, n.message, n.session_id, n.pr_url
    )
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The de-duplication window of notifier configs, in seconds (serde `default`).
pub fn default_dedupe_secs() -> u64 {
    60
}

/// Remembers what was sent recently, to drop an identical notification within a window (a
/// flapping status should not page a human twice in a minute).
pub struct Dedupe {
    window: Duration,
    seen: Mutex<HashMap<u64, Instant>>,
}

impl Dedupe {
    /// Identical keys within `window` are duplicates; a zero window keeps nothing.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// True the first time `key` is seen within the window (and records it).
    pub fn first(&self, key: &str) -> bool {
        if self.window.is_zero() {
            return true;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let k = h.finish();
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| now.duration_since(*at) < self.window);
        if seen.contains_key(&k) {
            return false;
        }
        seen.insert(k, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: &str, session: Option<&str>) -> Notification {
        Notification {
            event_type: kind.into(),
            priority: Priority::Urgent,
            title: "t".into(),
            message: "m".into(),
            session_id: session.map(str::to_owned),
            project_id: None,
            pr_url: None,
            url: None,
            timestamp_ms: 0,
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn headlines_hints_and_clipping() {
        assert_eq!(
            headline(&n("ci.failing", Some("app-1"))),
            "ci.failing — app-1"
        );
        assert_eq!(
            headline(&n("summary.all_complete", None)),
            "summary.all_complete"
        );
        assert_eq!(
            hint(&n("session.needs_input", Some("app-2"))).unwrap(),
            "answer with `ao send app-2 \"...\"`"
        );
        assert_eq!(hint(&n("ci.passing", Some("app-2"))), None);
        assert_eq!(hint(&n("session.needs_input", None)), None);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn dedupe_drops_repeats_within_the_window_only() {
        let d = Dedupe::new(Duration::from_millis(200));
        assert!(d.first("a"));
        assert!(!d.first("a"));
        assert!(d.first("b"));
        std::thread::sleep(Duration::from_millis(250));
        assert!(d.first("a"), "the window passed");
        let none = Dedupe::new(Duration::ZERO);
        assert!(none.first("a") && none.first("a"));
    }
}

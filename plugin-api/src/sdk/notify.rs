//! What every chat notifier says the same way: a priority's emoji and colour, a one-line
//! headline, and a hint of what the human can do about the event (the command to run).

use crate::slots::notifier::{Notification, Priority};

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
}

//! The Slack messages, in Block Kit: a header, the message, the PR link and buttons, and an
//! attachment whose colour bar is the priority, holding the project, priority and what to do.

use ao_plugin_api::sdk::notify::{clip, color, emoji, headline, hint, priority_name};
use ao_plugin_api::slots::notifier::{Notification, NotifyAction};
use serde_json::{Value, json};

/// Slack's mrkdwn needs `&`, `<` and `>` escaped (anything else is literal).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

/// The `text` (fallback, shown in push notifications) and `blocks`/`attachments` of a
/// notification.
pub(crate) fn notification(n: &Notification, actions: &[NotifyAction]) -> Value {
    let head = clip(&format!("{} {}", emoji(n.priority), headline(n)), 150);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": head, "emoji": true}}),
        json!({"type": "section", "text": mrkdwn(clip(&escape(&n.message), 2900))}),
    ];
    if let Some(pr) = &n.pr_url {
        blocks
            .push(json!({"type": "section", "text": mrkdwn(format!("<{pr}|View pull request>"))}));
    }
    let buttons: Vec<Value> = actions
        .iter()
        .filter_map(|a| {
            let url = a.url.as_ref()?;
            Some(json!({
                "type": "button",
                "text": {"type": "plain_text", "text": clip(&a.label, 75)},
                "url": url,
            }))
        })
        .take(5)
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    let mut facts = vec![format!("*Priority:* {}", priority_name(n.priority))];
    if let Some(p) = &n.project_id {
        facts.insert(0, format!("*Project:* {}", escape(p)));
    }
    if let Some(s) = &n.session_id {
        facts.push(format!("*Session:* {}", escape(s)));
    }
    let mut extra = vec![json!({"type": "context", "elements": [mrkdwn(facts.join(" | "))]})];
    if let Some(h) = hint(n) {
        extra.push(
            json!({"type": "context", "elements": [mrkdwn(format!("*What to do:* {}", escape(&h)))]}),
        );
    }
    json!({
        "text": clip(&format!("{} {}: {}", emoji(n.priority), headline(n), n.message), 3000),
        "blocks": blocks,
        "attachments": [{"color": format!("#{:06X}", color(n.priority)), "blocks": extra}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
    }
}

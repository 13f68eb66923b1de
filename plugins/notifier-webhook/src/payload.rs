//! The JSON bodies, in upstream's shapes.

use ao_plugin_api::slots::notifier::{Notification, NotifyAction, PostRequest};
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// `{"type": "notification" | "notification_with_actions", "event": {...}, "actions"?: [...]}`.
pub(crate) fn notification(n: &Notification, actions: Option<&[NotifyAction]>) -> Value {
    let event = json!({
        "type": n.event_type,
        "priority": n.priority,
        "title": n.title,
        "message": n.message,
        "sessionId": n.session_id,
        "projectId": n.project_id,
        "prUrl": n.pr_url,
        "url": n.url,
        "timestamp": iso(n.timestamp_ms),
        "data": n.data,
    });
    match actions {
        None => json!({ "type": "notification", "event": event }),
        Some(actions) => json!({
            "type": "notification_with_actions",
            "event": event,
            "actions": actions.iter().map(|a| json!({
                "label": a.label, "url": a.url, "callbackEndpoint": a.callback,
            })).collect::<Vec<_>>(),
        }),
    }
}

/// `{"type": "message", "message": ..., "context": {...}}`.
pub(crate) fn message(p: &PostRequest) -> Value {
    json!({
        "type": "message",
        "message": p.message,
        "context": { "sessionId": p.session_id, "projectId": p.project_id, "channel": p.channel },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ao_plugin_api::slots::notifier::Priority;

    #[test]
    fn notification_body_has_upstreams_shape() {
        let n = Notification {
            event_type: "ci.failing".into(),
            priority: Priority::Warning,
            title: "CI failed".into(),
            message: "lint failed".into(),
            session_id: Some("app-1".into()),
            project_id: Some("app".into()),
            pr_url: None,
            url: None,
            timestamp_ms: 1_700_000_000_123,
            data: json!({"checks": ["lint"]}),
        };
        let body = notification(&n, None);
        assert_eq!(body["type"], "notification");
        assert_eq!(body["event"]["type"], "ci.failing");
        assert_eq!(body["event"]["priority"], "warning");
        assert_eq!(body["event"]["sessionId"], "app-1");
        assert_eq!(body["event"]["timestamp"], "2023-11-14T22:13:20.123Z");
        let with = notification(
            &n,
            Some(&[NotifyAction {
                label: "Open".into(),
                url: Some("http://x".into()),
                callback: None,
            }]),
        );
        assert_eq!(with["type"], "notification_with_actions");
        assert_eq!(with["actions"][0]["label"], "Open");
    }
}

//! The Discord notifier against a real HTTP receiver on 127.0.0.1 playing Discord's webhook
//! endpoint: the exact payload, Discord's 429 with `Retry-After`, de-duplication, no secret shown.

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::notifier::{
    Notification, Notifier, NotifyAction, NotifyRequest, NotifyWithActionsRequest, PostRequest,
    Priority,
};
use ao_plugin_notifier_discord::{Config, Discord};
use ao_testkit::receiver::{Receiver, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn discord(rx: &Receiver, extra: Value) -> Discord {
    let host = TestHost::new();
    host.set_secret("DISCORD_URL", &rx.url("/api/webhooks/123/secret-token"));
    let mut c = json!({"webhookUrlEnv": "DISCORD_URL", "retryDelayMs": 10, "timeoutMs": 2000});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    Discord::new(serde_json::from_value::<Config>(c).unwrap(), &host.handle()).unwrap()
}

fn note(message: &str) -> Notification {
    Notification {
        event_type: "ci.failing".into(),
        priority: Priority::Warning,
        title: "app-1: CI failing".into(),
        message: message.into(),
        session_id: Some("app-1".into()),
        project_id: Some("app".into()),
        pr_url: Some("https://github.com/acme/app/pull/7".into()),
        url: None,
        timestamp_ms: 1_700_000_000_000,
        data: Value::Null,
    }
}

#[test]
fn an_embed_with_the_priority_colour_fields_and_no_mentions() {
    let rx = Receiver::start();
    rx.push(Reply::status(200).body(r#"{"id": "1180000000000000001", "type": 0}"#));
    let d = discord(&rx, json!({"threadId": "998877"}));
    let out = d
        .notify_with_actions(
            &Ctx::detached(),
            NotifyWithActionsRequest {
                notification: note("lint failed @everyone"),
                actions: vec![NotifyAction {
                    label: "Logs".into(),
                    url: Some("https://ci.example/run/1".into()),
                    callback: None,
                }],
            },
        )
        .unwrap();
    assert_eq!(out.id.as_deref(), Some("1180000000000000001"));
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        "/api/webhooks/123/secret-token?wait=true&thread_id=998877"
    );
    assert_eq!(
        got[0].json(),
        json!({
            "username": "Agent Orchestrator",
            "allowed_mentions": {"parse": []},
            "embeds": [{
                "title": "\u{26A0}\u{FE0F} ci.failing — app-1",
                "description": "lint failed @everyone",
                "url": "https://github.com/acme/app/pull/7",
                "color": 0xFEE75C,
                "fields": [
                    {"name": "Project", "value": "app", "inline": true},
                    {"name": "Priority", "value": "warning", "inline": true},
                    {"name": "Session", "value": "app-1", "inline": true},
                    {"name": "Pull request", "value": "[View pull request](https://github.com/acme/app/pull/7)", "inline": false},
                    {"name": "Actions", "value": "[Logs](https://ci.example/run/1)", "inline": false}
                ],
                "timestamp": "2023-11-14T22:13:20.000Z",
                "footer": {"text": "Agent Orchestrator"}
            }]
        })
    );
}

#[test]
fn discords_rate_limit_is_waited_out_and_errors_hide_the_token() {
    let rx = Receiver::start();
    rx.push(Reply::status(429).header("retry-after", "0.8").body(
        r#"{"message": "You are being rate limited.", "retry_after": 0.8, "global": false}"#,
    ));
    let d = discord(&rx, json!({}));
    let t = Instant::now();
    let out = d
        .notify(
            &Ctx::detached(),
            NotifyRequest {
                notification: note("x"),
            },
        )
        .unwrap();
    assert_eq!(out.attempts, 2);
    assert!(t.elapsed() >= Duration::from_millis(800));

    let rx = Receiver::start();
    rx.push(Reply::status(404).body(r#"{"message": "Unknown Webhook", "code": 10015}"#));
    let e = discord(&rx, json!({}))
        .notify(
            &Ctx::detached(),
            NotifyRequest {
                notification: note("x"),
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("answered 404") && e.contains("webhookUrlEnv"),
        "{e}"
    );
    assert!(!e.contains("secret-token"), "{e}");
}

#[test]
fn duplicates_are_dropped_and_posts_are_plain_content() {
    let rx = Receiver::start();
    let d = discord(&rx, json!({}));
    let ctx = Ctx::detached();
    d.notify(
        &ctx,
        NotifyRequest {
            notification: note("same"),
        },
    )
    .unwrap();
    d.notify(
        &ctx,
        NotifyRequest {
            notification: note("same"),
        },
    )
    .unwrap();
    d.post(
        &ctx,
        PostRequest {
            message: "hello".into(),
            session_id: None,
            project_id: None,
            channel: None,
        },
    )
    .unwrap();
    let got = rx.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].json(),
        json!({"content": "hello", "username": "Agent Orchestrator", "allowed_mentions": {"parse": []}})
    );
}

#[test]
fn a_thread_id_must_be_an_id() {
    let host = TestHost::new();
    host.set_secret("U", "https://discord.com/api/webhooks/1/x");
    let c: Config =
        serde_json::from_value(json!({"webhookUrlEnv": "U", "threadId": "1&x=2"})).unwrap();
    let e = Discord::new(c, &host.handle()).err().unwrap().to_string();
    assert!(e.contains("`threadId`"), "{e}");
}

//! The Slack notifier against a real HTTP receiver on 127.0.0.1 playing Slack: the exact
//! payloads, threads per session with a bot token, Slack's `ok: false` errors, retries that
//! honour `Retry-After`, de-duplication, and no secret in any message.

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::notifier::{
    Notification, Notifier, NotifyAction, NotifyRequest, NotifyWithActionsRequest, PostRequest,
    Priority,
};
use ao_plugin_notifier_slack::{Config, Slack};
use ao_testkit::receiver::{Receiver, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const TOKEN: &str = "xoxb-1111-secret-token";

fn note(kind: &str, session: &str, message: &str) -> Notification {
    Notification {
        event_type: kind.into(),
        priority: Priority::Urgent,
        title: format!("{session}: needs your input"),
        message: message.into(),
        session_id: Some(session.into()),
        project_id: Some("app".into()),
        pr_url: None,
        url: None,
        timestamp_ms: 1_700_000_000_000,
        data: Value::Null,
    }
}

fn webhook(rx: &Receiver, extra: Value) -> Slack {
    let host = TestHost::new();
    host.set_secret("SLACK_URL", &rx.url("/services/T0/B0/secretpath"));
    let mut c = json!({"webhookUrlEnv": "SLACK_URL", "retryDelayMs": 10, "timeoutMs": 2000});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    Slack::new(serde_json::from_value::<Config>(c).unwrap(), &host.handle()).unwrap()
}

fn bot(rx: &Receiver) -> Slack {
    let host = TestHost::new();
    host.set_secret("SLACK_BOT", TOKEN);
    let c = json!({"botTokenEnv": "SLACK_BOT", "channel": "C0AO", "apiUrl": rx.url("/api"),
                   "retryDelayMs": 10, "timeoutMs": 2000});
    Slack::new(serde_json::from_value::<Config>(c).unwrap(), &host.handle()).unwrap()
}

fn ask(n: Notification) -> NotifyRequest {
    NotifyRequest { notification: n }
}

#[test]
fn a_webhook_gets_block_kit_with_the_priority_colour_and_what_to_do() {
    let rx = Receiver::start();
    let slack = webhook(&rx, json!({}));
    let mut n = note(
        "session.needs_input",
        "app-2",
        "the agent asks: French or <Spanish> & why?",
    );
    n.pr_url = Some("https://github.com/acme/app/pull/7".into());
    slack
        .notify_with_actions(
            &Ctx::detached(),
            NotifyWithActionsRequest {
                notification: n,
                actions: vec![NotifyAction {
                    label: "Open the session".into(),
                    url: Some("http://127.0.0.1:3000/sessions/app-2".into()),
                    callback: None,
                }],
            },
        )
        .unwrap();
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/services/T0/B0/secretpath");
    assert_eq!(
        got[0].json(),
        json!({
            "text": ":rotating_light: session.needs_input — app-2: the agent asks: French or <Spanish> & why?",
            "username": "Agent Orchestrator",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: session.needs_input — app-2", "emoji": true}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "the agent asks: French or &lt;Spanish&gt; &amp; why?"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": "<https://github.com/acme/app/pull/7|View pull request>"}},
                {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the session"}, "url": "http://127.0.0.1:3000/sessions/app-2"}]}
            ],
            "attachments": [{"color": "#ED4245", "blocks": [
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Project:* app | *Priority:* urgent | *Session:* app-2"}]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "*What to do:* answer with `ao send app-2 \"...\"`"}]}
            ]}]
        })
    );
}

#[test]
fn a_bot_threads_each_sessions_notifications_under_its_first() {
    let rx = Receiver::start();
    for ts in ["100.1", "100.2", "200.1"] {
        rx.push(
            Reply::status(200).body(&json!({"ok": true, "ts": ts, "channel": "C0AO"}).to_string()),
        );
    }
    let slack = bot(&rx);
    let ctx = Ctx::detached();
    let first = slack
        .notify(&ctx, ask(note("ci.failing", "app-1", "lint")))
        .unwrap();
    assert_eq!(first.id.as_deref(), Some("100.1"));
    slack
        .notify(&ctx, ask(note("ci.passing", "app-1", "green")))
        .unwrap();
    slack
        .notify(&ctx, ask(note("ci.failing", "app-2", "test")))
        .unwrap();
    let got = rx.requests();
    assert_eq!(got.len(), 3);
    for r in &got {
        assert_eq!(r.path, "/api/chat.postMessage");
        assert_eq!(r.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(r.json()["channel"], "C0AO");
    }
    assert_eq!(got[0].json().get("thread_ts"), None);
    assert_eq!(
        got[1].json()["thread_ts"],
        "100.1",
        "app-1's second goes to its thread"
    );
    assert_eq!(got[2].json().get("thread_ts"), None, "app-2 starts its own");

    // A free post in a session's thread.
    rx.push(Reply::status(200).body(r#"{"ok": true, "ts": "100.3"}"#));
    slack
        .post(
            &ctx,
            PostRequest {
                message: "all done".into(),
                session_id: Some("app-1".into()),
                project_id: None,
                channel: None,
            },
        )
        .unwrap();
    let last = rx.requests().pop().unwrap().json();
    assert_eq!(
        last,
        json!({"text": "all done", "channel": "C0AO", "thread_ts": "100.1"})
    );
}

#[test]
fn slacks_own_errors_say_what_to_fix_and_never_show_the_token() {
    let rx = Receiver::start();
    let slack = bot(&rx);
    let ctx = Ctx::detached();
    for (code, want) in [
        ("channel_not_found", "check `channel` and invite the bot"),
        ("invalid_auth", "check `botTokenEnv`"),
        ("msg_too_long", "slack rejected the message: msg_too_long"),
    ] {
        rx.push(Reply::status(200).body(&json!({"ok": false, "error": code}).to_string()));
        let e = slack
            .notify(&ctx, ask(note("ci.failing", code, "x")))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{code}: {e}");
        assert!(!e.contains(TOKEN), "{e}");
    }
    // An HTTP refusal shows the origin only.
    let rx = Receiver::start();
    rx.push(Reply::status(403).body("invalid_token"));
    let e = webhook(&rx, json!({}))
        .notify(&ctx, ask(note("ci.failing", "app-1", "x")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refused the request (403)") && e.contains("webhookUrlEnv"),
        "{e}"
    );
    assert!(!e.contains("secretpath"), "{e}");
}

#[test]
fn rate_limits_are_waited_out_and_server_errors_retried() {
    let rx = Receiver::start();
    rx.push(Reply::status(429).header("retry-after", "1"));
    rx.push(Reply::status(503));
    let slack = webhook(&rx, json!({}));
    let t = Instant::now();
    let out = slack
        .notify(&Ctx::detached(), ask(note("ci.failing", "app-1", "x")))
        .unwrap();
    assert_eq!(out.attempts, 3);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );

    let rx = Receiver::start();
    for _ in 0..3 {
        rx.push(Reply::status(500));
    }
    let e = webhook(&rx, json!({"retries": 1}))
        .notify(&Ctx::detached(), ask(note("ci.failing", "app-1", "x")))
        .unwrap_err()
        .to_string();
    assert_eq!(rx.requests().len(), 2);
    assert!(e.contains("failed after 2 attempt(s)"), "{e}");
}

#[test]
fn an_identical_notification_within_the_window_is_sent_once() {
    let rx = Receiver::start();
    let slack = webhook(&rx, json!({}));
    let ctx = Ctx::detached();
    slack
        .notify(&ctx, ask(note("session.stuck", "app-1", "idle 20m")))
        .unwrap();
    slack
        .notify(&ctx, ask(note("session.stuck", "app-1", "idle 20m")))
        .unwrap();
    slack
        .notify(&ctx, ask(note("session.stuck", "app-1", "idle 25m")))
        .unwrap();
    assert_eq!(rx.requests().len(), 2);

    let rx = Receiver::start();
    let always = webhook(&rx, json!({"dedupeSecs": 0}));
    always
        .notify(&ctx, ask(note("session.stuck", "app-1", "idle")))
        .unwrap();
    always
        .notify(&ctx, ask(note("session.stuck", "app-1", "idle")))
        .unwrap();
    assert_eq!(rx.requests().len(), 2);
}

#[test]
fn config_errors_name_the_setting() {
    let host = TestHost::new().handle();
    let cfg = |v: Value| serde_json::from_value::<Config>(v).unwrap();
    let err = |v: Value| Slack::new(cfg(v), &host).err().unwrap().to_string();
    assert!(
        err(json!({})).contains("`webhookUrlEnv` (or `botTokenEnv` and `channel`) is required")
    );
    assert!(err(json!({"botTokenEnv": "X"})).contains("`botTokenEnv` needs `channel`"));
    assert!(err(json!({"webhookUrlEnv": "A", "botTokenEnv": "B"})).contains("not both"));
}

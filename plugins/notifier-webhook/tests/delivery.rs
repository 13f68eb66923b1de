//! The webhook notifier against a real HTTP receiver on 127.0.0.1.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::notifier::{
    Notification, Notifier, NotifyRequest, PostRequest, Priority,
};
use ao_plugin_notifier_webhook::{Config, Webhook};
use ao_testkit::receiver::{Receiver, Reply};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

fn config(url: String) -> Config {
    serde_json::from_value(serde_json::json!({ "url": url, "retryDelayMs": 10, "timeoutMs": 2000 }))
        .unwrap()
}

fn request(title: &str) -> NotifyRequest {
    NotifyRequest {
        notification: Notification {
            event_type: "ci.failing".into(),
            priority: Priority::Warning,
            title: title.into(),
            message: "lint failed on main.rs".into(),
            session_id: Some("app-3".into()),
            project_id: Some("app".into()),
            pr_url: Some("https://github.example/acme/app/pull/7".into()),
            url: None,
            timestamp_ms: 1_700_000_000_000,
            data: serde_json::json!({ "checks": ["lint"] }),
        },
    }
}

#[test]
fn posts_the_event_signed_with_the_shared_secret() {
    let rx = Receiver::start();
    let host = TestHost::new();
    host.set_secret("HOOK_SECRET", "s3cret");
    let mut cfg = config(rx.url("/hooks/ao"));
    cfg.secret_env = Some("HOOK_SECRET".into());
    cfg.headers.insert("X-Team".into(), "infra".into());
    let hook = Webhook::new(cfg, &host.handle()).unwrap();
    let out = hook.notify(&Ctx::detached(), request("CI failed")).unwrap();
    assert_eq!(out.attempts, 1);

    let got = &rx.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/ao");
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["x-ao-event"], "ci.failing");
    assert_eq!(got.headers["x-team"], "infra");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&got.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got.headers["x-ao-signature-256"], expected);
    assert_eq!(
        got.json(),
        serde_json::json!({
            "type": "notification",
            "event": {
                "type": "ci.failing", "priority": "warning", "title": "CI failed",
                "message": "lint failed on main.rs", "sessionId": "app-3", "projectId": "app",
                "prUrl": "https://github.example/acme/app/pull/7", "url": null,
                "timestamp": "2023-11-14T22:13:20.000Z", "data": { "checks": ["lint"] },
            }
        })
    );
}

#[test]
fn server_errors_are_retried_with_the_same_delivery_id() {
    let rx = Receiver::start();
    rx.push(Reply::status(502));
    rx.push(Reply::status(503));
    rx.push(Reply::status(200).body(r#"{"id": 42}"#));
    let hook = Webhook::new(config(rx.url("/")), &TestHost::new().handle()).unwrap();
    let out = hook.notify(&Ctx::detached(), request("x")).unwrap();
    assert_eq!(out.attempts, 3);
    assert_eq!(out.id.as_deref(), Some("42"));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter()
            .all(|r| r.headers["x-ao-delivery"] == reqs[0].headers["x-ao-delivery"])
    );
    assert!(reqs.iter().all(|r| r.body == reqs[0].body));
}

#[test]
fn retries_stop_after_the_configured_count() {
    let rx = Receiver::start();
    for _ in 0..5 {
        rx.push(Reply::status(500));
    }
    let mut cfg = config(rx.url("/"));
    cfg.retries = 1;
    let hook = Webhook::new(cfg, &TestHost::new().handle()).unwrap();
    let err = hook.notify(&Ctx::detached(), request("x")).unwrap_err();
    assert!(matches!(err, SdkError::Unavailable(_)), "{err:?}");
    let shown = format!(
        "webhook {} failed after 2 attempt(s): server error 500",
        rx.url("")
    );
    assert_eq!(err.to_string(), shown);
    assert_eq!(rx.requests().len(), 2);
}

#[test]
fn rate_limits_honour_retry_after() {
    let rx = Receiver::start();
    rx.push(Reply::status(429).header("retry-after", "1"));
    let hook = Webhook::new(config(rx.url("/")), &TestHost::new().handle()).unwrap();
    hook.notify(&Ctx::detached(), request("x")).unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    // Asked to wait a second: the retry must not come sooner (the configured delay is 10 ms).
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(950));
}

#[test]
fn client_errors_fail_at_once_with_what_to_fix() {
    let cases = [
        (404, "answered 404: check `url`"),
        (
            401,
            "refused the request (401): check the receiver's credentials",
        ),
        (422, "rejected the payload (422): missing field"),
    ];
    for (status, expected) in cases {
        let rx = Receiver::start();
        rx.push(Reply::status(status).body("missing field\nmore detail"));
        let hook = Webhook::new(
            config(rx.url("/secret-token-in-path")),
            &TestHost::new().handle(),
        )
        .unwrap();
        let err = hook
            .notify(&Ctx::detached(), request("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{status}: {err}");
        // The path can hold a token: messages show only the origin.
        assert!(!err.contains("secret-token-in-path"), "{err}");
        assert_eq!(rx.requests().len(), 1, "{status} is not retried");
    }
}

#[test]
fn a_slow_receiver_times_out_and_is_retried() {
    let rx = Receiver::start();
    rx.push(Reply::status(200).delay(Duration::from_secs(3)));
    let mut cfg = config(rx.url("/"));
    cfg.timeout_ms = 300;
    let hook = Webhook::new(cfg, &TestHost::new().handle()).unwrap();
    let out = hook.notify(&Ctx::detached(), request("x")).unwrap();
    assert_eq!(out.attempts, 2);
}

#[test]
fn config_errors_name_the_setting() {
    let host = TestHost::new().handle();
    let none: Config = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(
        Webhook::new(none, &host).err().unwrap().to_string(),
        "`url` (or `urlEnv`) is required"
    );
    let ftp = config("ftp://x/y".into());
    assert_eq!(
        Webhook::new(ftp, &host).err().unwrap().to_string(),
        "`url` must be an http:// or https:// URL"
    );
    let unset: Config = serde_json::from_value(serde_json::json!({ "urlEnv": "NOPE" })).unwrap();
    assert!(matches!(
        Webhook::new(unset, &host),
        Err(SdkError::NotFound(_))
    ));
    assert!(
        serde_json::from_value::<Config>(serde_json::json!({ "url": "http://x", "retry": 3 }))
            .is_err()
    );
}

#[test]
fn post_sends_a_message_body() {
    let rx = Receiver::start();
    let hook = Webhook::new(config(rx.url("/")), &TestHost::new().handle()).unwrap();
    hook.post(
        &Ctx::detached(),
        PostRequest {
            message: "hello".into(),
            session_id: Some("app-1".into()),
            project_id: None,
            channel: None,
        },
    )
    .unwrap();
    let body = rx.wait_for(1, Duration::from_secs(5))[0].json();
    assert_eq!(body["type"], "message");
    assert_eq!(body["message"], "hello");
    assert_eq!(body["context"]["sessionId"], "app-1");
}

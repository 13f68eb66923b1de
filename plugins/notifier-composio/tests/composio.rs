//! The Composio notifier against a local stub of Composio's tool-execution endpoint: the exact
//! request per app, `successful: false` and HTTP refusals as errors that name the setting, and
//! the API key never shown.

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::notifier::{Notification, Notifier, NotifyRequest, Priority};
use ao_plugin_notifier_composio::{Composio, Config};
use ao_testkit::receiver::{Receiver, Reply};
use serde_json::{Value, json};

const KEY: &str = "ak_composio_secret_key";

fn composio(rx: &Receiver, extra: Value) -> Result<Composio, String> {
    let host = TestHost::new();
    host.set_secret("COMPOSIO_KEY", KEY);
    let mut c = json!({"apiKeyEnv": "COMPOSIO_KEY", "baseUrl": rx.url(""), "retryDelayMs": 10,
                       "timeoutMs": 2000});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        c[k] = v;
    }
    Composio::new(serde_json::from_value::<Config>(c).unwrap(), &host.handle())
        .map_err(|e| e.to_string())
}

fn ask() -> NotifyRequest {
    NotifyRequest {
        notification: Notification {
            event_type: "session.needs_input".into(),
            priority: Priority::Urgent,
            title: "app-2: needs your input".into(),
            message: "the agent asks: French or Spanish?".into(),
            session_id: Some("app-2".into()),
            project_id: Some("app".into()),
            pr_url: Some("https://github.com/acme/app/pull/7".into()),
            url: None,
            timestamp_ms: 1_700_000_000_000,
            data: Value::Null,
        },
    }
}

const TEXT: &str = ":rotating_light: *session.needs_input — app-2*\nthe agent asks: French or Spanish?\nPR: https://github.com/acme/app/pull/7\nWhat to do: answer with `ao send app-2 \"...\"`";

fn ok() -> Reply {
    Reply::status(200)
        .body(r#"{"data": {"ok": true}, "error": null, "successful": true, "log_id": "log_abc"}"#)
}

#[test]
fn each_app_gets_its_tool_and_arguments() {
    let cases = [
        (
            json!({"channel": "#ops"}),
            "/api/v3/tools/execute/SLACK_SEND_MESSAGE",
            json!({"user_id": "default", "arguments": {"channel": "#ops", "text": TEXT}}),
        ),
        (
            json!({"app": "discord", "channel": "1234", "connectedAccountId": "ca_1"}),
            "/api/v3/tools/execute/DISCORD_SEND_MESSAGE",
            json!({"connected_account_id": "ca_1", "arguments": {"channel_id": "1234", "content": TEXT}}),
        ),
        (
            json!({"app": "gmail", "emailTo": "me@example.com", "userId": "team"}),
            "/api/v3/tools/execute/GMAIL_SEND_EMAIL",
            json!({"user_id": "team", "arguments": {"recipient_email": "me@example.com",
                   "subject": "[ao] app-2: needs your input", "body": TEXT}}),
        ),
    ];
    for (cfg, path, body) in cases {
        let rx = Receiver::start();
        rx.push(ok());
        let out = composio(&rx, cfg)
            .unwrap()
            .notify(&Ctx::detached(), ask())
            .unwrap();
        assert_eq!(out.id.as_deref(), Some("log_abc"));
        let got = rx.requests();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, path);
        assert_eq!(got[0].headers["x-api-key"], KEY);
        assert_eq!(got[0].json(), body);
    }
}

#[test]
fn failures_say_what_to_fix_without_the_key() {
    let rx = Receiver::start();
    rx.push(
        Reply::status(200)
            .body(r#"{"data": {}, "error": "channel_not_found", "successful": false}"#),
    );
    let e = composio(&rx, json!({"channel": "#nope"}))
        .unwrap()
        .notify(&Ctx::detached(), ask())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("SLACK_SEND_MESSAGE did not deliver: channel_not_found"),
        "{e}"
    );

    let rx = Receiver::start();
    rx.push(Reply::status(401).body(r#"{"error": {"message": "Invalid API key", "code": 401}}"#));
    let e = composio(&rx, json!({"channel": "#ops"}))
        .unwrap()
        .notify(&Ctx::detached(), ask())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refused the request (401)") && e.contains("apiKeyEnv"),
        "{e}"
    );
    assert!(!e.contains(KEY), "{e}");

    let rx = Receiver::start();
    assert!(
        composio(&rx, json!({}))
            .err()
            .unwrap()
            .contains("app slack needs `channel`")
    );
    assert!(
        composio(&rx, json!({"app": "gmail"}))
            .err()
            .unwrap()
            .contains("app gmail needs `emailTo`")
    );
    assert!(
        composio(&rx, json!({"channel": "x", "tool": "../../x"}))
            .err()
            .unwrap()
            .contains("`tool` must be a Composio tool slug")
    );
}

//! ao and the forge beyond polling: a signed GitHub webhook makes the engine look at once (an
//! unsigned one is refused), and `ao doctor` shows whether the SCM token works and what API
//! budget is left.

use crate::engine::*;
use crate::support::*;
use ao_testkit::forge::sign_webhook;
use serde_json::json;
use std::time::Duration;

fn daemon_port(s: &Setup) -> u16 {
    s.daemon()["port"].as_u64().unwrap() as u16
}

fn deliver(port: u16, body: &str, signature: &str) -> u16 {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build(),
    );
    agent
        .post(format!("http://127.0.0.1:{port}/webhooks/github"))
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "pull_request")
        .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("X-Hub-Signature-256", signature)
        .send(body.to_string())
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_signed_webhook_wakes_the_engine_at_once_and_an_unsigned_one_is_refused() {
    // Polling once a minute: anything seen sooner came from the webhook.
    let s = setup_with(Opts {
        poll: Some("60s"),
        ..Opts::default()
    });
    s.start();
    let port = daemon_port(&s);
    succeed(s.ao().args(["spawn", "1"]));
    let head = wait_new_head(&s, "");
    let body = json!({
        "action": "opened",
        "number": PR,
        "pull_request": {"number": PR, "head": {"ref": "feat/1-add-a-greeting", "sha": head}},
        "repository": {"full_name": REPO},
    })
    .to_string();

    assert_eq!(deliver(port, &body, "sha256=00"), 401);
    assert_eq!(
        deliver(
            port,
            &body,
            &sign_webhook("not the secret", body.as_bytes())
        ),
        401
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !s.kinds().iter().any(|k| k == "pr.created"),
        "a refused delivery must not wake the engine: {:?}",
        s.kinds()
    );

    let signed = sign_webhook(HOOK_SECRET, body.as_bytes());
    assert_eq!(deliver(port, &body, &signed), 202);
    s.wait_event("pr.created", 10);
    // A replay (GitHub signs the body only) is taken once: 200 times sent, no wake-up.
    for _ in 0..200 {
        assert_eq!(deliver(port, &body, &signed), 200);
    }
}

#[test]
fn doctor_shows_the_scm_budget_and_a_bad_token() {
    let s = setup();
    let v = stdout_json(&succeed(s.ao().args(["doctor", "--json"])));
    let row = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "scm app (github)")
        .cloned()
        .unwrap_or_else(|| panic!("no scm row: {v}"));
    assert_eq!(row["level"], "ok", "{row}");
    let detail = row["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("REST 5000/5000 left (resets in ")
            && detail.contains("GraphQL 5000/5000"),
        "{detail}"
    );

    s.sim.world().set_budget(false, 50, 600);
    let v = stdout_json(&succeed(s.ao().args(["doctor", "--json"])));
    let row = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "scm app (github)")
        .cloned()
        .unwrap();
    assert_eq!(row["level"], "warn", "{row}");
    assert!(
        row["detail"].as_str().unwrap().contains("REST 50/5000"),
        "{row}"
    );

    let out = s
        .ao()
        .env("FORGE_TOKEN", "ghp_wrong")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let row = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check"] == "scm app (github)")
        .cloned()
        .unwrap();
    assert_eq!(row["level"], "error", "{row}");
    assert!(row["detail"].as_str().unwrap().contains("token"), "{row}");
}

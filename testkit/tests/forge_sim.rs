//! `ao-forge-sim` as a process: scripted over `POST /_sim/<command>`, answering REST with
//! GitHub's auth, ETag and rate-limit behaviour, and GraphQL with GitHub's cost.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn the_binary_serves_a_scriptable_github() {
    let mut child = Command::new(ao_testkit::bin_path("ao-forge-sim"))
        .args(["--repo", "acme/app", "--stdin-lifeline"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("AO_FORGE_URL=")
        .unwrap()
        .to_string();
    let token = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("AO_FORGE_TOKEN=")
        .unwrap()
        .to_string();
    let a = agent();
    let auth = format!("Bearer {token}");

    let mut r = a
        .post(format!("{url}/_sim/issue"))
        .header("content-type", "application/json")
        .send(r#"{"repo":"acme/app","title":"Fix login","labels":["bug"]}"#)
        .unwrap();
    assert_eq!(r.body_mut().read_to_string().unwrap(), r#"{"number":1}"#);

    let r = a
        .get(format!("{url}/repos/acme/app/issues/1"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token, no answer");

    let mut r = a
        .get(format!("{url}/repos/acme/app/issues/1"))
        .header("authorization", &auth)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(r.headers().get("x-ratelimit-remaining").unwrap(), "4999");
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        (v["title"].as_str(), v["labels"][0]["name"].as_str()),
        (Some("Fix login"), Some("bug"))
    );

    let r = a
        .get(format!("{url}/repos/acme/app/issues/1"))
        .header("authorization", &auth)
        .header("if-none-match", &etag)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    assert_eq!(
        r.headers().get("x-ratelimit-remaining").unwrap(),
        "4999",
        "a 304 is free"
    );

    let q = r#"{"query":"{ repository(owner: \"acme\", name: \"app\") { pullRequests(first: 10) { nodes { reviewThreads(first: 50) { nodes { id } } } } } rateLimit { cost remaining } }"}"#;
    let mut r = a
        .post(format!("{url}/graphql"))
        .header("authorization", &auth)
        .send(q)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    // 1 (pullRequests) + 10 (reviewThreads per PR) = 11 requests → 1 point.
    assert_eq!(v["data"]["rateLimit"]["cost"], 1, "{v}");
    assert_eq!(
        v["data"]["repository"]["pullRequests"]["nodes"],
        serde_json::json!([])
    );

    let mut r = a.post(format!("{url}/_sim/counters")).send("").unwrap();
    let c: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        (
            c["requests"].as_u64(),
            c["charged"].as_u64(),
            c["not_modified"].as_u64(),
            c["graphql_queries"].as_u64()
        ),
        (Some(4), Some(1), Some(1), Some(1)),
        "{c}"
    );

    for _ in 0..2 {
        let mut r = a
            .get(format!("{url}/rate_limit"))
            .header("authorization", &auth)
            .call()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(
            v["resources"]["core"]["remaining"], 4999,
            "asking for the budget is free: {v}"
        );
    }

    drop(child.stdin.take());
    assert!(
        child.wait().unwrap().success(),
        "stdin closed: the forge exits"
    );
}

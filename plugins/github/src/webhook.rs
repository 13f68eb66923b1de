//! GitHub webhook deliveries: `X-Hub-Signature-256` checked in constant time against the
//! configured secret (no secret, no trust: unsigned deliveries are refused), and payloads
//! turned into "these PRs / commits changed".

use ao_plugin_api::slots::scm::{WebhookEvent, WebhookRequest, WebhookVerdict};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Largest body accepted (GitHub caps deliveries at 25 MB).
pub(crate) const MAX_BODY: usize = 25 << 20;

pub(crate) fn verify(secret: Option<&str>, req: &WebhookRequest) -> WebhookVerdict {
    let h = |k: &str| req.headers.get(k).cloned();
    let verdict = |ok: bool, reason: Option<String>| WebhookVerdict {
        ok,
        reason,
        delivery_id: h("x-github-delivery"),
        event_type: h("x-github-event"),
    };
    let Some(secret) = secret else {
        return verdict(
            false,
            Some("no webhook secret configured: set `webhookSecretEnv` in the scm config".into()),
        );
    };
    if h("x-github-event").is_none() {
        return verdict(false, Some("missing X-GitHub-Event header".into()));
    }
    if req.body.len() > MAX_BODY {
        return verdict(false, Some("body larger than 25 MB".into()));
    }
    let Some(sig) = h("x-hub-signature-256") else {
        return verdict(false, Some("missing X-Hub-Signature-256 header".into()));
    };
    let Some(bytes) = sig
        .strip_prefix("sha256=")
        .and_then(|x| hex::decode(x.trim()).ok())
    else {
        return verdict(false, Some("malformed X-Hub-Signature-256 header".into()));
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(req.body.as_bytes());
    match mac.verify_slice(&bytes) {
        Ok(()) => verdict(true, None),
        Err(_) => verdict(
            false,
            Some("signature does not match the configured secret".into()),
        ),
    }
}

/// `sha256=<hex>` for a body, as GitHub signs it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// What a delivery is about, and the PRs it names; `None` for deliveries about nothing a
/// session watches (pings, comments on plain issues).
pub(crate) fn parse(event: &str, body: &Value) -> Option<(WebhookEvent, Vec<u64>)> {
    let repo = s(&body["repository"]["full_name"]);
    let action = s(&body["action"]);
    let mk =
        |kind: &str, pr: Option<u64>, branch: Option<String>, sha: Option<String>| WebhookEvent {
            kind: kind.into(),
            action: action.clone(),
            repo: repo.clone(),
            pr_number: pr,
            branch,
            sha,
        };
    let prs_of = |v: &Value| -> Vec<u64> {
        v.as_array()
            .map(|a| a.iter().filter_map(|p| p["number"].as_u64()).collect())
            .unwrap_or_default()
    };
    Some(match event {
        "ping" => return None,
        "pull_request" => {
            let pr = &body["pull_request"];
            let n = pr["number"].as_u64().or(body["number"].as_u64());
            (
                mk(
                    "pull_request",
                    n,
                    s(&pr["head"]["ref"]),
                    s(&pr["head"]["sha"]),
                ),
                n.into_iter().collect(),
            )
        }
        "pull_request_review" | "pull_request_review_thread" => {
            let pr = &body["pull_request"];
            let n = pr["number"].as_u64();
            (
                mk("review", n, s(&pr["head"]["ref"]), s(&pr["head"]["sha"])),
                n.into_iter().collect(),
            )
        }
        "pull_request_review_comment" => {
            let pr = &body["pull_request"];
            let n = pr["number"].as_u64();
            (
                mk("comment", n, s(&pr["head"]["ref"]), s(&pr["head"]["sha"])),
                n.into_iter().collect(),
            )
        }
        "issue_comment" => {
            body["issue"].get("pull_request")?;
            let n = body["issue"]["number"].as_u64();
            (mk("comment", n, None, None), n.into_iter().collect())
        }
        "check_run" | "check_suite" => {
            let x = &body[event];
            let prs = prs_of(&x["pull_requests"]);
            let branch = s(&x["check_suite"]["head_branch"]).or_else(|| s(&x["head_branch"]));
            (
                mk("ci", prs.first().copied(), branch, s(&x["head_sha"])),
                prs,
            )
        }
        "status" => {
            let branch = s(&body["branches"][0]["name"]);
            (mk("ci", None, branch, s(&body["sha"])), Vec::new())
        }
        "push" => {
            let branch = body["ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("refs/heads/"))
                .map(str::to_owned);
            (mk("push", None, branch, s(&body["after"])), Vec::new())
        }
        _ => (mk("unknown", None, None, None), Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn req(sig: Option<&str>, body: &str) -> WebhookRequest {
        let mut headers = BTreeMap::new();
        headers.insert("x-github-event".into(), "ping".into());
        headers.insert("x-github-delivery".into(), "d-1".into());
        if let Some(s) = sig {
            headers.insert("x-hub-signature-256".into(), s.into());
        }
        WebhookRequest {
            headers,
            body: body.into(),
        }
    }

    #[test]
    fn signatures() {
        // GitHub's documented test vector ("Validating webhook deliveries").
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let body = r#"{"zen":"x"}"#;
        let good = sign("s3cret", body.as_bytes());
        assert!(verify(Some("s3cret"), &req(Some(&good), body)).ok);
        let v = verify(Some("s3cret"), &req(Some(&good), r#"{"zen":"y"}"#));
        assert_eq!(
            v.reason.as_deref(),
            Some("signature does not match the configured secret")
        );
        assert!(!verify(Some("s3cret"), &req(None, body)).ok);
        assert!(!verify(Some("s3cret"), &req(Some("sha1=abc"), body)).ok);
        let v = verify(None, &req(Some(&good), body));
        assert!(!v.ok && v.reason.unwrap().contains("webhookSecretEnv"));
        assert_eq!(
            verify(Some("s3cret"), &req(Some(&good), body))
                .delivery_id
                .as_deref(),
            Some("d-1")
        );
    }

    #[test]
    fn payloads_name_their_prs_and_commits() {
        let body = serde_json::json!({
            "action": "completed",
            "repository": {"full_name": "acme/app"},
            "check_run": {"head_sha": "abc", "pull_requests": [{"number": 4}], "check_suite": {"head_branch": "feat/4"}},
        });
        let (e, prs) = parse("check_run", &body).unwrap();
        assert_eq!(
            (
                e.kind.as_str(),
                e.pr_number,
                e.sha.as_deref(),
                e.branch.as_deref()
            ),
            ("ci", Some(4), Some("abc"), Some("feat/4"))
        );
        assert_eq!(prs, vec![4]);
        let plain =
            serde_json::json!({"issue": {"number": 3}, "repository": {"full_name": "acme/app"}});
        assert!(parse("issue_comment", &plain).is_none());
        let on_pr = serde_json::json!({"issue": {"number": 3, "pull_request": {}}, "repository": {"full_name": "acme/app"}});
        assert_eq!(parse("issue_comment", &on_pr).unwrap().1, vec![3]);
        assert!(parse("ping", &serde_json::json!({})).is_none());
    }
}

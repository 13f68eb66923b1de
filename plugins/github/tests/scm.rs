//! scm/github against the forge simulator: every method, the cost discipline, back-off and
//! webhooks.

#![allow(clippy::type_complexity)]

mod common;

use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::slots::scm::*;
use ao_testkit::forge::model::{Protection, ReviewState, RunStatus};
use common::*;
use std::collections::BTreeMap;

fn key(n: u64) -> PrKey {
    PrKey {
        repo: REPO.into(),
        number: n,
    }
}

fn enrich(scm: &ao_plugin_github::GithubScm, prs: &[u64]) -> EnrichBatchResponse {
    scm.enrich_batch(
        &ctx(),
        EnrichBatchRequest {
            prs: prs.iter().map(|n| key(*n)).collect(),
            branches: BTreeMap::new(),
        },
    )
    .unwrap()
}

#[test]
fn a_pr_from_detection_through_failing_ci_review_and_merge() {
    let w = World::new();
    let scm = w.scm();
    let branch = "feat/1-login";
    assert_eq!(
        scm.detect_pr(
            &ctx(),
            DetectPrRequest {
                repo: REPO.into(),
                branch: branch.into()
            }
        )
        .unwrap()
        .pr,
        None
    );
    let n = w.pr(branch);
    let info = scm
        .detect_pr(
            &ctx(),
            DetectPrRequest {
                repo: REPO.into(),
                branch: branch.into(),
            },
        )
        .unwrap()
        .pr
        .unwrap();
    assert_eq!(
        (
            info.key.number,
            info.branch.as_str(),
            info.base_branch.as_str()
        ),
        (n, branch, "main")
    );
    assert_eq!(info.url, format!("{}/{REPO}/pull/{n}", w.sim.url()));
    let resolved = scm
        .resolve_pr(
            &ctx(),
            PrRequest {
                repo: REPO.into(),
                reference: info.url.clone(),
            },
        )
        .unwrap();
    assert_eq!(resolved, info);

    // CI fails with a log.
    let sha = w.sim.world().head_sha(REPO, n).unwrap();
    let log = "2026-11-24T10:00:00.0000000Z running tests\n\
               2026-11-24T10:00:01.0000000Z \x1b[31mFAILED\x1b[0m tests::login_redirect\n\
               2026-11-24T10:00:01.0000000Z assertion failed: status == 302";
    w.sim
        .world()
        .set_check(
            REPO,
            &sha,
            "test",
            RunStatus::Completed,
            Some("failure"),
            Some(log),
        )
        .unwrap();
    w.sim
        .world()
        .set_status(
            REPO,
            &sha,
            "lint",
            "success",
            Some("https://ci.example/lint"),
            None,
        )
        .unwrap();
    let facts = enrich(&scm, &[n]).prs.remove(&key(n).key()).unwrap();
    assert_eq!(facts.state, PrState::Open);
    assert_eq!(facts.head_sha, sha);
    assert_eq!(facts.mergeable, Mergeable::Mergeable);
    assert_eq!(facts.ci.status, CiStatus::Failing);
    let names: Vec<(&str, CheckStatus, &str)> = facts
        .ci
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.status, c.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("test", CheckStatus::Failed, "check_run"),
            ("lint", CheckStatus::Passed, "status")
        ]
    );
    assert_eq!(facts.blockers, vec!["CI is failing (test)"]);
    let failed: Vec<CiCheck> = facts
        .ci
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .cloned()
        .collect();
    let logs = scm
        .ci_logs(
            &ctx(),
            CiLogsRequest {
                repo: REPO.into(),
                checks: failed,
                max_bytes: 4096,
            },
        )
        .unwrap();
    assert_eq!(logs.excerpts.len(), 1);
    assert_eq!(
        logs.excerpts[0].text,
        "running tests\nFAILED tests::login_redirect\nassertion failed: status == 302"
    );

    // A reviewer asks for changes on a line; a bot comments too.
    w.sim
        .world()
        .review(
            REPO,
            n,
            "alice",
            ReviewState::ChangesRequested,
            "see inline",
            &[("src/login.rs", Some(12), "This loops forever")],
        )
        .unwrap();
    w.sim
        .world()
        .review(
            REPO,
            n,
            "coderabbit[bot]",
            ReviewState::Commented,
            "",
            &[("src/a.rs", None, "nit")],
        )
        .unwrap();
    let facts = enrich(&scm, &[n]).prs.remove(&key(n).key()).unwrap();
    assert_eq!(facts.review_decision, ReviewDecision::ChangesRequested);
    let threads: Vec<(&str, Option<&str>, Option<u64>, &str, bool)> = facts
        .unresolved_threads
        .iter()
        .map(|t| {
            (
                t.author.as_str(),
                t.path.as_deref(),
                t.line,
                t.body.as_str(),
                t.is_bot,
            )
        })
        .collect();
    assert_eq!(
        threads,
        vec![
            (
                "alice",
                Some("src/login.rs"),
                Some(12),
                "This loops forever",
                false
            ),
            ("coderabbit", Some("src/a.rs"), None, "nit", true),
        ]
    );

    // Protection: the merge is refused with GitHub's reason, then allowed once CI and review pass.
    w.sim
        .world()
        .protect(
            REPO,
            "main",
            Protection {
                required_checks: vec!["test".into()],
                strict: false,
                required_approvals: 1,
            },
        )
        .unwrap();
    let out = scm
        .merge(
            &ctx(),
            MergeRequest {
                pr: key(n),
                method: MergeMethod::Squash,
                expected_head_sha: Some(sha.clone()),
            },
        )
        .unwrap();
    assert!(!out.merged);
    assert_eq!(out.message, "Required status check \"test\" is failing.");
    let fixed = w.push_more(branch, "fix.txt", "fixed\n");
    w.sim
        .world()
        .set_check(
            REPO,
            &fixed,
            "test",
            RunStatus::Completed,
            Some("success"),
            None,
        )
        .unwrap();
    w.sim
        .world()
        .review(REPO, n, "alice", ReviewState::Approved, "thanks", &[])
        .unwrap();
    let facts = enrich(&scm, &[n]).prs.remove(&key(n).key()).unwrap();
    assert_eq!(
        (
            facts.head_sha.as_str(),
            facts.ci.status,
            facts.review_decision
        ),
        (fixed.as_str(), CiStatus::Passing, ReviewDecision::Approved)
    );
    let stale = scm
        .merge(
            &ctx(),
            MergeRequest {
                pr: key(n),
                method: MergeMethod::Squash,
                expected_head_sha: Some(sha.clone()),
            },
        )
        .unwrap();
    assert!(
        !stale.merged && stale.message.starts_with("the head moved"),
        "{stale:?}"
    );
    let out = scm
        .merge(
            &ctx(),
            MergeRequest {
                pr: key(n),
                method: MergeMethod::Squash,
                expected_head_sha: Some(fixed.clone()),
            },
        )
        .unwrap();
    assert!(out.merged, "{out:?}");
    let main = ao_testkit::git::git(&w.checkout, &["ls-remote", "origin", "refs/heads/main"]);
    assert!(
        main.starts_with(out.sha.as_deref().unwrap()),
        "the bare repo's main is the squash commit"
    );
    let facts = enrich(&scm, &[n]).prs.remove(&key(n).key()).unwrap();
    assert_eq!(facts.state, PrState::Merged);
    assert!(facts.blockers.is_empty());
}

#[test]
fn conflicts_drafts_and_a_moving_base_show_up() {
    let w = World::new();
    let scm = w.scm();
    let a = w.pr("feat/a");
    // Both change the same file differently: the second conflicts once the first merges.
    ao_testkit::git::git(&w.checkout, &["checkout", "-q", "-B", "feat/b", "main"]);
    commit(&w.checkout, "feat-a.txt", "other text\n");
    ao_testkit::git::git(&w.checkout, &["push", "-q", "origin", "feat/b"]);
    ao_testkit::git::git(&w.checkout, &["checkout", "-q", "main"]);
    let mut new = ao_testkit::forge::NewPull::new("feat/b", "B");
    new.draft = true;
    let b = w.sim.world().create_pull(REPO, new).unwrap();
    let r = enrich(&scm, &[a, b]);
    assert_eq!(r.prs[&key(b).key()].mergeable, Mergeable::Mergeable);
    assert!(
        r.prs[&key(b).key()]
            .blockers
            .contains(&"PR is still a draft".to_string())
    );
    let merged = scm
        .merge(
            &ctx(),
            MergeRequest {
                pr: key(a),
                method: MergeMethod::Merge,
                expected_head_sha: None,
            },
        )
        .unwrap();
    assert!(merged.merged);
    // Nothing about PR b changed, but its base moved: the base guard catches it.
    let r = enrich(&scm, &[b]);
    let fb = &r.prs[&key(b).key()];
    assert_eq!(fb.mergeable, Mergeable::Conflicting);
    assert!(
        fb.blockers
            .contains(&"Merge conflicts with the base branch".to_string()),
        "{:?}",
        fb.blockers
    );
    let out = scm
        .merge(
            &ctx(),
            MergeRequest {
                pr: key(b),
                method: MergeMethod::Merge,
                expected_head_sha: None,
            },
        )
        .unwrap();
    assert_eq!(
        (out.merged, out.message.as_str()),
        (false, "Pull Request is still a draft")
    );
    scm.close_pr(
        &ctx(),
        PrRequest {
            repo: REPO.into(),
            reference: format!("#{b}"),
        },
    )
    .unwrap();
    assert_eq!(enrich(&scm, &[b]).prs[&key(b).key()].state, PrState::Closed);
}

#[test]
fn unchanged_ticks_cost_only_free_304s_and_changes_cost_one_query_per_50() {
    let w = World::new();
    let scm = w.scm();
    let prs: Vec<u64> = (0..60).map(|i| w.pr(&format!("feat/{i}"))).collect();
    for (i, n) in prs.iter().enumerate() {
        let sha = w.sim.world().head_sha(REPO, *n).unwrap();
        let (status, conclusion) = if i % 3 == 0 {
            (RunStatus::InProgress, None)
        } else {
            (RunStatus::Completed, Some("success"))
        };
        w.sim
            .world()
            .set_check(REPO, &sha, "ci", status, conclusion, None)
            .unwrap();
    }
    w.sim.reset_counters();
    let r = enrich(&scm, &prs);
    assert_eq!(r.prs.len(), 60);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        w.sim.counters().graphql_queries,
        2,
        "60 new PRs: two queries"
    );

    for _ in 0..3 {
        w.sim.reset_counters();
        let r = enrich(&scm, &prs);
        let c = w.sim.counters();
        assert_eq!(r.prs.len(), 60);
        assert_eq!(r.unchanged_repos, vec![REPO.to_string()]);
        assert_eq!(
            (c.charged, c.graphql_queries, c.graphql_points),
            (0, 0, 0),
            "{c:?}"
        );
        assert!(
            c.not_modified >= 1 + 1 + 40,
            "list, base, and pending CI guards: {c:?}"
        );
    }

    // Three PRs change three different ways.
    let pushed = w.push_more("feat/1", "more.txt", "more\n");
    let pending = w.sim.world().head_sha(REPO, prs[3]).unwrap();
    w.sim
        .world()
        .set_check(
            REPO,
            &pending,
            "ci",
            RunStatus::Completed,
            Some("failure"),
            None,
        )
        .unwrap();
    w.sim
        .world()
        .review(REPO, prs[5], "alice", ReviewState::Approved, "", &[])
        .unwrap();
    w.sim.reset_counters();
    let r = enrich(&scm, &prs);
    let c = w.sim.counters();
    assert_eq!(c.graphql_queries, 1, "{c:?}");
    assert_eq!(r.prs[&key(prs[1]).key()].head_sha, pushed);
    assert_eq!(r.prs[&key(prs[3]).key()].ci.status, CiStatus::Failing);
    assert_eq!(
        r.prs[&key(prs[5]).key()].review_decision,
        ReviewDecision::Approved
    );

    // Branches without a known PR are found in the same pass.
    w.push_branch("feat/new", "new.txt");
    let mut branches = BTreeMap::new();
    branches.insert(
        REPO.to_string(),
        vec!["feat/new".to_string(), "feat/none".to_string()],
    );
    let req = EnrichBatchRequest {
        prs: vec![],
        branches: branches.clone(),
    };
    let r = scm.enrich_batch(&ctx(), req.clone()).unwrap();
    assert!(r.detected.get(REPO).is_none_or(|d| d.is_empty()));
    let n = w
        .sim
        .world()
        .create_pull(REPO, ao_testkit::forge::NewPull::new("feat/new", "New"))
        .unwrap();
    let r = scm.enrich_batch(&ctx(), req.clone()).unwrap();
    assert_eq!(r.detected[REPO]["feat/new"].key.number, n);
    assert!(!r.detected[REPO].contains_key("feat/none"));
    // ... with its facts, in the same call.
    let found = &r.prs[&r.detected[REPO]["feat/new"].key.key()];
    assert_eq!(found.state, PrState::Open, "{found:?}");
    assert!(!found.head_sha.is_empty(), "{found:?}");
    w.sim.reset_counters();
    scm.enrich_batch(&ctx(), req).unwrap();
    assert_eq!(
        w.sim.counters().graphql_queries,
        0,
        "a branch known to have no PR is not asked again"
    );
}

#[test]
fn budgets_and_secondary_limits_are_respected() {
    let w = World::new();
    let scm = w.scm();
    let n = w.pr("feat/z");
    enrich(&scm, &[n]);
    let status = scm.rate_limit(&ctx(), ()).unwrap();
    let rest = status.rest.unwrap();
    assert!(rest.limit == 5000 && rest.remaining < 5000, "{rest:?}");
    assert!(status.graphql.is_some() && status.charged_requests >= 1);

    // Low budget: optional refreshes stop, cached facts are still served.
    w.sim.world().set_budget(false, 50, 600);
    enrich(&scm, &[n]); // learns the budget from the headers
    w.sim.reset_counters();
    let r = enrich(&scm, &[n]);
    assert_eq!(w.sim.counters().requests, 0);
    assert!(
        r.errors[REPO].contains("REST budget low ("),
        "{:?}",
        r.errors
    );
    assert!(
        r.prs.contains_key(&key(n).key()),
        "cached facts still answer"
    );
    w.sim.world().set_budget(false, 5000, 3600);

    // A secondary limit: the answer says when, and nothing is sent until then.
    let w2 = World::new();
    let scm2 = w2.scm();
    let m = w2.pr("feat/q");
    w2.sim.world().secondary_limit(1, 30, 403);
    let e = scm2
        .detect_pr(
            &ctx(),
            DetectPrRequest {
                repo: REPO.into(),
                branch: "feat/q".into(),
            },
        )
        .unwrap_err();
    let SdkError::RateLimited {
        message,
        retry_after_ms,
    } = e
    else {
        panic!("{e:?}")
    };
    assert!(message.contains("secondary rate limit"), "{message}");
    assert!(
        retry_after_ms.is_some_and(|ms| ms > 25_000),
        "{retry_after_ms:?}"
    );
    w2.sim.reset_counters();
    let again = scm2.enrich_batch(
        &ctx(),
        EnrichBatchRequest {
            prs: vec![PrKey {
                repo: REPO.into(),
                number: m,
            }],
            branches: BTreeMap::new(),
        },
    );
    let errors = again.map(|r| r.errors).unwrap();
    assert!(errors[REPO].contains("waiting"), "{errors:?}");
    assert_eq!(
        w2.sim.counters().requests,
        0,
        "no request while the limit lasts"
    );
}

#[test]
fn webhooks_are_verified_and_force_a_refresh() {
    let w = World::new();
    let scm = w.scm();
    let n = w.pr("feat/w");
    let threads = w
        .sim
        .world()
        .review(
            REPO,
            n,
            "alice",
            ReviewState::ChangesRequested,
            "",
            &[("a.rs", Some(1), "fix")],
        )
        .unwrap();
    assert_eq!(
        enrich(&scm, &[n]).prs[&key(n).key()]
            .unresolved_threads
            .len(),
        1
    );
    // Resolving a thread changes nothing the REST guards see...
    w.sim
        .world()
        .resolve_thread(REPO, threads[0], true)
        .unwrap();
    assert_eq!(
        enrich(&scm, &[n]).prs[&key(n).key()]
            .unresolved_threads
            .len(),
        1
    );
    // ...but its webhook delivery does.
    let body = serde_json::json!({
        "action": "resolved",
        "repository": {"full_name": REPO},
        "pull_request": {"number": n, "head": {"ref": "feat/w", "sha": "x"}},
    })
    .to_string();
    let mut headers = BTreeMap::new();
    headers.insert(
        "x-github-event".to_string(),
        "pull_request_review_thread".to_string(),
    );
    headers.insert("x-github-delivery".to_string(), "abc".to_string());
    headers.insert(
        "x-hub-signature-256".to_string(),
        ao_plugin_github::sign_webhook("s3cret", body.as_bytes()),
    );
    let req = WebhookRequest {
        headers: headers.clone(),
        body: body.clone(),
    };
    assert!(scm.verify_webhook(&ctx(), req.clone()).unwrap().ok);
    let parsed = scm.parse_webhook(&ctx(), req).unwrap().event.unwrap();
    assert_eq!(
        (parsed.kind.as_str(), parsed.pr_number),
        ("review", Some(n))
    );
    assert!(
        enrich(&scm, &[n]).prs[&key(n).key()]
            .unresolved_threads
            .is_empty()
    );

    headers.insert(
        "x-hub-signature-256".to_string(),
        ao_plugin_github::sign_webhook("wrong", body.as_bytes()),
    );
    let v = scm
        .verify_webhook(&ctx(), WebhookRequest { headers, body })
        .unwrap();
    assert!(!v.ok);
}

#[test]
fn enterprise_urls_and_long_pages_of_threads_and_checks() {
    let w = World::new();
    let scm = ao_plugin_github::GithubScm::new(
        w.config(serde_json::json!({"apiUrl": format!("{}/api/v3", w.sim.url())})),
        &w.host.handle(),
    )
    .unwrap();
    let n = w.pr("feat/long");
    let sha = w.sim.world().head_sha(REPO, n).unwrap();
    for i in 0..130 {
        w.sim
            .world()
            .set_check(
                REPO,
                &sha,
                &format!("job-{i:03}"),
                RunStatus::Completed,
                Some("success"),
                None,
            )
            .unwrap();
    }
    let comments: Vec<(String, Option<u64>, String)> = (0..70)
        .map(|i| (format!("f{i}.rs"), Some(i), format!("comment {i}")))
        .collect();
    let refs: Vec<(&str, Option<u64>, &str)> = comments
        .iter()
        .map(|(p, l, b)| (p.as_str(), *l, b.as_str()))
        .collect();
    w.sim
        .world()
        .review(REPO, n, "alice", ReviewState::Commented, "", &refs)
        .unwrap();
    let facts = enrich(&scm, &[n]).prs.remove(&key(n).key()).unwrap();
    assert_eq!(facts.ci.checks.len(), 130);
    assert_eq!(facts.ci.status, CiStatus::Passing);
    assert_eq!(facts.unresolved_threads.len(), 70);
    assert_eq!(facts.unresolved_threads[69].body, "comment 69");
}

#[test]
fn a_fresh_rate_limit_asks_github_for_free_and_proves_the_token() {
    let w = World::new();
    let status = w.scm().rate_limit(&ctx(), ()).unwrap();
    let rest = status.rest.clone().expect("REST budget");
    let graphql = status.graphql.clone().expect("GraphQL budget");
    assert_eq!((rest.limit, graphql.limit), (5000, 5000), "{status:?}");
    assert!(rest.reset_at_ms > 0);
    assert_eq!(w.sim.counters().charged, 0, "GET /rate_limit is free");

    w.host.set_secret("FORGE_TOKEN", "ghp_wrong");
    let e = w.scm().rate_limit(&ctx(), ()).unwrap_err().to_string();
    assert!(e.contains("token"), "{e}");
}

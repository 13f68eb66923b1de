//! The GitHub plugin's HTTP against what GitHub really answers: redirects (a renamed private
//! repository, a proxy sending a write to another host), Enterprise without rate limiting,
//! lists longer than a page (the newest comments, every commit status).

mod common;

use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::slots::scm::{CheckStatus, CiStatus, EnrichBatchRequest, PrKey, Scm};
use ao_plugin_api::slots::tracker::*;
use ao_testkit::receiver::Receiver;
use common::*;
use std::time::Duration;

fn project(repo: &str) -> ProjectRef {
    ProjectRef {
        project_id: "app".into(),
        repo: repo.into(),
    }
}

fn get(t: &ao_plugin_github::GithubTracker, repo: &str, n: u64) -> Result<Issue, SdkError> {
    t.get_issue(
        &ctx(),
        IssueRequest {
            project: project(repo),
            issue_id: n.to_string(),
        },
    )
}

fn update(
    t: &ao_plugin_github::GithubTracker,
    repo: &str,
    n: u64,
    u: IssueUpdate,
) -> Result<(), SdkError> {
    t.update_issue(
        &ctx(),
        UpdateIssueRequest {
            project: project(repo),
            issue_id: n.to_string(),
            update: u,
        },
    )
}

#[test]
fn a_renamed_private_repository_is_followed_with_the_token_for_reads_and_writes() {
    let w = World::new();
    let n = {
        let mut sim = w.sim.world();
        sim.add_repo("acme/secret", true).unwrap();
        let n = sim
            .create_issue("acme/secret", "Leak", "body", &["p1"], "alice")
            .unwrap();
        sim.rename_repo("acme/secret", "acme/vault").unwrap();
        n
    };
    let t = w.tracker();
    // A private repository is 404 without the token: reading it proves the token went along.
    let issue = get(&t, "acme/secret", n).unwrap();
    assert_eq!(issue.title, "Leak");

    // Every kind of write is repeated at the new address, and really happens there.
    update(
        &t,
        "acme/secret",
        n,
        IssueUpdate {
            state: Some(IssueState::Closed),
            add_labels: vec!["ao:done".into()],
            remove_labels: vec!["p1".into()],
            comment: Some("Merged by ao".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let now = get(&t, "acme/vault", n).unwrap();
    assert_eq!(now.state, IssueState::Closed);
    assert_eq!(now.labels, vec!["ao:done"]);
    assert_eq!(now.comments.last().unwrap().body, "Merged by ao");
}

#[test]
fn the_token_never_leaves_for_another_host_and_a_write_sent_there_fails() {
    let w = World::new();
    let n = w
        .sim
        .world()
        .create_issue(REPO, "Title", "body", &[], "alice")
        .unwrap();
    let elsewhere = Receiver::start();
    let t = w.tracker();

    // A read may follow to another host, without the token.
    w.sim
        .world()
        .redirect_next(302, &elsewhere.url(&format!("/issues/{n}")));
    let _ = get(&t, REPO, n);
    let got = elsewhere.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].path, format!("/issues/{n}"));
    assert!(
        !got[0].headers.contains_key("authorization"),
        "{:?}",
        got[0].headers
    );

    // A write is not sent there at all, and is not reported done.
    for status in [301, 307, 308] {
        w.sim
            .world()
            .redirect_next(status, &elsewhere.url(&format!("/issues/{n}")));
        let e = update(
            &t,
            REPO,
            n,
            IssueUpdate {
                state: Some(IssueState::Closed),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("to another host")
                && e.to_string().contains("nothing was changed"),
            "{e}"
        );
    }
    assert_eq!(elsewhere.requests().len(), 1, "only the read went there");
    assert_eq!(get(&t, REPO, n).unwrap().state, IssueState::Open);
}

#[test]
fn enterprise_without_rate_limiting_has_no_limit_and_asking_costs_nothing() {
    let w = World::new();
    w.sim.world().disable_rate_limiting();
    let st = w.scm().rate_limit(&ctx(), ()).unwrap();
    assert!(st.unlimited, "{st:?}");
    assert!(st.rest.is_none() && st.graphql.is_none(), "{st:?}");
    assert_eq!(st.charged_requests, 0, "{st:?}");
    assert_eq!(w.sim.counters().charged, 0);
}

#[test]
fn the_newest_comments_are_read_not_the_oldest() {
    let w = World::new();
    let n = {
        let mut sim = w.sim.world();
        let n = sim
            .create_issue(REPO, "Busy", "body", &[], "alice")
            .unwrap();
        for i in 0..250 {
            sim.comment(REPO, n, "bob", &format!("c{i}")).unwrap();
        }
        n
    };
    w.sim.reset_counters();
    let issue = get(&w.tracker(), REPO, n).unwrap();
    let bodies: Vec<&str> = issue.comments.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies.len(), 100);
    assert_eq!(
        (bodies[0], bodies[99]),
        ("c150", "c249"),
        "oldest first, newest kept"
    );
    // The issue, then the last page and the one before it: not all three pages.
    assert_eq!(w.sim.counters().requests, 3, "{:?}", w.sim.counters());
}

#[test]
fn every_commit_status_of_a_head_is_read_and_unchanged_ticks_stay_free() {
    let w = World::new();
    // Every tick looks at every head's CI, settled or not.
    let scm = ao_plugin_github::GithubScm::new(
        w.config(serde_json::json!({"settledCiRecheckTicks": 1})),
        &w.host.handle(),
    )
    .unwrap();
    let n = w.pr("feat/many");
    let sha = w.sim.world().head_sha(REPO, n).unwrap();
    // 40 statuses; two of them pending, so the combined state is `pending`.
    for i in 0..40 {
        let state = if i == 0 || i == 39 {
            "pending"
        } else {
            "success"
        };
        w.sim
            .world()
            .set_status(REPO, &sha, &format!("lint-{i}"), state, None, None)
            .unwrap();
    }
    let key = PrKey {
        repo: REPO.into(),
        number: n,
    };
    let req = EnrichBatchRequest {
        prs: vec![key.clone()],
        branches: Default::default(),
    };
    let state_of = |r: &ao_plugin_api::slots::scm::EnrichBatchResponse, name: &str| {
        r.prs[&key.key()]
            .ci
            .checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.status)
    };
    let r = scm.enrich_batch(&ctx(), req.clone()).unwrap();
    assert_eq!(r.prs[&key.key()].ci.checks.len(), 40);
    assert_eq!(r.prs[&key.key()].ci.status, CiStatus::Pending);
    // Nothing changed: the REST guards agree with the facts, so no query is spent.
    for _ in 0..2 {
        w.sim.reset_counters();
        scm.enrich_batch(&ctx(), req.clone()).unwrap();
        let c = w.sim.counters();
        assert_eq!((c.charged, c.graphql_queries), (0, 0), "{c:?}");
    }
    // `lint-39`, listed past the first 30, turns green while `lint-0` keeps the combination
    // pending: the first page of 30 is as it was, so only a reader of every status sees it.
    w.sim
        .world()
        .set_status(REPO, &sha, "lint-39", "success", None, None)
        .unwrap();
    let r = scm.enrich_batch(&ctx(), req.clone()).unwrap();
    assert_eq!(state_of(&r, "lint-39"), Some(CheckStatus::Passed));
    // It fails after all: seen.
    w.sim
        .world()
        .set_status(REPO, &sha, "lint-39", "failure", None, None)
        .unwrap();
    let r = scm.enrich_batch(&ctx(), req).unwrap();
    assert_eq!(r.prs[&key.key()].ci.status, CiStatus::Failing);
}

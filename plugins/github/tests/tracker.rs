//! tracker/github against the forge simulator.

mod common;

use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::slots::tracker::*;
use common::*;

fn req(id: &str) -> IssueRequest {
    IssueRequest {
        project: ProjectRef {
            project_id: "app".into(),
            repo: REPO.into(),
        },
        issue_id: id.into(),
    }
}

#[test]
fn issues_are_read_updated_listed_and_created() {
    let w = World::new();
    let n = w
        .sim
        .world()
        .create_issue(
            REPO,
            "Fix login: redirect loop!",
            "Users bounce between /a and /b.",
            &["bug", "p1"],
            "alice",
        )
        .unwrap();
    w.sim
        .world()
        .comment(REPO, n, "bob", "Seen on Safari too.")
        .unwrap();
    let t = w.tracker();

    let issue = t.get_issue(&ctx(), req(&format!("#{n}"))).unwrap();
    assert_eq!(issue.id, n.to_string());
    assert_eq!(issue.title, "Fix login: redirect loop!");
    assert_eq!(issue.body, "Users bounce between /a and /b.");
    assert_eq!(issue.labels, vec!["bug", "p1"]);
    assert_eq!(issue.state, IssueState::Open);
    assert_eq!(issue.url, format!("{}/{REPO}/issues/{n}", w.sim.url()));
    assert_eq!(issue.comments.len(), 1);
    assert_eq!(
        (
            issue.comments[0].author.as_str(),
            issue.comments[0].body.as_str()
        ),
        ("bob", "Seen on Safari too.")
    );

    let branch = t.branch_name(&ctx(), req(&n.to_string())).unwrap().branch;
    assert_eq!(branch, format!("feat/{n}-fix-login-redirect-loop"));
    let url = t.issue_url(&ctx(), req(&n.to_string())).unwrap().url;
    assert_eq!(url, issue.url);
    let prompt = t.prompt_context(&ctx(), req(&n.to_string())).unwrap().text;
    assert!(
        prompt.starts_with(&format!("# Issue #{n}: Fix login: redirect loop!")),
        "{prompt}"
    );
    assert!(
        prompt.contains("Labels: bug, p1") && prompt.contains("**bob**:\nSeen on Safari too."),
        "{prompt}"
    );
    assert!(
        !t.is_completed(&ctx(), req(&n.to_string()))
            .unwrap()
            .completed
    );

    let update = |u: IssueUpdate| {
        t.update_issue(
            &ctx(),
            UpdateIssueRequest {
                project: req("1").project,
                issue_id: n.to_string(),
                update: u,
            },
        )
    };
    update(IssueUpdate {
        add_labels: vec!["ao:working".into()],
        remove_labels: vec!["p1".into(), "never-there".into()],
        comment: Some("Picked up by ao".into()),
        assignee: Some("carol".into()),
        ..Default::default()
    })
    .unwrap();
    let issue = t.get_issue(&ctx(), req(&n.to_string())).unwrap();
    assert_eq!(issue.labels, vec!["bug", "ao:working"]);
    assert_eq!(issue.assignee.as_deref(), Some("carol"));
    assert_eq!(issue.comments.last().unwrap().body, "Picked up by ao");

    update(IssueUpdate {
        state: Some(IssueState::Closed),
        ..Default::default()
    })
    .unwrap();
    assert!(
        t.is_completed(&ctx(), req(&n.to_string()))
            .unwrap()
            .completed
    );
    assert_eq!(
        t.get_issue(&ctx(), req(&n.to_string())).unwrap().state,
        IssueState::Closed
    );
    update(IssueUpdate {
        state: Some(IssueState::Cancelled),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        t.get_issue(&ctx(), req(&n.to_string())).unwrap().state,
        IssueState::Cancelled
    );

    let created = t
        .create_issue(
            &ctx(),
            CreateIssueRequest {
                project: req("1").project,
                title: "Add dark mode".into(),
                body: "Please".into(),
                labels: vec!["feature".into()],
                assignee: None,
            },
        )
        .unwrap();
    assert_eq!(
        (created.title.as_str(), created.labels.clone()),
        ("Add dark mode", vec!["feature".to_string()])
    );
}

#[test]
fn listing_pages_filters_and_skips_pull_requests() {
    let w = World::new();
    for i in 0..130 {
        let labels: &[&str] = if i % 2 == 0 { &["backlog"] } else { &[] };
        w.sim
            .world()
            .create_issue(REPO, &format!("Task {i}"), "", labels, "alice")
            .unwrap();
    }
    let pr = w.pr("feat/x");
    let t = w.tracker();
    let list = |labels: Vec<String>, limit: Option<u32>| {
        t.list_issues(
            &ctx(),
            ListIssuesRequest {
                project: req("1").project,
                filters: IssueFilters {
                    labels,
                    limit,
                    ..Default::default()
                },
            },
        )
        .unwrap()
        .issues
    };
    let all = list(vec![], Some(500));
    assert_eq!(all.len(), 130, "two pages of 100, the PR left out");
    assert!(all.iter().all(|i| i.id != pr.to_string()));
    let backlog = list(vec!["backlog".into()], None);
    assert_eq!(backlog.len(), 65);
    assert!(backlog.iter().all(|i| i.labels == vec!["backlog"]));
    assert_eq!(list(vec![], Some(7)).len(), 7);
    let counters = w.sim.counters();
    assert_eq!(
        counters.by_route.get("GET /repos/{owner}/{repo}/issues"),
        Some(&(2 + 1 + 1))
    );
}

#[test]
fn bad_input_and_github_refusals_read_as_one_line_that_says_what_to_fix() {
    let w = World::new();
    let t = w.tracker();
    let pr = w.pr("feat/y");
    assert_eq!(
        err_text(t.get_issue(&ctx(), req(&pr.to_string()))),
        format!("#{pr} in {REPO} is a pull request, not an issue")
    );
    assert_eq!(
        err_text(t.get_issue(&ctx(), req("ENG-1"))),
        "`ENG-1` is not a GitHub issue: use 42, #42 or its URL"
    );
    let missing = t.get_issue(&ctx(), req("999")).unwrap_err();
    assert!(matches!(missing, SdkError::NotFound(_)), "{missing:?}");
    assert!(
        missing
            .to_string()
            .contains("check the repository (owner/name)"),
        "{missing}"
    );
    let mut bad = req("1");
    bad.project.repo = "acme".into();
    assert_eq!(
        err_text(t.get_issue(&ctx(), bad)),
        "`acme` is not a GitHub repository: write it as owner/name"
    );

    // A token GitHub does not know.
    w.host.set_secret("WRONG", "ghp_nope");
    let wrong = ao_plugin_github::GithubTracker::new(
        w.config(serde_json::json!({"tokenEnv": "WRONG", "timeoutMs": 5000})),
        &w.host.handle(),
    );
    use ao_plugin_api::slots::tracker::Tracker as _;
    let e = wrong.unwrap().get_issue(&ctx(), req("1")).unwrap_err();
    assert!(matches!(e, SdkError::PermissionDenied(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("GitHub rejected the token (401 Bad credentials)"),
        "{e}"
    );

    // A read-only token: writes are refused with the scope to add.
    w.sim.world().create_issue(REPO, "x", "", &[], "a").unwrap();
    w.host.set_secret("READONLY", "ghp_readonly");
    w.sim.world().add_token("ghp_readonly", vec![]);
    let ro = ao_plugin_github::GithubTracker::new(
        w.config(serde_json::json!({"tokenEnv": "READONLY", "timeoutMs": 4000})),
        &w.host.handle(),
    )
    .unwrap();
    let e = ro
        .update_issue(
            &ctx(),
            UpdateIssueRequest {
                project: req("1").project,
                issue_id: "2".into(),
                update: IssueUpdate {
                    comment: Some("hi".into()),
                    ..Default::default()
                },
            },
        )
        .unwrap_err();
    assert!(matches!(e, SdkError::PermissionDenied(_)), "{e:?}");
    assert!(e.to_string().contains("needs the `repo` scope"), "{e}");

    // A server error is "try again", not a verdict.
    w.sim.world().fail_next(1);
    let e = t.get_issue(&ctx(), req("2")).unwrap_err();
    assert!(matches!(e, SdkError::Unavailable(_)), "{e:?}");
    t.get_issue(&ctx(), req("2")).unwrap();

    // http:// to anything but loopback would send the token in clear.
    let e = ao_plugin_github::GithubTracker::new(
        w.config(serde_json::json!({"apiUrl": "http://github.example.com"})),
        &w.host.handle(),
    );
    assert!(e.err().unwrap().to_string().contains("must be https://"));
}

//! The lifecycle end to end, as a user runs it: `ao spawn` and `ao start` against the forge
//! simulator, real git, a real tmux server on a private socket, and the scripted agent following
//! a playbook. The test plays CI and the reviewer on the forge; ao must do the rest: notice the
//! PR, send the CI failure with its log, forward the review comments, merge, clean up.

use crate::engine::*;
use crate::support::*;
use ao_testkit::forge::model::ReviewState;
use std::time::Duration;

#[test]
fn ci_failure_review_merge_and_cleanup_run_by_themselves() {
    runs_by_itself(
        &setup_with(Opts {
            rules: Some(thinking_rules()),
            ..Opts::default()
        }),
        true,
    );
}

/// The standard playbook, with the agent thinking a while before its first push: `ao spawn`
/// returns once the task is delivered and `ao start` follows, and on a loaded machine a task
/// done before the daemon's first poll would skip `session.working`, which this test expects.
fn thinking_rules() -> serde_json::Value {
    let mut rules = standard_rules();
    rules[0]["steps"]
        .as_array_mut()
        .unwrap()
        .insert(0, serde_json::json!({"think": 2500}));
    rules
}

/// The same lifecycle with every session in a Docker container (clone mode: the agent works in
/// a volume seeded from ao's worktree, pushes from inside, and the volume goes with the
/// session once nothing in it is unpushed).
#[test]
fn the_lifecycle_runs_by_itself_in_docker_containers() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    runs_by_itself(
        &setup_with(Opts {
            docker: Some((image, "clone")),
            rules: Some(thinking_rules()),
            ..Opts::default()
        }),
        true,
    );
}

/// The same again with each session's own files inside its container, as on a remote engine:
/// the agent's hooks write there, and ao reads them only through the engine.
#[test]
fn the_lifecycle_runs_by_itself_with_session_files_in_the_containers() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let s = setup_with(Opts {
        docker: Some((image, "clone")),
        session_files: Some("container"),
        rules: Some(thinking_rules()),
        ..Opts::default()
    });
    runs_by_itself(&s, false);
    // Nothing was written to the host's status file: every hook record came through the engine.
    let status = s.sb.home.path().join(".agent-orchestrator");
    let host_status: Vec<_> = walk(&status)
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("status")))
        .collect();
    assert!(host_status.is_empty(), "{host_status:?}");
}

/// The same on Kubernetes: each session a pod on testkit's simulator (its pods are containers),
/// the workspace cloned in the pod from a bundle, everything read and typed through the API.
#[test]
fn the_lifecycle_runs_by_itself_in_kubernetes_pods() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let s = setup_with(Opts {
        k8s: Some(image),
        rules: Some(thinking_rules()),
        ..Opts::default()
    });
    runs_by_itself(&s, false);
    // Every manifest ao sent is valid for the oldest and newest supported Kubernetes.
    let kube = s.kube.as_ref().unwrap();
    for (path, body) in kube.bodies() {
        if let Some(checked) = ao_testkit::kube::validate(&body) {
            checked.unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}

/// The same lifecycle with `runtimeConfig.clone`: each pod's init container clones the
/// repository over HTTP with a token from a Secret (a smart-HTTP git server that refuses
/// anyone without it), the agent pushes with the same token by reference, and no manifest
/// holds the token.
#[test]
fn the_lifecycle_runs_by_itself_in_pods_that_clone_with_a_token() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let token = "glpat-test-0123";
    let (s, git) = cloning_setup(image, token);
    let kube = s.kube.as_ref().unwrap();
    kube.add_secret("agents", "git", &[("token", token)]);
    runs_by_itself(&s, false);
    let seen = git.requests();
    let authorized = |what: &str| seen.iter().any(|(p, ok)| *ok && p.contains(what));
    assert!(
        authorized("git-upload-pack"),
        "no authorized clone: {seen:?}"
    );
    assert!(
        authorized("git-receive-pack"),
        "no authorized push: {seen:?}"
    );
    for (path, body) in kube.bodies() {
        assert!(!body.to_string().contains(token), "{path} holds the token");
        if let Some(checked) = ao_testkit::kube::validate(&body) {
            checked.unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    let pods: Vec<_> = kube
        .bodies()
        .into_iter()
        .filter(|(p, _)| p.ends_with("/pods"))
        .collect();
    assert!(
        pods.iter()
            .all(|(_, b)| b["spec"]["initContainers"][0]["name"] == "clone"),
        "a pod without the clone: {pods:?}"
    );
}

/// A token the server refuses: the spawn fails with the clone's own words, and leaves no pod.
#[test]
fn a_clone_the_server_refuses_fails_the_spawn_with_its_words() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let (s, _git) = cloning_setup(image, "the-right-token");
    let kube = s.kube.as_ref().unwrap();
    kube.add_secret("agents", "git", &[("token", "a-wrong-token")]);
    let out = s.ao().args(["spawn", "1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("could not be cloned"), "{err}");
    assert!(err.contains("could not clone http://127.0.0.1"), "{err}");
    assert!(!err.contains("a-wrong-token"), "{err}");
    let pods = kube
        .bodies()
        .iter()
        .filter(|(p, _)| p.ends_with("/pods"))
        .filter_map(|(_, b)| b["metadata"]["name"].as_str().map(str::to_owned))
        .filter(|n| kube.pod("agents", n).is_some())
        .count();
    assert_eq!(pods, 0, "a pod was left");
}

/// A k8s setup whose pods clone the origin over smart HTTP, which takes `token` (the test puts
/// a token in the Secret `git`); the git server lives as long as the setup.
fn cloning_setup(image: String, token: &str) -> (Setup, ao_testkit::git_http::GitHttp) {
    let s = setup_with(Opts {
        k8s: Some(image),
        rules: Some(thinking_rules()),
        ..Opts::default()
    });
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    let checkout = config["projects"]["app"]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let origin = std::process::Command::new("git")
        .args(["-C", &checkout, "remote", "get-url", "origin"])
        .output()
        .unwrap();
    let origin = std::path::PathBuf::from(String::from_utf8_lossy(&origin.stdout).trim());
    let git =
        ao_testkit::git_http::GitHttp::start(origin.parent().unwrap(), "x-access-token", token);
    let url = format!(
        "{}/{}",
        git.url(),
        origin.file_name().unwrap().to_string_lossy()
    );
    config["projects"]["app"]["runtimeConfig"]["clone"] =
        serde_json::json!({"url": url, "token": {"secret": "git", "key": "token"}});
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    (s, git)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

fn runs_by_itself(s: &Setup, agent_log_on_host: bool) {
    let out = succeed(s.ao().args(["spawn", "1"]));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(stdout.trim(), "SESSION=app-1");
    s.start();

    // The agent opens a PR; CI fails on it with a log.
    let first = wait_new_head(s, "");
    set_check(
        s,
        &first,
        "failure",
        "running greet.sh\nexpected: hello\n     got: helo\nFAILED greet_test\n",
    );
    s.wait_event("ci.failing", 60);
    s.wait_event("ci.fix_sent", 60);

    // The agent pushed a fix; CI passes; a reviewer asks for a change.
    let second = wait_new_head(s, &first);
    set_check(s, &second, "success", "ok\n");
    s.wait_event("review.pending", 60);
    let threads = s
        .sim
        .world()
        .review(
            REPO,
            PR,
            "rita",
            ReviewState::ChangesRequested,
            "One thing.",
            &[("greet.sh", Some(1), "Use printf, echo is not portable")],
        )
        .unwrap();
    s.wait_event("review.comments_sent", 60);

    // The agent addressed it; the reviewer resolves and approves; ao merges and cleans up.
    let third = wait_new_head(s, &second);
    set_check(s, &third, "success", "ok\n");
    {
        let mut w = s.sim.world();
        for t in &threads {
            w.resolve_thread(REPO, *t, true).unwrap();
        }
        w.review(REPO, PR, "rita", ReviewState::Approved, "Thanks!", &[])
            .unwrap();
    }
    s.wait_event("merge.completed", 60);
    assert!(
        wait_until(Duration::from_secs(30), || {
            s.events().iter().any(|e| e["data"]["action"] == "cleanup")
        }),
        "no cleanup: {:?}",
        s.kinds()
    );

    // What the agent was told carries the real payload (its log is on the host unless the
    // session's files lived in its container, which is gone now).
    if agent_log_on_host {
        let said = s.conversation();
        assert!(said.contains("Work on issue #1"), "{said}");
        assert!(
            said.contains("got: helo") && said.contains("- test — failure"),
            "{said}"
        );
        assert!(
            said.contains("greet.sh:1 (@rita)") && said.contains("Use printf"),
            "{said}"
        );
    }

    // Exactly what happened, in order: every transition once, nothing spurious.
    let kinds = s.kinds();
    assert_eq!(
        kinds,
        [
            "session.spawned",
            "session.working",
            "pr.created",
            "ci.failing",
            "ci.fix_sent",
            "pr.updated",
            "ci.passing",
            "review.pending",
            "review.changes_requested",
            "review.comments_sent",
            "pr.updated",
            "merge.ready",
            "merge.completed",
            "pr.merged",
            "reaction.triggered",
            "summary.all_complete",
        ]
    );
    // `ao status` shows the session as cleaned up.
    let status = succeed(s.ao().args(["status", "--json", "--include-terminated"]));
    let v = stdout_json(&status);
    assert_eq!(v["data"][0]["status"], "cleanup", "{v}");
}

#[test]
fn ao_start_runs_one_orchestrator_in_the_checkout_and_stop_leaves_the_checkout_alone() {
    let s = setup_with(Opts {
        rules: Some(serde_json::json!([])),
        ..Opts::default()
    });
    let out = succeed(s.ao().arg("start"));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("started the orchestrator app-orchestrator (scripted)"),
        "{stderr}"
    );
    let v = stdout_json(&succeed(s.ao().args(["status", "--json"])));
    let orch: Vec<&serde_json::Value> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["role"] == "orchestrator")
        .collect();
    assert_eq!(orch.len(), 1, "{v}");
    assert_eq!(orch[0]["id"], "app-orchestrator");
    let checkout = orch[0]["workspacePath"].as_str().unwrap().to_string();
    assert!(checkout.ends_with("/app"), "{checkout}");

    // Its prompt says what it is for; it takes messages.
    let data = s.sb.home.path().join(".agent-orchestrator");
    let store = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .find(|p| p.join("prompts").is_dir())
        .unwrap();
    let prompt = std::fs::read_to_string(store.join("prompts/app-orchestrator.md")).unwrap();
    assert!(
        prompt.contains("You are the orchestrator") && prompt.contains("ao batch-spawn"),
        "{prompt}"
    );
    succeed(
        s.ao()
            .args(["send", "app-orchestrator", "Work on issue 1, please"]),
    );
    assert!(s.conversation().contains("Work on issue 1, please"));

    // A second start keeps it.
    let out = succeed(s.ao().arg("start"));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("the orchestrator app-orchestrator is running"),
        "{stderr}"
    );

    // Stopping everything ends it and never touches the checkout it ran in.
    succeed(s.ao().args(["stop", "--kill-sessions"]));
    assert!(std::path::Path::new(&checkout).join("greet.sh").is_file());
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    assert_eq!(v["data"][0]["status"], "terminated", "{v}");
}

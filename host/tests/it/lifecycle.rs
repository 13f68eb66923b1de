//! The lifecycle end to end, as a user runs it: `ao spawn` and `ao start` against the forge
//! simulator, real git, a real tmux server on a private socket, and the scripted agent following
//! a playbook. The test plays CI and the reviewer on the forge; ao must do the rest: notice the
//! PR, send the CI failure with its log, forward the review comments, merge, clean up.

use crate::support::*;
use ao_testkit::forge::model::{Protection, ReviewState, RunStatus};
use ao_testkit::forge::{ForgeSim, TOKEN};
use ao_testkit::git::git;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const REPO: &str = "acme/app";
/// Issues and PRs share numbers, as on GitHub: issue #1, then the agent's PR #2.
const PR: u64 = 2;

struct Setup {
    sb: Sandbox,
    sim: ForgeSim,
    /// Holds the checkout, the playbook and the config until the test ends.
    _dir: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
}

fn commit_cmd(msg: &str) -> Value {
    json!({"run": ["git", "-c", "user.name=Agent", "-c", "user.email=agent@example.invalid", "commit", "-qam", msg]})
}

fn setup() -> Setup {
    let sb = Sandbox::new().with_libs(&[RUNTIME_TMUX, WORKTREE, GITHUB, SCRIPTED, WEBHOOK]);
    let sim = ForgeSim::start();
    let bare = sim.repo(REPO);
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("app");
    git(dir.path(), &["clone", "-q", bare.to_str().unwrap(), "app"]);
    git(&checkout, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(checkout.join("greet.sh"), "# says hello\n").unwrap();
    git(&checkout, &["add", "greet.sh"]);
    git(
        &checkout,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-qm",
            "init",
        ],
    );
    git(&checkout, &["push", "-q", "origin", "main"]);
    {
        let mut w = sim.world();
        w.create_issue(
            REPO,
            "Add a greeting",
            "greet.sh should say hello",
            &[],
            "maintainer",
        )
        .unwrap();
        w.checks_on_push(REPO, &["test"]).unwrap();
        w.protect(
            REPO,
            "main",
            Protection {
                required_checks: vec!["test".into()],
                strict: false,
                required_approvals: 1,
            },
        )
        .unwrap();
    }
    let playbook = json!({
        "forge": {"url": sim.url(), "repo": REPO, "token": TOKEN},
        "rules": [
            {"when": "Work on issue #1", "steps": [
                {"write": {"path": "greet.sh", "content": "echo helo\n"}},
                commit_cmd("Add a greeting"),
                {"run": ["git", "push", "-q", "origin", "HEAD"]},
                {"open_pr": {"title": "Add a greeting", "body": "Closes #1"}}
            ]},
            {"when": "CI failed", "steps": [
                {"write": {"path": "greet.sh", "content": "echo hello\n"}},
                commit_cmd("Fix the typo"),
                {"run": ["git", "push", "-q", "origin", "HEAD"]}
            ]},
            {"when": "Unresolved review comments", "steps": [
                {"write": {"path": "greet.sh", "content": "printf 'hello\\n'\n"}},
                commit_cmd("Use printf"),
                {"run": ["git", "push", "-q", "origin", "HEAD"]}
            ]}
        ]
    });
    let script = dir.path().join("playbook.json");
    std::fs::write(&script, playbook.to_string()).unwrap();
    let socket = dir.path().join("tmux.sock");
    let receiver_dir = dir.path().join("notifications");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let forge = json!({"plugin": "github", "apiUrl": sim.url(), "tokenEnv": "FORGE_TOKEN"});
    let config = json!({
        "port": 0,
        "pollInterval": "1s",
        "defaults": {"notifiers": []},
        "projects": {"app": {
            "path": checkout,
            "repo": REPO,
            "agent": "scripted",
            "agentConfig": {"script": script, "workMs": 50},
            "runtimeConfig": {"socket": socket},
            "tracker": forge,
            "scm": forge,
            "reactions": {"approved-and-green": {"auto": true, "action": "auto-merge"}}
        }}
    });
    let file = dir.path().join("agent-orchestrator.yaml");
    // YAML is a superset of JSON.
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    Setup {
        sb,
        sim,
        _dir: dir,
        config: file,
        socket,
    }
}

impl Setup {
    fn ao(&self) -> assert_cmd::Command {
        let mut c = self.sb.ao();
        c.env("FORGE_TOKEN", TOKEN)
            .arg("--config")
            .arg(&self.config);
        c
    }

    fn events(&self) -> Vec<Value> {
        let data = self.sb.home.path().join(".agent-orchestrator");
        let mut out = Vec::new();
        for d in std::fs::read_dir(&data).unwrap().flatten() {
            let f = d.path().join("events.jsonl");
            if let Ok(t) = std::fs::read_to_string(&f) {
                out.extend(
                    t.lines()
                        .filter_map(|l| serde_json::from_str::<Value>(l).ok()),
                );
            }
        }
        out
    }

    fn kinds(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn wait_event(&self, kind: &str, secs: u64) {
        let ok = wait_until(Duration::from_secs(secs), || {
            self.kinds().iter().any(|k| k == kind)
        });
        assert!(ok, "no {kind} within {secs}s; events: {:?}", self.kinds());
    }

    fn head(&self) -> Option<String> {
        self.sim.world().head_sha(REPO, PR).ok()
    }

    fn conversation(&self) -> String {
        let data = self.sb.home.path().join(".agent-orchestrator");
        let mut text = String::new();
        for d in std::fs::read_dir(&data).unwrap().flatten() {
            let status = d.path().join("status");
            for f in std::fs::read_dir(&status).into_iter().flatten().flatten() {
                if f.file_name()
                    .to_string_lossy()
                    .ends_with(".conversation.jsonl")
                {
                    text.push_str(&std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
        text
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.ao().args(["stop", "--kill-sessions"]).output();
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn set_check(s: &Setup, sha: &str, conclusion: &str, log: &str) {
    s.sim
        .world()
        .set_check(
            REPO,
            sha,
            "test",
            RunStatus::Completed,
            Some(conclusion),
            Some(log),
        )
        .unwrap();
}

fn wait_new_head(s: &Setup, old: &str) -> String {
    let mut head = String::new();
    let ok = wait_until(Duration::from_secs(60), || {
        head = s.head().unwrap_or_default();
        !head.is_empty() && head != old
    });
    assert!(
        ok,
        "the agent never pushed past {old}; events: {:?}",
        s.kinds()
    );
    head
}

#[test]
fn ci_failure_review_merge_and_cleanup_run_by_themselves() {
    let s = setup();
    let out = succeed(s.ao().args(["spawn", "1"]));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(stdout.trim(), "SESSION=app-1");
    succeed(s.ao().arg("start"));

    // The agent opens a PR; CI fails on it with a log.
    let first = wait_new_head(&s, "");
    set_check(
        &s,
        &first,
        "failure",
        "running greet.sh\nexpected: hello\n     got: helo\nFAILED greet_test\n",
    );
    s.wait_event("ci.failing", 60);
    s.wait_event("ci.fix_sent", 60);

    // The agent pushed a fix; CI passes; a reviewer asks for a change.
    let second = wait_new_head(&s, &first);
    set_check(&s, &second, "success", "ok\n");
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
    let third = wait_new_head(&s, &second);
    set_check(&s, &third, "success", "ok\n");
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

    // What the agent was told carries the real payload.
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

//! `ao demo`, run as a user runs it: the whole scenario must play out by itself, in order, in
//! under two minutes, and leave its data for `ao status`.

use crate::support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn the_demo_plays_the_whole_lifecycle_offline() {
    let sb = Sandbox::new().with_libs(&[RUNTIME_TMUX, WORKTREE, GITHUB, SCRIPTED, WEBHOOK]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let started = Instant::now();
    let out = sb
        .ao()
        .args(["demo", "--dir"])
        .arg(&dir)
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(took < Duration::from_secs(120), "took {took:?}\n{stdout}");
    let dir = dir.canonicalize().unwrap();

    // Every event, per session, exactly and in order.
    let data = sb.home.path().join(".agent-orchestrator");
    let store = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .find(|p| p.join("events.jsonl").is_file())
        .expect("a project store with events");
    let events = lines(&store.join("events.jsonl"));
    let of = |id: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["session"] == id)
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        of("gre-1"),
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
            "ci.passing",
            "merge.ready",
            "merge.completed",
            "pr.merged",
            "reaction.triggered",
        ],
        "{stdout}"
    );
    assert_eq!(
        of("gre-2"),
        [
            "session.spawned",
            "session.working",
            "session.needs_input",
            "reaction.triggered",
        ],
        "{stdout}"
    );

    // Every status each session went through, as the timeline printed them.
    let statuses = |id: &str| -> Vec<String> {
        let mut out = Vec::new();
        for l in stdout.lines() {
            let mut w = l.split_whitespace();
            let (_, who, tag) = (w.next(), w.next(), w.next());
            if who != Some(id) || tag != Some("status") {
                continue;
            }
            let rest: Vec<&str> = w.collect();
            // `spawning  (why)` or `a → b  (why)`
            let st = match rest.iter().position(|t| *t == "→") {
                Some(i) => rest[i + 1],
                None => rest[0],
            };
            out.push(st.to_string());
        }
        out
    };
    assert_eq!(
        statuses("gre-1"),
        [
            "spawning",
            "working",
            "pr_open",
            "ci_failed",
            "pr_open",
            "review_pending",
            "changes_requested",
            "mergeable",
            "merged",
            "cleanup",
        ],
        "{stdout}"
    );
    assert_eq!(
        statuses("gre-2"),
        ["spawning", "working", "needs_input"],
        "{stdout}"
    );
    assert!(
        stdout.contains("gre-2: stopped"),
        "the waiting agent is stopped with the demo: {stdout}"
    );

    // The human heard of the question (with the question) and of the merge, once each.
    let notes = lines(&dir.join("notifications.jsonl"));
    let kinds: Vec<(&str, &str)> = notes
        .iter()
        .map(|n| {
            (
                n["event"]["sessionId"].as_str().unwrap_or(""),
                n["event"]["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("gre-2", "session.needs_input"), ("gre-1", "pr.merged")],
        "{notes:?}"
    );
    assert!(
        notes[0]["event"]["message"]
            .as_str()
            .unwrap()
            .contains("Which languages should the greeting support"),
        "{notes:?}"
    );

    // What each agent was told reached it: the task, the CI log, the review comment.
    let mut told = String::new();
    for f in std::fs::read_dir(store.join("status")).unwrap().flatten() {
        if f.file_name()
            .to_string_lossy()
            .ends_with(".conversation.jsonl")
        {
            told.push_str(&std::fs::read_to_string(f.path()).unwrap());
        }
    }
    assert!(
        told.contains("Work on issue #1") && told.contains("Work on issue #2"),
        "{told}"
    );
    assert!(
        told.contains("got: helo") && told.contains("FAILED greet_test"),
        "the CI failure went back with its log: {told}"
    );
    assert!(
        told.contains("greet.sh:3 (@rita)") && told.contains("Use printf"),
        "the review comment went back with its place: {told}"
    );

    // The data stays for `ao status`.
    let config = dir.join("agent-orchestrator.yaml");
    let status = succeed(sb.ao().arg("--config").arg(&config).args([
        "status",
        "--json",
        "--include-terminated",
    ]));
    let v = stdout_json(&status);
    let got: Vec<(&str, &str)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("gre-1", "cleanup"), ("gre-2", "terminated")], "{v}");
}

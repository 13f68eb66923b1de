//! A spawn is done when the agent is up: an agent that exits at launch fails `ao spawn` with
//! the CLI's own words and leaves nothing behind; one that dies later carries its last words
//! in its `killed` reason, in `ao status` and in the notification.

use crate::engine::*;
use crate::faults::{status_of, tmux, wait_status};
use crate::support::*;
use ao_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::time::Duration;

fn git_out(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The project's checkout, from the config the setup wrote.
fn checkout(s: &Setup) -> std::path::PathBuf {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    config["projects"]["app"]["path"].as_str().unwrap().into()
}

fn set_extra_args(s: &Setup, args: Value) {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    config["projects"]["app"]["agentConfig"]["extraArgs"] = args;
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
}

/// Files under the data dir that belong to a session (metadata, prompt, status file).
pub(crate) fn session_files(s: &Setup) -> Vec<String> {
    let data = s.sb.home.path().join(".agent-orchestrator");
    let mut out = Vec::new();
    let mut todo = vec![data];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().contains("app-1") {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn an_agent_that_exits_at_launch_fails_the_spawn_with_its_words_and_leaves_nothing() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    // The agent's own argument parser refuses a flag and exits 2, as a CLI does.
    set_extra_args(&s, json!(["--frobnicate"]));
    let repo = checkout(&s);
    let branches_before = git_out(&repo, &["branch", "--list", "--format=%(refname:short)"]);

    let out = s.ao().args(["spawn", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "spawn succeeded: {stderr}");
    assert!(
        stderr.contains("the `scripted` agent did not start: the agent exited with status 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("│ ao-scripted-agent: unknown flag --frobnicate"),
        "the CLI's own words are not in the error: {stderr}"
    );
    assert!(out.stdout.is_empty(), "no SESSION= line for a failed spawn");

    // Nothing is left: worktree, branch, runtime session, metadata, prompt, status file.
    let worktrees = git_out(&repo, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees.matches("worktree ").count(),
        1,
        "a worktree was left: {worktrees}"
    );
    assert_eq!(
        git_out(&repo, &["branch", "--list", "--format=%(refname:short)"]),
        branches_before,
        "the spawn's branch was left behind"
    );
    assert_eq!(tmux(&s, &["list-sessions", "-F", "#{session_name}"]), "");
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    assert_eq!(v["data"], json!([]), "{v}");
    assert_eq!(session_files(&s), Vec::<String>::new());

    // The id was released too: the next spawn, with the flag gone, is app-1 again.
    set_extra_args(&s, json!([]));
    let ok = succeed(s.ao().args(["spawn", "1"]));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("SESSION=app-1"));
    tmux(&s, &["kill-server"]);
}

#[test]
fn a_branch_that_existed_before_a_failed_spawn_is_kept() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    set_extra_args(&s, json!(["--frobnicate"]));
    let repo = checkout(&s);
    git_out(&repo, &["branch", "mine"]);
    let out = s
        .ao()
        .args(["spawn", "--branch", "mine", "--prompt", "go"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let branches = git_out(&repo, &["branch", "--list", "--format=%(refname:short)"]);
    assert!(branches.lines().any(|b| b == "mine"), "{branches}");
}

#[test]
fn a_session_that_dies_later_carries_its_last_lines_in_the_killed_reason() {
    let inbox = Receiver::start();
    let s = setup_with(Opts {
        rules: Some(json!([
            {"when": "shut down", "steps": [{"crash": "fatal: the gateway refused the key (401)"}]}
        ])),
        notify: Some(inbox.url("/inbox")),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    succeed(s.ao().args(["send", "app-1", "please shut down"]));
    s.wait_event("session.killed", 30);
    let want = "fatal: the gateway refused the key (401)";
    assert_eq!(status_of(&s, "app-1"), "killed");
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    let reason = v["data"][0]["statusReason"].as_str().unwrap_or_default();
    // The exit status is the runtime's to give (tmux does not always have it yet); the
    // agent's own words are what the human acts on.
    assert!(
        reason.starts_with("the agent exited")
            && reason.ends_with(&format!(": {want:?} (seen on 2 probes)")),
        "{v}"
    );
    let last = v["data"][0]["lastLines"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(last.last(), Some(&json!(want)), "{v}");
    let text = succeed(s.ao().args(["status", "--include-terminated"]));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(want),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let told = wait_until(Duration::from_secs(15), || {
        inbox.requests().iter().any(|r| {
            let v = r.json();
            v["event"]["type"] == "session.killed"
                && v["event"]["message"].as_str().unwrap_or("").contains(want)
        })
    });
    assert!(told, "the notification lacks the agent's last words");
    tmux(&s, &["kill-server"]);
}

#[test]
fn a_tmux_socket_in_a_missing_directory_fails_the_spawn_and_leaves_nothing() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    let missing = s.socket.parent().unwrap().join("missing/tmux.sock");
    config["projects"]["app"]["runtimeConfig"]["socket"] = json!(missing);
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let repo = checkout(&s);
    let before = git_out(&repo, &["branch", "--list", "--format=%(refname:short)"]);
    let out = s.ao().args(["spawn", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the tmux socket's directory") && stderr.contains("missing"),
        "{stderr}"
    );
    assert_eq!(
        git_out(&repo, &["branch", "--list", "--format=%(refname:short)"]),
        before
    );
    assert_eq!(session_files(&s), Vec::<String>::new());
}

/// `--config agent-orchestrator.yaml` (a bare file name, run from its directory) finds the
/// same store as the absolute path: every project once got the hash of an empty string.
#[test]
fn a_config_named_by_a_bare_file_name_finds_its_sessions() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "--prompt", "hi"]));
    let dir = s.config.parent().unwrap().to_path_buf();
    let name = s.config.file_name().unwrap().to_string_lossy().into_owned();
    let out = succeed(
        s.sb.ao()
            .current_dir(&dir)
            .args(["--config", &name, "status", "--json"]),
    );
    let v = stdout_json(&out);
    assert_eq!(v["data"][0]["id"], "app-1", "{v}");
    tmux(&s, &["kill-server"]);
}

/// The data dir holds prompts with private issue text: owner-only, an older 0755 one
/// tightened; the daemon's log and the event log are owner-only too.
#[test]
fn the_data_dir_and_the_logs_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    let data = s.sb.home.path().join(".agent-orchestrator");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut files = Vec::new();
    let mut todo = vec![data.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // Worktrees are the project's; the scripted agent's own log is the agent's.
            if name == "worktrees" || name.ends_with(".conversation.jsonl") {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else if name.ends_with(".log") || name.ends_with(".jsonl") || name.ends_with(".md") {
                files.push(p);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("events.jsonl"))
    );
    for f in &files {
        assert_eq!(mode(f) & 0o077, 0, "{} is {:o}", f.display(), mode(f));
    }
    tmux(&s, &["kill-server"]);
}

/// A worker's branch is its own: a ref path or the project's default branch is refused before
/// anything is made.
#[test]
fn a_ref_or_the_default_branch_is_refused_as_a_session_branch() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    for (branch, says) in [("refs/heads/main", "not a ref"), ("main", "default branch")] {
        let out = s
            .ao()
            .args(["spawn", "--branch", branch, "--prompt", "hi"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{branch}: {err}"
        );
    }
    assert_eq!(session_files(&s), Vec::<String>::new());
}

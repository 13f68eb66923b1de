//! A spawn stopped half-way leaves nothing behind. Ctrl-C or SIGTERM: the step in flight
//! finishes, then everything is undone before `ao` exits (130/143). SIGKILL: the spawn's
//! journal lets the next `ao` command, or the daemon, undo it.

use crate::engine::*;
use crate::faults::tmux;
use crate::support::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `ao <args>` started in the background with the setup's environment.
pub(crate) fn ao_child(s: &Setup, args: &[&str]) -> Child {
    s.command(ao_exe())
        .arg("--config")
        .arg(&s.config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits (bounded) for `child` and returns its exit code and stderr.
pub(crate) fn finish(mut child: Child) -> (Option<i32>, String) {
    let done = wait_until(Duration::from_secs(60), || {
        child.try_wait().unwrap().is_some()
    });
    if !done {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        done,
        "ao did not exit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn set_project(s: &Setup, key: &str, value: Value) {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    config["projects"]["app"][key] = value;
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
}

pub(crate) fn checkout(s: &Setup) -> PathBuf {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    config["projects"]["app"]["path"].as_str().unwrap().into()
}

pub(crate) fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn try_store(s: &Setup) -> Option<PathBuf> {
    let data = s.sb.home.path().join(".agent-orchestrator");
    std::fs::read_dir(&data)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-app"))
}

/// Waits for app-1's worktree to exist, and returns its path.
fn wait_for_worktree(s: &Setup) -> PathBuf {
    let mut found = None;
    let seen = wait_until(Duration::from_secs(30), || {
        found = try_store(s)
            .map(|d| d.join("worktrees/app-1"))
            .filter(|w| w.is_dir());
        found.is_some()
    });
    assert!(seen, "the spawn never made its worktree");
    found.unwrap()
}

pub(crate) fn tmux_sessions(s: &Setup) -> String {
    tmux(s, &["list-sessions", "-F", "#{session_name}"])
}

/// Everything a spawn of app-1 can leave: worktrees, branches, runtime sessions, files.
fn leftovers(s: &Setup) -> Vec<String> {
    let mut out = Vec::new();
    let repo = checkout(s);
    let worktrees = git(&repo, &["worktree", "list", "--porcelain"]);
    if worktrees.matches("worktree ").count() != 1 {
        out.push(format!("worktrees: {worktrees}"));
    }
    let branches = git(&repo, &["branch", "--list", "--format=%(refname:short)"]);
    if branches.trim() != "main" {
        out.push(format!("branches: {branches}"));
    }
    let sessions = tmux_sessions(s);
    if !sessions.trim().is_empty() {
        out.push(format!("tmux: {sessions}"));
    }
    out.extend(crate::launch::session_files(s));
    out
}

/// Starts `ao spawn` whose agent takes 30 s to boot and waits until its tmux session exists:
/// the spawn is then waiting for the agent's first sign of life.
fn spawn_waiting_for_the_agent(s: &Setup) -> Child {
    set_project(
        s,
        "agentConfig",
        json!({"script": s.config.with_file_name("playbook.json"), "workMs": 50,
               "extraArgs": ["--boot-ms", "30000"]}),
    );
    let child = ao_child(s, &["spawn", "--prompt", "go"]);
    assert!(
        wait_until(Duration::from_secs(30), || !tmux_sessions(s)
            .trim()
            .is_empty()),
        "the spawn never started its runtime session"
    );
    child
}

fn interrupt_while_the_agent_boots(sig: &str, code: i32) {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    let child = spawn_waiting_for_the_agent(&s);
    assert!(!leftovers(&s).is_empty(), "nothing was made yet");
    signal(&child, sig);
    let (got, stderr) = finish(child);
    assert_eq!(got, Some(code), "{stderr}");
    assert!(
        stderr.contains("interrupted: undoing what was made")
            && stderr.contains("spawn interrupted: nothing was left behind"),
        "{stderr}"
    );
    assert_eq!(leftovers(&s), Vec::<String>::new());
    // Nothing for the next command to find either.
    let out = succeed(s.ao().args(["session", "cleanup"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "nothing to clean up"
    );
}

#[test]
fn ctrl_c_while_the_agent_boots_undoes_the_spawn() {
    interrupt_while_the_agent_boots("INT", 130);
}

#[test]
fn sigterm_while_the_agent_boots_undoes_the_spawn() {
    interrupt_while_the_agent_boots("TERM", 143);
}

#[test]
fn ctrl_c_during_workspace_setup_lets_the_step_finish_then_undoes_it() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    // A slow post-create step: the worktree exists while it runs.
    set_project(&s, "postCreate", json!([["sleep", "2"]]));
    let child = ao_child(&s, &["spawn", "--prompt", "go"]);
    wait_for_worktree(&s);
    signal(&child, "INT");
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    // The agent was never started, and what the step made (worktree, branch) is gone.
    assert_eq!(leftovers(&s), Vec::<String>::new());
}

#[test]
fn a_spawn_killed_outright_is_undone_by_the_next_ao_command() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    let child = spawn_waiting_for_the_agent(&s);
    signal(&child, "KILL");
    let (code, _) = finish(child);
    assert_eq!(code, None, "killed by a signal");
    // Half made: a session record, a worktree, a branch and an agent that never got its task.
    let half = leftovers(&s);
    assert!(half.iter().any(|l| l.starts_with("tmux:")), "{half:?}");
    assert!(half.iter().any(|l| l.starts_with("branches:")), "{half:?}");

    // A dry run says so and changes nothing.
    let dry = succeed(s.ao().args(["session", "cleanup", "--dry-run"]));
    let said = String::from_utf8_lossy(&dry.stderr);
    assert!(
        said.contains("app-1: would undo an interrupted spawn"),
        "{said}"
    );
    assert_eq!(leftovers(&s), half);

    let out = succeed(s.ao().args(["session", "cleanup"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("app-1: undid an interrupted spawn ("))
        .unwrap_or_else(|| panic!("{stderr}"));
    for what in [
        "stopped runtime session",
        "removed workspace",
        "released session id app-1",
    ] {
        assert!(line.contains(what), "{line}");
    }
    assert!(!stderr.contains("nothing to clean up"), "{stderr}");
    assert_eq!(leftovers(&s), Vec::<String>::new());
    let again = succeed(s.ao().args(["session", "cleanup"]));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        "nothing to clean up"
    );
}

#[test]
fn the_daemon_undoes_a_spawn_killed_while_making_its_workspace_and_says_what_it_kept() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    set_project(&s, "postCreate", json!([["sleep", "5"]]));
    s.start();
    let child = ao_child(&s, &["spawn", "--prompt", "go"]);
    let worktree = wait_for_worktree(&s);
    signal(&child, "KILL");
    finish(child);
    // No command is run: the daemon's next tick finds the journal and undoes it.
    assert!(
        wait_until(Duration::from_secs(30), || !worktree.exists()),
        "the daemon did not undo the spawn: {}",
        s.daemon_log()
    );
    assert!(
        wait_until(Duration::from_secs(10), || s
            .daemon_log()
            .contains("app-1: undid an interrupted spawn")),
        "{}",
        s.daemon_log()
    );
    // Killed inside the workspace step, it cannot be known whether the branch was new: it is
    // kept, and the user is told how to remove it.
    let log = s.daemon_log();
    assert!(
        log.contains("branch `session/app-1` kept") && log.contains("git branch -D session/app-1"),
        "{log}"
    );
    let left = leftovers(&s);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("branches:"), "{left:?}");
    succeed(s.ao().args(["stop"]));
}

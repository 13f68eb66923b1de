//! Runtime sessions no live session owns (a killed agent's dead pane, one a crash left with no
//! session file): `ao doctor` names them, `ao session cleanup` stops them and keeps live ones,
//! and `ao stop --kill-sessions` leaves nothing on the tmux server.

use crate::engine::*;
use crate::faults::{tmux, wait_status};
use crate::support::*;
use serde_json::{Value, json};

fn runtime_names(s: &Setup) -> Vec<String> {
    let mut names: Vec<String> = tmux(s, &["list-sessions", "-F", "#{session_name}"])
        .lines()
        .map(String::from)
        .filter(|l| !l.is_empty())
        .collect();
    names.sort();
    names
}

/// SIGKILLs a session's agent and waits until the engine reads it as killed (its pane stays).
fn kill_agent(s: &Setup, prefix: &str, id: &str) {
    let target = format!("={prefix}{id}:");
    let pid = tmux(s, &["display-message", "-p", "-t", &target, "#{pane_pid}"]);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    wait_status(s, id, &["killed"]);
}

fn doctor_line(s: &Setup) -> Value {
    let out = s.ao().args(["doctor", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "runtime sessions")
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn leftover_runtime_sessions_are_reported_cleaned_up_and_gone_after_stop_kill_sessions() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "--prompt", "one"]));
    succeed(s.ao().args(["spawn", "--prompt", "two"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    let names = runtime_names(&s);
    assert_eq!(names.len(), 2, "{names:?}");
    let prefix = names[0].trim_end_matches("app-1").to_string();
    assert_eq!(doctor_line(&s)["level"], "ok", "{}", doctor_line(&s));

    // app-1's agent dies (its dead pane stays); a crash left a session with no file at all.
    kill_agent(&s, &prefix, "app-1");
    let orphan = format!("{prefix}app-9");
    tmux(&s, &["new-session", "-d", "-s", &orphan, "sleep", "600"]);
    // Someone else's session on the same server is never ao's business.
    tmux(&s, &["new-session", "-d", "-s", "mine", "sleep", "600"]);

    let d = doctor_line(&s);
    assert_eq!(d["level"], "warn", "{d}");
    let detail = d["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{prefix}app-1 (agent gone)")),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("{orphan} (agent running)")),
        "{detail}"
    );
    assert!(
        !detail.contains("app-2") && !detail.contains("mine"),
        "{detail}"
    );

    let dry = succeed(s.ao().args(["session", "cleanup", "--dry-run"]));
    assert!(
        String::from_utf8_lossy(&dry.stderr)
            .contains(&format!("{orphan} (agent running): would stop"))
    );
    assert!(runtime_names(&s).contains(&orphan));
    succeed(s.ao().args(["session", "cleanup"]));
    assert_eq!(
        runtime_names(&s),
        vec![format!("{prefix}app-2"), "mine".to_string()],
        "cleanup must stop the leftovers and nothing live"
    );
    assert_eq!(doctor_line(&s)["level"], "ok");

    // A killed agent's pane is left again, then stop --kill-sessions leaves nothing of ao's.
    kill_agent(&s, &prefix, "app-2");
    succeed(s.ao().args(["stop", "--kill-sessions"]));
    assert_eq!(runtime_names(&s), vec!["mine".to_string()]);
    tmux(&s, &["kill-server"]);
}

//! The daemon follows its config file: a project added is polled within a poll, a change takes
//! effect without a restart, and an edit that cannot run keeps the running config, said in the
//! log, in `ao status` and to a human once.

use crate::engine::*;
use crate::faults::{notified, status_of, tmux, wait_status};
use crate::support::*;
use ao_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::time::Duration;

fn config(s: &Setup) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap()
}

fn write(s: &Setup, v: &Value) {
    std::fs::write(&s.config, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// Messages of the events of `kind`.
fn messages(s: &Setup, kind: &str) -> Vec<String> {
    s.events()
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits for the daemon's `config.reloaded` event saying `what`.
fn wait_reloaded(s: &Setup, what: &str) {
    let seen = wait_until(Duration::from_secs(10), || {
        messages(s, "config.reloaded")
            .iter()
            .any(|m| m.contains(what))
    });
    assert!(seen, "no reload saying {what:?}; log: {}", s.daemon_log());
}

#[test]
fn a_project_added_to_the_config_is_polled_by_the_running_daemon() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    s.start();
    // A second checkout, added while the daemon runs.
    let dir = tempfile::tempdir().unwrap();
    let mut v = config(&s);
    let first = v["projects"]["app"]["path"].as_str().unwrap().to_string();
    let two = dir.path().join("two");
    let ok = std::process::Command::new("git")
        .args(["clone", "-q", &first])
        .arg(&two)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut project = v["projects"]["app"].clone();
    project["path"] = json!(two);
    project["sessionPrefix"] = json!("two");
    for key in ["repo", "tracker", "scm", "reactions"] {
        project.as_object_mut().unwrap().remove(key);
    }
    v["projects"]["two"] = project;
    write(&s, &v);
    wait_reloaded(&s, "added two");
    let out = succeed(
        s.ao()
            .args(["spawn", "--project", "two", "--prompt", "say hi"]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SESSION=two-1"));
    // The poller that the reload started takes it out of `spawning` within a poll (1 s).
    wait_status(&s, "two-1", &["working", "idle"]);

    // Removed again: the reload says so, and the daemon goes on.
    v["projects"].as_object_mut().unwrap().remove("two");
    write(&s, &v);
    wait_reloaded(&s, "removed two");
    tmux(&s, &["kill-server"]);
}

#[test]
fn an_invalid_edit_keeps_the_daemon_on_the_old_config_and_says_so_once() {
    let inbox = Receiver::start();
    let s = setup_with(Opts {
        rules: Some(json!([])),
        notify: Some(inbox.url("/inbox")),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    let good = std::fs::read_to_string(&s.config).unwrap();

    // A typo in a key: the file cannot run.
    let mut v = config(&s);
    v["projects"]["app"]["agnet"] = json!("scripted");
    write(&s, &v);
    let invalid = || {
        notified(&inbox)
            .iter()
            .filter(|(kind, _)| kind == "config.invalid")
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(10), || invalid() == 1),
        "nobody was told; events: {:?}",
        s.kinds()
    );
    let told = messages(&s, "config.invalid");
    assert!(told[0].contains("agnet"), "{told:?}");
    assert!(
        told[0].contains("previous config keeps running"),
        "{told:?}"
    );

    // `ao status` still shows the fleet, from the config that runs, with a warning line.
    let out = s.ao().args(["status"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("keeps running the previous config") && stderr.contains("agnet"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("app-1"));

    // The engine still runs on the old config: an agent's death is seen.
    let pid = tmux(&s, &["list-panes", "-a", "-F", "#{pane_pid}"]);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    wait_status(&s, "app-1", &["killed"]);

    // The same problem saved again is not news; a fix is taken and clears the warning.
    std::fs::write(
        &s.config,
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap()),
    )
    .unwrap();
    // The watcher logs each refusal: once it logged the second, it is done with it.
    assert!(
        wait_until(Duration::from_secs(10), || s
            .daemon_log()
            .matches("keeping the running config")
            .count()
            >= 2),
        "the second save was not looked at; log: {}",
        s.daemon_log()
    );
    assert_eq!(invalid(), 1, "told twice");
    let mut fixed: Value = serde_json::from_str(&good).unwrap();
    fixed["pollInterval"] = json!("2s");
    write(&s, &fixed);
    wait_reloaded(&s, "config reloaded: settings changed");
    let out = s
        .ao()
        .args(["status", "--include-terminated"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("previous config"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status_of(&s, "app-1"), "killed");
    tmux(&s, &["kill-server"]);
}

//! Sessions in Docker containers, driven through `ao` as a user would: a container killed
//! behind ao's back is seen within two polls and told to a human, and a restore continues in
//! the same workspace volume with the agent's conversation. (The whole lifecycle in containers
//! is `lifecycle::the_lifecycle_runs_by_itself_in_docker_containers`.)

use crate::engine::*;
use crate::faults::{status_of, wait_status};
use crate::support::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// The container of `app-1`, from the session's runtime handle.
fn container(s: &Setup) -> String {
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    v["data"][0]["runtimeHandle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no runtime handle in {v}"))
        .to_string()
}

/// Whether the container `name` exists (running or not), and whether its workspace volume does.
fn exists(name: &str) -> (bool, bool) {
    let volume = format!("ao-ws-{name}");
    (
        !docker(&["ps", "-aq", "--filter", &format!("name=^{name}$")]).is_empty(),
        !docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=^{volume}$"),
        ])
        .is_empty(),
    )
}

fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_killed_container_is_seen_within_two_polls_and_restore_continues_in_its_volume() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    // The agent commits (without pushing) when told, so the volume holds work of its own.
    let rules = json!([
        {"when": "Work on issue #1", "steps": [
            {"write": {"path": "greet.sh", "content": "echo started\n"}},
            commit_cmd("Start")
        ]}
    ]);
    let s = setup_with(Opts {
        docker: Some((image, "clone")),
        rules: Some(rules),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["idle"]);
    let name = container(&s);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &name]),
        "true"
    );

    // Killed behind ao's back: seen within two polls (1 s each), with the reason.
    let killed = Instant::now();
    docker(&["kill", &name]);
    s.wait_event("session.killed", 10);
    let seen = killed.elapsed();
    assert!(seen < Duration::from_secs(4), "seen after {seen:?}");
    assert_eq!(status_of(&s, "app-1"), "killed");
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    let reason = v["data"][0]["statusReason"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(reason.contains("137"), "{v}");

    // Restore: a new container on the same volume, with the agent's own commit, and the
    // conversation goes on.
    succeed(s.ao().args(["session", "restore", "app-1"]));
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &name]),
        "true"
    );
    let log = docker(&[
        "exec",
        &name,
        "git",
        "-c",
        "safe.directory=*",
        "-C",
        "/workspace",
        "log",
        "--format=%s",
        "-1",
    ]);
    assert_eq!(log, "Start");
    succeed(s.ao().args(["send", "app-1", "Are you back?"]));
    let said = s.said();
    assert_eq!(said.last().unwrap()["text"], "Are you back?", "{said:?}");
    assert_eq!(said.last().unwrap()["n"], 2, "not resumed: {said:?}");

    // Killing the session ends the container; the volume stays, since its commit is unpushed.
    succeed(s.ao().args(["session", "kill", "app-1"]));
    assert_eq!(exists(&name), (false, true));
    ao_testkit::docker::remove(&[], &[&format!("ao-ws-{name}")]);
}

#[test]
fn doctor_checks_the_engine_and_the_image() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let rows = |s: &Setup| -> Vec<(String, String, String)> {
        let out = s.ao().args(["doctor", "--json"]).output().unwrap();
        stdout_json(&out)["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"].as_str().unwrap_or("").starts_with("runtime app"))
            .map(|c| {
                (
                    c["check"].as_str().unwrap().to_string(),
                    c["level"].as_str().unwrap().to_string(),
                    c["detail"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let s = setup_with(Opts {
        docker: Some((image, "clone")),
        ..Opts::default()
    });
    let found = rows(&s);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "runtime app (docker) engine");
    assert_eq!(found[0].1, "ok", "{found:?}");
    assert!(found[0].2.contains("Engine API"), "{found:?}");
    assert_eq!(
        (found[1].0.as_str(), found[1].1.as_str()),
        ("runtime app (docker) image", "ok")
    );

    let missing = setup_with(Opts {
        docker: Some(("ao-no-such-image:0".into(), "clone")),
        ..Opts::default()
    });
    let found = rows(&missing);
    assert_eq!(found[1].1, "error", "{found:?}");
    assert!(found[1].2.contains("build or load it"), "{found:?}");
    assert!(
        !missing
            .ao()
            .arg("doctor")
            .output()
            .unwrap()
            .status
            .success()
    );
}

/// A container no session owns (a crash between starting it and recording it, or a store that
/// was wiped): `ao doctor` names it from the engine's list, `ao session cleanup` removes it
/// with its clean volume, and a live session's container is left alone.
#[test]
fn a_container_no_session_owns_is_found_and_cleaned_up() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let s = setup_with(Opts {
        docker: Some((image, "clone")),
        rules: Some(json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "--prompt", "one"]));
    succeed(s.ao().args(["spawn", "--prompt", "two"]));
    wait_status(&s, "app-2", &["working", "idle", "spawning"]);
    let v = stdout_json(&succeed(s.ao().args(["status", "--json"])));
    let name = |id: &str| -> String {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .and_then(|x| x["runtimeHandle"]["id"].as_str())
            .unwrap()
            .to_string()
    };
    let (one, two) = (name("app-1"), name("app-2"));
    // app-2's record is lost; its container runs on.
    let data = s.sb.home.path().join(".agent-orchestrator");
    let file = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|d| d.path().join("sessions").join("app-2"))
        .find(|p| p.is_file())
        .expect("app-2's session file");
    std::fs::remove_file(file).unwrap();

    let out = s.ao().args(["doctor", "--json"]).output().unwrap();
    let checks = stdout_json(&out)["data"].clone();
    let line = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "runtime sessions")
        .cloned()
        .unwrap();
    assert_eq!(line["level"], "warn", "{line}");
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains(&two) && !detail.contains(&one), "{detail}");

    succeed(s.ao().args(["session", "cleanup"]));
    // Gone with its volume, which held nothing unpushed.
    assert_eq!(exists(&two), (false, false));
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &one]),
        "true"
    );
}

//! `env`, `passEnv` and `extraArgs`: what the config says reaches the agent's own process on
//! every spawn and restore, whatever environment the tmux server was started with; secrets
//! stay out of files and out of `ao config check`; a missing variable fails the spawn before
//! anything is made.

use crate::engine::*;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The standard setup, with the project's agent environment and arguments configured.
fn configured() -> Setup {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        extra: Some(json!({"defaults": {"notifiers": [], "env": {"FROM_DEFAULTS": "d"}}})),
        ..Opts::default()
    });
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    let app = &mut config["projects"]["app"];
    app["env"] = json!({"GATEWAY": "http://${GW_HOST}:8080", "PLAIN": "a b;c"});
    app["passEnv"] = json!(["PASSED", "NOT_SET_ANYWHERE"]);
    app["agentConfig"]["env"] = json!({"AGENT_TOKEN": "${SECRET_VAL}"});
    app["agentConfig"]["extraArgs"] = json!(["--boot-ms", "10"]);
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    s
}

/// The agent's process in the session's pane: (its pid, its environment, its argv).
fn agent_process(s: &Setup, id: &str) -> (String, Vec<String>, Vec<String>) {
    let v = stdout_json(&succeed(s.ao().args(["status", "--json"])));
    let name = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .map(|x| x["runtimeHandle"]["id"].as_str().unwrap().to_string())
        .expect("the session");
    let out = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&s.socket)
        .args([
            "display-message",
            "-p",
            "-t",
            &format!("={name}:"),
            "#{pane_pid}",
        ])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect()
    };
    let env = split(std::fs::read(format!("/proc/{pid}/environ")).unwrap());
    let argv = split(std::fs::read(format!("/proc/{pid}/cmdline")).unwrap());
    (pid, env, argv)
}

/// The absolute path of a program on PATH.
fn which(program: &str) -> std::path::PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        if std::fs::read(&e).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            out.push(e.display().to_string());
        }
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_symlink() {
            continue;
        } else if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn env_and_extra_args_reach_the_agent_on_spawn_and_restore_and_secrets_stay_in_memory() {
    let s = configured();
    // The tmux server is started first, by someone whose environment has none of them.
    let status = std::process::Command::new("tmux")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("-S")
        .arg(&s.socket)
        .args(["new-session", "-d", "-s", "early", "sleep", "600"])
        .status()
        .unwrap();
    assert!(status.success());
    // Every tmux command line ao runs is recorded by a tmux ahead of the real one on PATH:
    // what `ps` could have shown any local user.
    let spy = tempfile::tempdir().unwrap();
    let real = which("tmux");
    let argv_log = spy.path().join("argv.log");
    let wrapper = spy.path().join("tmux");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            argv_log.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        spy.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ao = || {
        let mut c = s.ao();
        c.env("GW_HOST", "127.0.0.1")
            .env("PASSED", "yes")
            .env("SECRET_VAL", "hunter2-secret")
            .env("PATH", &path);
        c
    };
    succeed(ao().args(["spawn", "1"]));
    let want = [
        "FROM_DEFAULTS=d",
        "GATEWAY=http://127.0.0.1:8080",
        "PLAIN=a b;c",
        "PASSED=yes",
        "AGENT_TOKEN=hunter2-secret",
        "AO_SESSION=app-1",
    ];
    let check = |when: &str| {
        let (_, env, argv) = agent_process(&s, "app-1");
        for w in want {
            assert!(env.iter().any(|e| e == w), "{when}: {w} not in {env:?}");
        }
        assert!(
            !env.iter().any(|e| e.starts_with("NOT_SET_ANYWHERE=")),
            "{when}: {env:?}"
        );
        assert!(
            argv.windows(2).any(|w| w == ["--boot-ms", "10"]),
            "{when}: extraArgs not in {argv:?}"
        );
    };
    check("spawn");
    s.start();
    // Restored after the agent died: the same environment, resolved again.
    let (pid, _, _) = agent_process(&s, "app-1");
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    let killed = wait_until(Duration::from_secs(20), || {
        let v = stdout_json(&succeed(s.ao().args([
            "status",
            "--json",
            "--include-terminated",
        ])));
        v["data"][0]["status"] == "killed"
    });
    assert!(killed, "the session never read as killed");
    succeed(ao().args(["session", "restore", "app-1"]));
    check("restore");
    // The secret's value is in no file ao wrote (store, launch scripts, logs).
    let argv = std::fs::read_to_string(&argv_log).unwrap_or_default();
    assert!(
        argv.contains("source-file"),
        "the spy saw no launch: {argv}"
    );
    assert!(
        !argv.contains("hunter2"),
        "the secret was on a tmux command line: {argv}"
    );
    let leaks = files_containing(s.sb.home.path(), "hunter2");
    assert!(leaks.is_empty(), "the secret was written to {leaks:?}");
    // `ao config check` shows the reference, never a value.
    let out = succeed(ao().args(["config", "check", "--json"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("${SECRET_VAL}"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let _ = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&s.socket)
        .arg("kill-server")
        .status();
}

#[test]
fn a_variable_missing_from_aos_environment_fails_the_spawn_before_anything_is_made() {
    let s = configured();
    let out = s
        .ao()
        .env("PASSED", "yes")
        .env("GW_HOST", "127.0.0.1")
        .args(["spawn", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("env `AGENT_TOKEN`: environment variable `SECRET_VAL` is not set"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let v = stdout_json(&succeed(s.ao().args([
        "status",
        "--json",
        "--include-terminated",
    ])));
    assert_eq!(v["data"], json!([]), "{v}");
}

/// `ao config check`: (success, stdout and stderr together).
fn config_check(s: &Setup) -> (bool, String) {
    let out = s.ao().args(["config", "check"]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn bad_names_values_and_arguments_are_config_errors_and_literal_secrets_warned() {
    let s = configured();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    let app = &mut config["projects"]["app"];
    app["env"] = json!({"BAD-NAME": "x", "AO_SESSION": "mine", "OPEN": "${NOPE"});
    app["agentConfig"]["extraArgs"] = json!(["ok", "nul\u{0}byte"]);
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let (ok, text) = config_check(&s);
    assert!(!ok, "{text}");
    for want in [
        "projects.app.env.BAD-NAME",
        "is not a variable name",
        "projects.app.env.AO_SESSION",
        "reserved",
        "projects.app.env.OPEN",
        "without its `}`",
        "projects.app.agentConfig.extraArgs.1",
        "NUL",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // A literal secret is valid, warned about, and never shown.
    config["projects"]["app"]["env"] = json!({"API_KEY": "sk-live-123"});
    config["projects"]["app"]["agentConfig"]["extraArgs"] = json!([]);
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let (ok, text) = config_check(&s);
    assert!(ok, "{text}");
    assert!(text.contains("projects.app.env.API_KEY"), "{text}");
    assert!(text.contains("literal secret"), "{text}");
    assert!(!text.contains("sk-live-123"), "{text}");
}

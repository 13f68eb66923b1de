//! `ao status`, `ao session ls`, `ao doctor`, `ao config check`, `ao completion` as a user runs them.

use crate::support::*;
use ao::store::ProjectStore;
use ao::store::session::{ActivityFact, PrFact, Session, Status};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState};

struct Project {
    sb: Sandbox,
    dir: tempfile::TempDir,
}

impl Project {
    /// A project with three sessions (one merged) and one corrupt metadata file.
    fn new() -> Self {
        let sb = Sandbox::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repo")).unwrap();
        std::fs::write(
            dir.path().join("agent-orchestrator.yaml"),
            "projects:\n  app:\n    path: repo\n    repo: acme/app\n    sessionPrefix: app\n",
        )
        .unwrap();
        let hash = ao::store::config_dir_hash(&dir.path().join("agent-orchestrator.yaml"));
        let store = ProjectStore::new(&sb.home.path().join(".agent-orchestrator"), &hash, "app");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        for (status, branch) in [
            (Status::Working, "feat/1-login"),
            (Status::CiFailed, "feat/2-api"),
            (Status::Merged, "feat/3-old"),
        ] {
            let id = store.reserve_id("app").unwrap();
            let mut s = Session::new(&id, "app", now - 3_600_000);
            s.status = status;
            s.branch = Some(branch.into());
            s.summary = Some(format!("work on {branch}"));
            s.activity_fact = Some(ActivityFact {
                state: ActivityState::Active,
                source: ActivitySource::Hook,
                at: now - 120_000,
                detail: None,
                dialog: None,
            });
            if status == Status::CiFailed {
                s.cost = Some(ao_plugin_api::slots::agent::Cost {
                    input_tokens: 12_000,
                    output_tokens: 3_400,
                    cache_read_tokens: 0,
                    cache_write_tokens: 0,
                    usd: Some(0.42),
                });
                s.pr = Some("https://github.example/acme/app/pull/12".into());
                s.pr_fact = Some(PrFact {
                    state: "open".into(),
                    head_sha: "abc".into(),
                    ci: "failing".into(),
                    review: "none".into(),
                    mergeable: false,
                    conflicts: false,
                    unresolved_threads: 0,
                    at: now,
                    ..Default::default()
                });
            }
            store.write_session(&s).unwrap();
        }
        std::fs::write(
            store.sessions_dir().join("app-9"),
            "project=app\ncreatedAt=oops\n",
        )
        .unwrap();
        Project { sb, dir }
    }

    fn ao(&self) -> assert_cmd::Command {
        let mut c = self.sb.ao();
        c.current_dir(self.dir.path());
        c
    }
}

#[test]
fn status_json_has_upstreams_shape_and_hides_ended_sessions() {
    let p = Project::new();
    let out = p.ao().args(["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    let data = v["data"].as_array().unwrap();
    assert_eq!(
        data.iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["app-1", "app-2"]
    );
    assert_eq!(v["meta"]["hiddenTerminatedCount"], 1);
    assert_eq!(v["meta"]["corruptCount"], 1);
    assert_eq!(data[1]["status"], "ci_failed");
    assert_eq!(data[1]["projectId"], "app");
    assert_eq!(data[1]["prState"]["ci"], "failing");
    assert_eq!(data[0]["activity"]["source"], "hook");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("app-9: corrupt: `createdAt` is not a number: `oops` (see `ao doctor`)"),
        "{stderr}"
    );

    let all = stdout_json(
        &p.ao()
            .args(["session", "ls", "--json", "--include-terminated"])
            .output()
            .unwrap(),
    );
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    assert_eq!(all["meta"]["hiddenTerminatedCount"], 0);
}

#[test]
fn status_table_groups_by_project() {
    let p = Project::new();
    let out = p.ao().args(["status"]).output().unwrap();
    assert!(out.status.success());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_escape(&p.dir.path().display().to_string()),
        "[PROJECT]",
    );
    settings.bind(|| insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout)));
}

#[test]
fn doctor_reports_corrupt_metadata_and_fails() {
    let p = Project::new();
    let out = p.ao().args(["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let checks = v["data"].as_array().unwrap();
    let corrupt = checks
        .iter()
        .find(|c| c["check"] == "store app" && c["level"] == "error")
        .expect("a store error");
    assert!(
        corrupt["detail"]
            .as_str()
            .unwrap()
            .ends_with("app-9: corrupt: `createdAt` is not a number: `oops`")
    );
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "git" && c["level"] == "ok")
    );
    assert_eq!(v["meta"]["ok"], false);
}

#[test]
fn config_check_reports_problems_and_exits_non_zero() {
    let p = Project::new();
    std::fs::write(
        p.dir.path().join("agent-orchestrator.yaml"),
        "projects:\n  app:\n    path: repo\n    agnet: codex\n",
    )
    .unwrap();
    let out = p.ao().args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agent-orchestrator.yaml:4:5: projects.app.agnet: unknown key `agnet`: did you mean `agent`?"), "{err}");
    // And every command that needs the config says the same, in one line.
    let out = p.ao().args(["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn no_config_anywhere_is_one_actionable_line() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let out = sb
        .ao()
        .current_dir(empty.path())
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: no agent-orchestrator.yaml in "),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("create one (see `ao config-help`) or pass --config"),
        "{err}"
    );
}

#[test]
fn completion_scripts_and_the_schema_are_printed() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.ao().args(["completion", shell]).output().unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("plugins"),
            "{shell}"
        );
    }
    let schema = stdout_json(&sb.ao().args(["config", "schema"]).output().unwrap());
    assert_eq!(schema["required"], serde_json::json!(["projects"]));
    assert!(schema["properties"]["notificationRouting"].is_object());
}

#[test]
fn plugin_configs_are_checked_against_the_plugins_schema_before_it_runs() {
    let p = Project::new();
    std::fs::copy(
        lib(WEBHOOK),
        p.sb.plugins.path().join(lib(WEBHOOK).file_name().unwrap()),
    )
    .unwrap();
    std::fs::write(
        p.dir.path().join("agent-orchestrator.yaml"),
        "projects:\n  app:\n    path: repo\nnotifiers:\n  ops:\n    plugin: webhook\n    urll: https://example.invalid/\n    retries: three\n",
    )
    .unwrap();
    let out = p.ao().args(["config", "check", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let errors: Vec<String> = v["meta"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert!(
        errors.iter().any(|e| e.ends_with("agent-orchestrator.yaml:7:5: notifiers.ops.urll: unknown key `urll` for plugin `webhook`: did you mean `url`?")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("agent-orchestrator.yaml:8:5: notifiers.ops.retries: \"three\" is not of type \"integer\" (plugin `webhook`)")),
        "{errors:#?}"
    );
}

#[test]
fn the_config_flag_works_before_and_after_the_command() {
    let p = Project::new();
    let file = p.dir.path().join("agent-orchestrator.yaml");
    let elsewhere = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "--config".into(),
            file.display().to_string(),
            "status".into(),
            "--json".into(),
        ],
        vec![
            "status".into(),
            "--json".into(),
            "--config".into(),
            file.display().to_string(),
        ],
    ] {
        let out =
            p.sb.ao()
                .current_dir(elsewhere.path())
                .args(&args)
                .output()
                .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout_json(&out)["data"].as_array().unwrap().len(),
            2,
            "{args:?}"
        );
    }
    let out =
        p.sb.ao()
            .current_dir(elsewhere.path())
            .args(["status", "--config", "/nope.yaml"])
            .output()
            .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: config file /nope.yaml does not exist"
    );
}

#[test]
fn a_relative_home_is_an_error_not_a_data_dir_under_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("repo")).unwrap();
    std::fs::write(
        dir.path().join("agent-orchestrator.yaml"),
        "projects:\n  app:\n    path: repo\n",
    )
    .unwrap();
    let out = assert_cmd::Command::new(ao_exe())
        .env_clear()
        .env("HOME", "relative/home")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AO_NO_DEFAULT_PLUGINS", "1")
        .current_dir(dir.path())
        .args(["status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("is HOME set?"), "{stderr}");
    assert!(
        !dir.path().join("relative").exists(),
        "nothing may be written under the current directory"
    );
}

//! agent/opencode: the generated event plugin run by a real Node.js against a real `ao hook`,
//! an `opencode export` document, and recorded screens in a real tmux pane.

use ao_plugin_agent_opencode::{Config, LEGACY_PLUGIN_FILE, OpenCode, detect, export_cost};
use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::agent::{
    ActivityRequest, ActivitySource as Src, ActivityState as St, Agent, LaunchRequest,
    PermissionMode, RestoreRequest, SessionInfoRequest, SetupHooksRequest,
};
use ao_testkit::{bin_path, screens::ScreenTmux, wait_for};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn agent(binary: Option<String>) -> OpenCode {
    OpenCode::new(
        Config {
            binary,
            agent: None,
        },
        &TestHost::new().handle(),
    )
    .unwrap()
}

#[test]
fn the_event_plugin_reports_every_state_through_ao_hook() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    ao_testkit::git::git(&ws, &["init", "-q"]);
    let status = dir.path().join("status dir/app-4.jsonl");
    std::fs::create_dir_all(status.parent().unwrap()).unwrap();
    let a = agent(None);
    // A workspace an older ao set up: its plugin copy goes (its presence alone makes OpenCode
    // install packages into the workspace); a user's own plugin stays.
    let legacy = ws.join(LEGACY_PLUGIN_FILE);
    std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    std::fs::write(&legacy, "// Installed by ao: old\n").unwrap();
    let theirs = ws.join(".opencode/plugins/mine.js");
    std::fs::write(&theirs, "export const Mine = async () => ({});\n").unwrap();
    let req = SetupHooksRequest {
        workspace_path: ws.display().to_string(),
        session_id: "app-4".into(),
        status_file: status.display().to_string(),
        ao_command: vec![bin_path("ao").display().to_string()],
    };
    assert!(
        a.setup_workspace_hooks(&Ctx::detached(), req.clone())
            .unwrap()
            .changed
    );
    assert!(!legacy.exists() && theirs.exists());
    std::fs::remove_dir_all(ws.join(".opencode")).unwrap();

    // The launch writes the plugin beside the status file and names it in its config.
    let launch = LaunchRequest {
        session_id: "app-4".into(),
        project_id: "app".into(),
        workspace_path: ws.display().to_string(),
        issue_id: None,
        prompt: Some("Fix #11".into()),
        system_prompt_file: None,
        permissions: PermissionMode::Skip,
        model: Some("anthropic/claude-sonnet-4-5".into()),
        status_file: Some(status.display().to_string()),
        extra_args: vec![],
        ao_command: vec![bin_path("ao").display().to_string()],
    };
    let fresh = a.launch(&Ctx::detached(), launch.clone()).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fresh.env["OPENCODE_CONFIG"]).unwrap())
            .unwrap();
    let plugin = config["plugin"][0].as_str().unwrap().to_string();
    // The status file's directory has a space: the URL is encoded.
    assert!(
        plugin.starts_with("file:///") && plugin.contains("status%20dir/app-4.jsonl.opencode.js"),
        "{plugin}"
    );
    assert!(
        !ws.join(".opencode").exists(),
        "nothing is written into the workspace"
    );
    assert_eq!(
        ao_testkit::git::git(&ws, &["status", "--porcelain"]).trim(),
        ""
    );

    // Drive the plugin as OpenCode would: import it, call its hooks with real event shapes.
    let driver = dir.path().join("drive.mjs");
    std::fs::write(
        &driver,
        format!(
            r#"import {{ AoStatus }} from {plugin};
const hooks = await AoStatus({{}});
const ev = (type, properties) => hooks.event({{ event: {{ type, properties }} }});
const step = async (f) => {{ await f(); await new Promise((r) => setTimeout(r, 300)); }};
await step(() => ev("session.status", {{ sessionID: "ses_6f1c", status: {{ type: "busy" }} }}));
await step(() => hooks["tool.execute.before"]({{ tool: "bash", sessionID: "ses_6f1c", callID: "c1" }}, {{ args: {{}} }}));
await step(() => ev("permission.updated", {{ sessionID: "ses_6f1c", title: "npm install" }}));
await step(() => ev("session.error", {{ sessionID: "ses_6f1c", error: {{ name: "APIError", data: {{ message: "rate limited" }} }} }}));
await step(() => ev("session.idle", {{ sessionID: "ses_6f1c" }}));
await step(() => ev("session.status", {{ sessionID: "ses_6f1c", status: {{ type: "busy" }} }}));
await step(() => ev("session.idle", {{ sessionID: "ses_6f1c" }}));
"#,
            plugin = serde_json::to_string(&plugin).unwrap()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("node")
        .arg(&driver)
        .output()
        .expect("node runs (the README's setup installs Node.js)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut states = Vec::new();
    wait_for("the plugin's seven hook records", || {
        states = std::fs::read_to_string(&status)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| {
                (
                    v["state"].as_str().unwrap().to_owned(),
                    v["session"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        states.len() == 7
    });
    let names: Vec<&str> = states.iter().map(|(s, _)| s.as_str()).collect();
    // The idle right after an error keeps the error; the next turn's idle is ready again.
    assert_eq!(
        names,
        [
            "active",
            "active",
            "waiting_input",
            "blocked",
            "blocked",
            "active",
            "ready"
        ]
    );
    assert!(states.iter().all(|(_, s)| s == "ses_6f1c"), "{states:?}");

    // The hook records drive activity; the session id they carry drives resume.
    let act = |screen: Option<String>| {
        a.activity(
            &Ctx::detached(),
            ActivityRequest {
                inside: None,
                session_id: "app-4".into(),
                workspace_path: ws.display().to_string(),
                status_tail: None,
                status_file: Some(status.display().to_string()),
                agent_session_id: None,
                screen,
                screen_at_ms: None,
                created_at_ms: None,
                process_running: Some(true),
                idle_threshold_ms: None,
                // Seconds after the last hook record: the screen captured "now" is clearly newer.
                now_ms: Some(ao_plugin_api::status_file::now_ms() + 5_000),
            },
        )
        .unwrap()
        .map(|x| (x.state, x.source))
    };
    assert_eq!(act(None), Some((St::Ready, Src::Hook)));
    let perm = std::fs::read_to_string(fixture("screens/permission.txt")).unwrap();
    assert_eq!(act(Some(perm)), Some((St::WaitingInput, Src::Screen)));
    assert_eq!(
        fresh.argv,
        [
            "opencode",
            "--model",
            "anthropic/claude-sonnet-4-5",
            "--auto",
            "--prompt",
            "Fix #11"
        ]
    );
    let resumed = a
        .restore_command(
            &Ctx::detached(),
            RestoreRequest {
                launch,
                agent_session_id: None,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(resumed.argv[..3], ["opencode", "--session", "ses_6f1c"]);
    assert!(!resumed.argv.contains(&"--prompt".to_string()));
}

#[test]
fn session_info_from_opencode_export() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("export.json")).unwrap()).unwrap();
    let (cost, model) = export_cost(&doc);
    assert_eq!((cost.input_tokens, cost.output_tokens), (1_300, 500));
    assert_eq!(
        (cost.cache_read_tokens, cost.cache_write_tokens),
        (17_000, 2_000)
    );
    assert!((cost.usd.unwrap() - 0.0165).abs() < 1e-9);
    assert_eq!(model.as_deref(), Some("claude-sonnet-4-5"));

    // Through the CLI: a stand-in `opencode` that answers `export <id>` with the document.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("opencode");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\n[ \"$1\" = export ] && [ \"$2\" = ses_6f1c2d3e4FfAbC ] && exec cat '{}'\nexit 3\n", fixture("export.json").display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = agent(Some(fake.display().to_string()));
    let req = SessionInfoRequest {
        inside: None,
        session_id: "app-4".into(),
        workspace_path: dir.path().display().to_string(),
        agent_session_id: Some("ses_6f1c2d3e4FfAbC".into()),
        status_tail: None,
        status_file: None,
        created_at_ms: None,
    };
    let info = a.session_info(&Ctx::detached(), req.clone()).unwrap();
    assert_eq!(info.summary.as_deref(), Some("Fix flaky upload test"));
    assert_eq!(
        info.task.as_deref(),
        Some("Fix #11: the upload test is flaky.")
    );
    assert_eq!(
        info.latest.as_deref(),
        Some("Waited for the port; the test passes 50 times in a row.")
    );
    assert_eq!(info.cost.unwrap().output_tokens, 500);
    let mut bad = req;
    bad.agent_session_id = Some("--help".into());
    assert!(a.session_info(&Ctx::detached(), bad).is_err());
}

#[test]
fn recorded_screens_in_a_real_tmux_pane() {
    ScreenTmux::new().assert_recorded(&fixture("screens"), detect);
    assert_eq!(detect("$ ls\n"), None);
}

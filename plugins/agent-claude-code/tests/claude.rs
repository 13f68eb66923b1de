//! agent/claude-code against fixture transcripts and hook payloads in Claude Code's real
//! formats, real files, real git and a real tmux pane.

use ao_plugin_agent_claude_code::{ClaudeCode, Config, detect};
use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::agent::parse_time_ms;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::agent::{
    ActivityRequest, ActivitySource as Src, ActivityState as St, Agent, LaunchRequest,
    PermissionMode, RestoreRequest, SessionInfoRequest, SetupHooksRequest,
};
use ao_plugin_api::status_file::{self, StatusRecord};
use ao_testkit::screens::ScreenTmux;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const ID: &str = "0b4c2a53-8f0e-4a8e-9f55-1f8a9b0c7d21";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct World {
    dir: tempfile::TempDir,
    agent: ClaudeCode,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            config_dir: Some(dir.path().join("claude").display().to_string()),
            ..Config::default()
        };
        let agent = ClaudeCode::new(config, &TestHost::new().handle()).unwrap();
        std::fs::create_dir_all(dir.path().join("work/app")).unwrap();
        Self { dir, agent }
    }

    fn workspace(&self) -> String {
        self.dir.path().join("work/app").display().to_string()
    }

    /// Writes the first `n` lines of the fixture transcript (plus `extra` fixture files) as the
    /// conversation's transcript.
    fn transcript(&self, n: usize, extra: &[&str]) -> PathBuf {
        let slug: String = self
            .workspace()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let dir = self.dir.path().join("claude/projects").join(slug);
        std::fs::create_dir_all(&dir).unwrap();
        let text = std::fs::read_to_string(fixture("transcript.jsonl")).unwrap();
        let mut out: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        for e in extra {
            out.push_str(&std::fs::read_to_string(fixture(e)).unwrap());
        }
        let path = dir.join(format!("{ID}.jsonl"));
        std::fs::write(&path, out).unwrap();
        path
    }

    fn status(&self, records: &[(St, u64)]) -> String {
        let path = self.dir.path().join("status.jsonl");
        let _ = std::fs::remove_file(&path);
        for (state, at) in records {
            let mut r = StatusRecord::now(*state, Some("test"));
            r.at_ms = *at;
            status_file::append(&path, &r).unwrap();
        }
        path.display().to_string()
    }

    fn activity(&self, req: ActivityRequest) -> Option<(St, Src, u64)> {
        self.agent
            .activity(&Ctx::detached(), req)
            .unwrap()
            .map(|a| (a.state, a.source, a.at_ms.unwrap()))
    }

    fn req(&self, now: u64) -> ActivityRequest {
        ActivityRequest {
            inside: None,
            session_id: "app-1".into(),
            workspace_path: self.workspace(),
            status_tail: None,
            status_file: None,
            agent_session_id: Some(ID.into()),
            screen: None,
            screen_at_ms: None,
            created_at_ms: None,
            process_running: Some(true),
            idle_threshold_ms: Some(5 * 60_000),
            now_ms: Some(now),
        }
    }
}

fn t(s: &str) -> u64 {
    parse_time_ms(s).unwrap()
}

#[test]
fn every_activity_state_is_reachable_and_says_its_source() {
    let w = World::new();
    let now = t("2026-11-20T10:02:00Z");
    let screen =
        |name: &str| std::fs::read_to_string(fixture(&format!("screens/{name}.txt"))).unwrap();

    assert_eq!(
        w.activity(w.req(now)),
        None,
        "no transcript, no hooks: no evidence"
    );

    w.transcript(2, &[]);
    assert_eq!(
        w.activity(w.req(now)),
        Some((St::Active, Src::Transcript, t("2026-11-20T10:00:00Z"))),
        "prompt submitted"
    );
    w.transcript(4, &[]);
    assert_eq!(
        w.activity(w.req(now)),
        Some((St::Active, Src::Transcript, t("2026-11-20T10:00:04Z"))),
        "tool call out"
    );
    w.transcript(5, &[]);
    assert_eq!(
        w.activity(w.req(now)),
        Some((St::Active, Src::Transcript, t("2026-11-20T10:00:20Z"))),
        "tool result in"
    );
    w.transcript(7, &[]);
    assert_eq!(
        w.activity(w.req(now)),
        Some((St::Ready, Src::Transcript, t("2026-11-20T10:01:00Z"))),
        "turn ended"
    );
    assert_eq!(
        w.activity(w.req(t("2026-11-20T10:07:00Z"))),
        Some((St::Idle, Src::Transcript, t("2026-11-20T10:01:00Z"))),
        "ready past the idle threshold"
    );
    w.transcript(4, &["interrupted.jsonl"]);
    assert_eq!(
        w.activity(w.req(now)).unwrap().0,
        St::Ready,
        "interrupted by the user"
    );
    w.transcript(7, &["api-error.jsonl"]);
    assert_eq!(
        w.activity(w.req(t("2026-11-20T10:05:30Z"))),
        Some((St::Blocked, Src::Transcript, t("2026-11-20T10:05:00Z"))),
        "API error"
    );

    // A hook record newer than the transcript wins; an older one does not.
    w.transcript(7, &[]);
    let mut req = w.req(now);
    req.status_file = Some(w.status(&[(St::WaitingInput, t("2026-11-20T10:01:30Z"))]));
    assert_eq!(
        w.activity(req.clone()),
        Some((St::WaitingInput, Src::Hook, t("2026-11-20T10:01:30Z")))
    );
    req.status_file = Some(w.status(&[(St::WaitingInput, t("2026-11-20T09:59:00Z"))]));
    assert_eq!(
        w.activity(req.clone()).unwrap().1,
        Src::Transcript,
        "a stale waiting never sticks"
    );

    // The screen, captured now, shows a permission dialog the hooks did not report.
    req.screen = Some(screen("permission"));
    assert_eq!(
        w.activity(req.clone()),
        Some((St::WaitingInput, Src::Screen, now))
    );
    // The process is gone: exited, whatever else says.
    req.process_running = Some(false);
    assert_eq!(
        w.activity(req.clone()),
        Some((St::Exited, Src::Process, now))
    );
    // SessionEnd recorded by the hook, process table unknown.
    let mut req = w.req(now);
    req.process_running = None;
    req.status_file = Some(w.status(&[(St::Exited, t("2026-11-20T10:01:50Z"))]));
    assert_eq!(
        w.activity(req),
        Some((St::Exited, Src::Hook, t("2026-11-20T10:01:50Z")))
    );
}

#[test]
fn session_info_reads_task_summary_model_and_cost() {
    let w = World::new();
    let path = w.transcript(7, &[]);
    let req = SessionInfoRequest {
        inside: None,
        session_id: "app-1".into(),
        workspace_path: w.workspace(),
        agent_session_id: Some(ID.into()),
        status_tail: None,
        status_file: None,
        created_at_ms: None,
    };
    let info = w.agent.session_info(&Ctx::detached(), req.clone()).unwrap();
    assert_eq!(info.agent_session_id.as_deref(), Some(ID));
    assert_eq!(
        info.summary.as_deref(),
        Some("Fix the off-by-one in pagination")
    );
    assert!(!info.summary_is_fallback);
    assert_eq!(
        info.task.as_deref(),
        Some("Fix issue #42: the last page of /api/items is missing one item.")
    );
    assert_eq!(
        info.latest.as_deref(),
        Some("Fixed the off-by-one in `paginate()`; all tests pass.")
    );
    assert_eq!(info.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    let cost = info.cost.unwrap();
    // msg_01AbCdEf counts once (its two content-block lines repeat the usage), with its last usage.
    assert_eq!((cost.input_tokens, cost.output_tokens), (14, 370));
    assert_eq!(
        (cost.cache_read_tokens, cost.cache_write_tokens),
        (29_000, 5_300)
    );
    let usd = cost.usd.unwrap();
    assert!((usd - 0.034_167).abs() < 1e-6, "{usd}");

    // Appending a turn adds to the totals without re-reading (same answer as a fresh reader).
    let mut more = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    use std::io::Write;
    let line = std::fs::read_to_string(fixture("transcript.jsonl"))
        .unwrap()
        .lines()
        .nth(5)
        .unwrap()
        .replace("msg_01GhIjKl", "msg_01MnOpQr");
    writeln!(more, "{line}").unwrap();
    let grown = w
        .agent
        .session_info(&Ctx::detached(), req.clone())
        .unwrap()
        .cost
        .unwrap();
    assert_eq!(grown.output_tokens, 620);
    let fresh = ClaudeCode::new(
        Config {
            config_dir: Some(w.dir.path().join("claude").display().to_string()),
            ..Config::default()
        },
        &TestHost::new().handle(),
    )
    .unwrap();
    assert_eq!(
        fresh
            .session_info(&Ctx::detached(), req)
            .unwrap()
            .cost
            .unwrap(),
        grown
    );
}

#[test]
fn hooks_keep_the_users_settings_and_reinstalling_is_a_no_op() {
    let w = World::new();
    let ws = PathBuf::from(w.workspace());
    ao_testkit::git::git(&ws, &["init", "-q"]);
    let settings = ws.join(".claude/settings.local.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let users = json!({
        "permissions": {"allow": ["Bash(npm test:*)"]},
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send 'Claude is done'"}]}],
            "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "npx prettier --write"}]}]
        }
    });
    std::fs::write(&settings, serde_json::to_string_pretty(&users).unwrap()).unwrap();
    let req = SetupHooksRequest {
        workspace_path: w.workspace(),
        session_id: "app-1".into(),
        status_file: "/data/status/app-1.jsonl".into(),
        ao_command: vec!["/opt/ao dir/ao".into()],
    };
    let first = w
        .agent
        .setup_workspace_hooks(&Ctx::detached(), req.clone())
        .unwrap();
    assert!(first.changed);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(after["permissions"], users["permissions"]);
    let stop = after["hooks"]["Stop"].as_array().unwrap();
    assert_eq!(
        stop[0], users["hooks"]["Stop"][0],
        "the user's hook is first and unchanged"
    );
    assert_eq!(
        stop[1]["hooks"][0]["command"],
        "'/opt/ao dir/ao' hook --agent claude-code --state ready --status-file /data/status/app-1.jsonl --stdin Stop"
    );
    assert_eq!(
        after["hooks"]["PostToolUse"][0],
        users["hooks"]["PostToolUse"][0]
    );
    let note = &after["hooks"]["Notification"][0];
    assert_eq!(note["matcher"], "permission_prompt|elicitation_dialog");
    assert!(
        note["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .contains("--state waiting_input")
    );

    let bytes = std::fs::read(&settings).unwrap();
    let again = w
        .agent
        .setup_workspace_hooks(&Ctx::detached(), req)
        .unwrap();
    assert!(!again.changed, "second install writes nothing");
    assert_eq!(std::fs::read(&settings).unwrap(), bytes);

    // The settings file is ours to keep out of `git status`: the workspace holds no unsaved work.
    let status = ao_testkit::git::git(&ws, &["status", "--porcelain"]);
    assert_eq!(status.trim(), "", "{status}");

    // A broken settings file is reported, never overwritten.
    std::fs::write(&settings, "{ not json").unwrap();
    let err = w
        .agent
        .setup_workspace_hooks(
            &Ctx::detached(),
            SetupHooksRequest {
                workspace_path: w.workspace(),
                session_id: "app-1".into(),
                status_file: "/s".into(),
                ao_command: vec!["ao".into()],
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not valid JSON") && err.contains("fix or remove it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{ not json");
}

#[test]
fn restore_resumes_the_recorded_conversation() {
    let w = World::new();
    w.transcript(7, &[]);
    let launch = LaunchRequest {
        session_id: "app-1".into(),
        project_id: "app".into(),
        workspace_path: w.workspace(),
        issue_id: None,
        prompt: Some("ignored on resume".into()),
        system_prompt_file: None,
        permissions: PermissionMode::Default,
        model: None,
        status_file: None,
        extra_args: vec![],
        ao_command: vec![],
    };
    // No id stored (an older session): found from the workspace's transcript.
    let spec = w
        .agent
        .restore_command(
            &Ctx::detached(),
            RestoreRequest {
                launch,
                agent_session_id: None,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        spec.argv,
        ["claude", "--permission-mode", "default", "--resume", ID]
    );
}

#[test]
fn recorded_screens_in_a_real_tmux_pane() {
    ScreenTmux::new().assert_recorded(&fixture("screens"), detect);
    assert_eq!(detect(""), None);
    assert_eq!(detect("$ ls\nCargo.toml\n"), None, "a shell is not Claude");
}

//! agent/aider against a chat history in Aider's real format (from aider 0.86.2's `io.py`),
//! real git and a real tmux pane.

use ao_plugin_agent_aider::{Aider, Config, detect};
use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::agent::{
    ActivityRequest, ActivitySource as Src, ActivityState as St, Agent, LaunchRequest,
    PermissionMode, PromptDelivery, RestoreRequest, SessionInfoRequest, SetupHooksRequest,
};
use ao_testkit::screens::ScreenTmux;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn agent() -> Aider {
    Aider::new(Config::default(), &TestHost::new().handle()).unwrap()
}

fn write_history(ws: &Path, parts: &[&str]) {
    let text: String = parts
        .iter()
        .map(|p| std::fs::read_to_string(fixture(p)).unwrap())
        .collect();
    std::fs::write(ws.join(".aider.chat.history.md"), text).unwrap();
}

fn req(ws: &Path, now: u64) -> ActivityRequest {
    ActivityRequest {
        inside: None,
        session_id: "app-3".into(),
        workspace_path: ws.display().to_string(),
        status_tail: None,
        status_file: None,
        agent_session_id: None,
        screen: None,
        screen_at_ms: None,
        created_at_ms: None,
        process_running: Some(true),
        idle_threshold_ms: Some(5 * 60_000),
        now_ms: Some(now),
    }
}

#[test]
fn every_activity_state_is_reachable_and_says_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let a = agent();
    // Well past the history's mtime, so a screen captured "now" is clearly the newest signal.
    let now = ao_plugin_api::status_file::now_ms() + 5_000;
    let state = |r: ActivityRequest| {
        a.activity(&Ctx::detached(), r)
            .unwrap()
            .map(|x| (x.state, x.source))
    };
    assert_eq!(state(req(ws, now)), None);
    write_history(ws, &["chat.history.md"]);
    assert_eq!(
        state(req(ws, now)),
        Some((St::Ready, Src::Transcript)),
        "reply applied and committed"
    );
    assert_eq!(
        state(req(ws, now + 600_000)),
        Some((St::Idle, Src::Transcript))
    );
    write_history(ws, &["chat.history.md", "user-turn.md"]);
    assert_eq!(
        state(req(ws, now)),
        Some((St::Active, Src::Transcript)),
        "message sent"
    );
    write_history(ws, &["chat.history.md", "user-turn.md", "rate-limit.md"]);
    assert_eq!(state(req(ws, now)), Some((St::Blocked, Src::Transcript)));
    let mut r = req(ws, now);
    r.screen = Some(std::fs::read_to_string(fixture("screens/permission.txt")).unwrap());
    assert_eq!(state(r.clone()), Some((St::WaitingInput, Src::Screen)));
    r.process_running = Some(false);
    assert_eq!(state(r), Some((St::Exited, Src::Process)));
}

#[test]
fn a_failed_turn_stays_failed_through_the_prompt_notification() {
    use ao_plugin_api::status_file::{StatusRecord, append};
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let status = ws.join("status.jsonl");
    write_history(ws, &["chat.history.md", "user-turn.md", "rate-limit.md"]);
    let a = agent();
    let mut r = req(ws, ao_plugin_api::status_file::now_ms() + 100);
    r.status_file = Some(status.display().to_string());
    // Aider's notification when it is back at its prompt, seconds after litellm gave up.
    let mut back = StatusRecord::now(St::Ready, Some("notification"));
    back.at_ms += 3_000;
    append(&status, &back).unwrap();
    r.now_ms = Some(back.at_ms + 100);
    let got = a.activity(&Ctx::detached(), r.clone()).unwrap().unwrap();
    assert_eq!(got.state, St::Blocked, "{got:?}");
    // Or written a moment before Aider's last write to the history (a tie a hook would win).
    let mut just_before = StatusRecord::now(St::Ready, Some("notification"));
    just_before.at_ms -= 500;
    std::fs::write(&status, "").unwrap();
    append(&status, &just_before).unwrap();
    let got = a.activity(&Ctx::detached(), r.clone()).unwrap().unwrap();
    assert_eq!(got.state, St::Blocked, "{got:?}");
    // Its prompt back on screen, captured now, is no news either.
    // (As Aider 0.86.2 showed it after litellm gave up on a 529.)
    let screen = "Retrying in 32.0 seconds...\nlitellm.APIError: APIError: OpenAIException - The \
                  server is overloaded. Please try again later.\n\n\n../../prompts/app-1.md \
                  (read only)\nnew.txt\ndiff> \n";
    assert_eq!(
        detect(screen),
        Some(St::Ready),
        "the screen alone shows only the prompt"
    );
    r.screen = Some(screen.into());
    r.screen_at_ms = r.now_ms;
    let got = a.activity(&Ctx::detached(), r.clone()).unwrap().unwrap();
    assert_eq!(
        (got.state, got.source),
        (St::Blocked, Src::Transcript),
        "{got:?}"
    );
    // The next message starts a new turn: the notification after it counts again.
    write_history(
        ws,
        &[
            "chat.history.md",
            "user-turn.md",
            "rate-limit.md",
            "user-turn.md",
            "chat.history.md",
        ],
    );
    r.screen = None;
    let mut done = StatusRecord::now(St::Ready, Some("notification"));
    done.at_ms += 3_000;
    append(&status, &done).unwrap();
    r.now_ms = Some(done.at_ms + 100);
    let got = a.activity(&Ctx::detached(), r).unwrap().unwrap();
    assert_eq!(got.state, St::Ready, "{got:?}");
}

#[test]
fn session_info_and_cost_from_the_history() {
    let dir = tempfile::tempdir().unwrap();
    write_history(dir.path(), &["chat.history.md", "user-turn.md"]);
    let info = agent()
        .session_info(
            &Ctx::detached(),
            SessionInfoRequest {
                inside: None,
                session_id: "app-3".into(),
                workspace_path: dir.path().display().to_string(),
                agent_session_id: None,
                status_tail: None,
                status_file: None,
                created_at_ms: None,
            },
        )
        .unwrap();
    assert_eq!(
        info.task.as_deref(),
        Some("Fix #9: the CSV export drops the header row.")
    );
    assert!(info.summary_is_fallback);
    let cost = info.cost.unwrap();
    assert_eq!(
        (
            cost.input_tokens,
            cost.output_tokens,
            cost.cache_read_tokens
        ),
        (2_500, 120, 3_000)
    );
    assert_eq!(cost.usd, Some(0.0087));
}

#[test]
fn launch_hook_restore_and_local_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    ao_testkit::git::git(ws, &["init", "-q"]);
    let a = agent();
    let launch = LaunchRequest {
        session_id: "app-3".into(),
        project_id: "app".into(),
        workspace_path: ws.display().to_string(),
        issue_id: Some("9".into()),
        prompt: Some("Fix #9".into()),
        system_prompt_file: Some("/data/prompts/app-3.md".into()),
        permissions: PermissionMode::Skip,
        model: Some("sonnet".into()),
        status_file: Some("/data/status/app 3.jsonl".into()),
        extra_args: vec![],
        ao_command: vec!["/usr/bin/ao".into()],
    };
    let spec = a.launch(&Ctx::detached(), launch.clone()).unwrap();
    assert_eq!(
        spec.prompt_delivery,
        PromptDelivery::PostLaunch,
        "--message would exit after one reply"
    );
    assert_eq!(
        spec.argv,
        [
            "aider",
            "--no-check-update",
            "--no-show-release-notes",
            "--no-gitignore",
            "--yes-always",
            "--model",
            "sonnet",
            "--read",
            "/data/prompts/app-3.md",
            "--notifications",
            "--notifications-command",
            "/usr/bin/ao hook --agent aider --state ready --status-file '/data/status/app 3.jsonl' notification"
        ]
    );
    let restored = a
        .restore_command(
            &Ctx::detached(),
            RestoreRequest {
                launch: launch.clone(),
                agent_session_id: None,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(restored.argv.last().unwrap(), "--restore-chat-history");

    write_history(ws, &["chat.history.md"]);
    std::fs::write(ws.join(".aider.input.history"), "x").unwrap();
    let hooks = SetupHooksRequest {
        workspace_path: ws.display().to_string(),
        session_id: "app-3".into(),
        status_file: "/s".into(),
        ao_command: vec!["ao".into()],
    };
    assert!(
        a.setup_workspace_hooks(&Ctx::detached(), hooks.clone())
            .unwrap()
            .changed
    );
    assert!(
        !a.setup_workspace_hooks(&Ctx::detached(), hooks)
            .unwrap()
            .changed
    );
    assert_eq!(
        ao_testkit::git::git(ws, &["status", "--porcelain"]).trim(),
        ""
    );
}

#[test]
fn recorded_screens_in_a_real_tmux_pane() {
    ScreenTmux::new().assert_recorded(&fixture("screens"), detect);
    assert_eq!(detect("$ make\nok\n"), None);
}

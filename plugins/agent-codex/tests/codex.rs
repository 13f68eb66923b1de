//! agent/codex against fixture rollouts and notify payloads in Codex's real formats, real
//! files and a real tmux pane.

use ao_plugin_agent_codex::{Codex, Config, detect};
use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::agent::parse_time_ms;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::agent::{
    ActivityRequest, ActivitySource as Src, ActivityState as St, Agent, LaunchRequest,
    PermissionMode, RestoreRequest, SessionInfoRequest,
};
use ao_plugin_api::status_file::{self, StatusRecord};
use ao_testkit::screens::ScreenTmux;
use std::path::{Path, PathBuf};

const THREAD: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn t(s: &str) -> u64 {
    parse_time_ms(s).unwrap()
}

struct World {
    dir: tempfile::TempDir,
    agent: Codex,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("work/app")).unwrap();
        let config = Config {
            codex_home: Some(dir.path().join("codex").display().to_string()),
            ..Config::default()
        };
        Self {
            agent: Codex::new(config, &TestHost::new().handle()).unwrap(),
            dir,
        }
    }

    fn workspace(&self) -> String {
        self.dir.path().join("work/app").display().to_string()
    }

    /// The first `n` fixture lines (plus extra files) as today's rollout of the thread, beside
    /// another session's rollout from a different directory.
    fn rollout(&self, n: usize, extra: &[&str]) -> PathBuf {
        let now = status_file::now_ms() / 1000;
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{now}"), "+%Y/%m/%d"])
            .output()
            .unwrap();
        let day = self
            .dir
            .path()
            .join("codex/sessions")
            .join(String::from_utf8(out.stdout).unwrap().trim());
        std::fs::create_dir_all(&day).unwrap();
        let text = std::fs::read_to_string(fixture("rollout.jsonl"))
            .unwrap()
            .replace("WORKSPACE", &self.workspace());
        let mut body: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        for e in extra {
            body.push_str(&std::fs::read_to_string(fixture(e)).unwrap());
        }
        let other = text
            .replace(&self.workspace(), "/elsewhere")
            .replace(THREAD, "0199a213-0000-7000-8000-000000000000");
        std::fs::write(
            day.join("rollout-2026-11-20T09-00-00-0199a213-0000-7000-8000-000000000000.jsonl"),
            other,
        )
        .unwrap();
        let path = day.join(format!("rollout-2026-11-20T10-00-00-{THREAD}.jsonl"));
        std::fs::write(&path, body).unwrap();
        path
    }

    fn req(&self, now: u64) -> ActivityRequest {
        ActivityRequest {
            inside: None,
            session_id: "app-2".into(),
            workspace_path: self.workspace(),
            status_tail: None,
            status_file: None,
            agent_session_id: None,
            screen: None,
            screen_at_ms: None,
            created_at_ms: Some(status_file::now_ms() - 3_600_000),
            process_running: Some(true),
            idle_threshold_ms: Some(5 * 60_000),
            now_ms: Some(now),
        }
    }

    fn activity(&self, req: ActivityRequest) -> Option<(St, Src, u64)> {
        self.agent
            .activity(&Ctx::detached(), req)
            .unwrap()
            .map(|a| (a.state, a.source, a.at_ms.unwrap()))
    }
}

#[test]
fn every_activity_state_is_reachable_and_says_its_source() {
    let w = World::new();
    let now = t("2026-11-20T10:02:00Z");
    assert_eq!(w.activity(w.req(now)), None);
    let cases = [
        (
            5,
            vec![],
            St::Active,
            "2026-11-20T10:00:00.031Z",
            "task submitted",
        ),
        (
            8,
            vec![],
            St::Active,
            "2026-11-20T10:00:04Z",
            "command running",
        ),
        (
            9,
            vec![],
            St::Active,
            "2026-11-20T10:00:30Z",
            "command output back",
        ),
        (
            12,
            vec![],
            St::Ready,
            "2026-11-20T10:01:01.001Z",
            "turn ended",
        ),
        (
            12,
            vec!["error.jsonl"],
            St::Blocked,
            "2026-11-20T10:03:00Z",
            "stream error",
        ),
    ];
    for (n, extra, state, at, what) in cases {
        w.rollout(n, &extra);
        // A fresh plugin each time, as discovery caches the file per workspace.
        assert_eq!(
            w.activity(w.req(now)),
            Some((state, Src::Transcript, t(at))),
            "{what}"
        );
    }
    w.rollout(12, &[]);
    assert_eq!(
        w.activity(w.req(t("2026-11-20T10:30:00Z"))).unwrap().0,
        St::Idle,
        "ready long ago"
    );

    // The notify hook (turn complete) recorded after a newer rollout line loses; a newer one wins.
    let status = w.dir.path().join("status.jsonl");
    let mut rec = StatusRecord::now(St::Ready, Some("agent-turn-complete"));
    rec.at_ms = t("2026-11-20T10:01:30Z");
    rec.session = Some(THREAD.into());
    status_file::append(&status, &rec).unwrap();
    let mut req = w.req(now);
    req.status_file = Some(status.display().to_string());
    assert_eq!(
        w.activity(req.clone()),
        Some((St::Ready, Src::Hook, t("2026-11-20T10:01:30Z")))
    );
    // An approval prompt on screen (no hook reports those).
    req.screen = Some(std::fs::read_to_string(fixture("screens/permission.txt")).unwrap());
    assert_eq!(
        w.activity(req.clone()),
        Some((St::WaitingInput, Src::Screen, now))
    );
    req.process_running = Some(false);
    assert_eq!(w.activity(req).unwrap().0, St::Exited);
}

#[test]
fn session_info_from_head_and_tail() {
    let w = World::new();
    w.rollout(12, &[]);
    let info = w
        .agent
        .session_info(
            &Ctx::detached(),
            SessionInfoRequest {
                inside: None,
                session_id: "app-2".into(),
                workspace_path: w.workspace(),
                agent_session_id: None,
                status_tail: None,
                status_file: None,
                created_at_ms: Some(status_file::now_ms() - 60_000),
            },
        )
        .unwrap();
    assert_eq!(
        info.agent_session_id.as_deref(),
        Some(THREAD),
        "found by cwd, not the other session"
    );
    assert_eq!(
        info.task.as_deref(),
        Some("Fix #7: retry failed uploads with backoff.")
    );
    assert_eq!(
        info.latest.as_deref(),
        Some("Uploads now retry 3 times with exponential backoff; tests pass.")
    );
    assert_eq!(info.model.as_deref(), Some("gpt-5-codex"));
    let cost = info.cost.unwrap();
    assert_eq!(
        (
            cost.input_tokens,
            cost.cache_read_tokens,
            cost.output_tokens
        ),
        (10_000, 30_000, 2_000)
    );
    // gpt-5: $1.25/M input, $0.125/M cached, $10/M output.
    let usd = cost.usd.unwrap();
    assert!((usd - (0.0125 + 0.00375 + 0.02)).abs() < 1e-9, "{usd}");
}

#[test]
fn restore_resumes_the_thread_found_in_the_rollout() {
    let w = World::new();
    w.rollout(12, &[]);
    let launch = LaunchRequest {
        session_id: "app-2".into(),
        project_id: "app".into(),
        workspace_path: w.workspace(),
        issue_id: None,
        prompt: None,
        system_prompt_file: None,
        permissions: PermissionMode::Default,
        model: None,
        status_file: None,
        extra_args: vec![],
        ao_command: vec![],
    };
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
        [
            "codex",
            "resume",
            "--no-daemon",
            "-c",
            "check_for_update_on_startup=false",
            "--sandbox",
            "workspace-write",
            "--ask-for-approval",
            "on-request",
            THREAD
        ]
    );
}

#[test]
fn recorded_screens_in_a_real_tmux_pane() {
    ScreenTmux::new().assert_recorded(&fixture("screens"), detect);
    assert_eq!(detect("$ ls\n"), None);
}

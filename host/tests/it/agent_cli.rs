//! `ao hook`, `ao report` and `ao acknowledge` as agents run them.

use crate::support::Sandbox;
use ao::store::ProjectStore;
use ao::store::session::{RuntimeFact, Session, Status};
use std::path::Path;

fn claude_payload(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/agent-claude-code/tests/fixtures/hooks")
        .join(format!("{name}.json"));
    std::fs::read(p).unwrap()
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hook_appends_what_the_payload_says_and_never_fails_the_agent() {
    let sb = Sandbox::new();
    let status = sb.home.path().join("app-1.jsonl");
    let f = status.display().to_string();
    for (event, state) in [
        ("PreToolUse", "active"),
        ("Notification", "waiting_input"),
        ("StopFailure", "blocked"),
    ] {
        let out = sb
            .ao()
            .args([
                "hook",
                "--agent",
                "claude-code",
                "--state",
                state,
                "--status-file",
                &f,
                "--stdin",
                event,
            ])
            .write_stdin(claude_payload(event))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "{out:?}"
        );
    }
    // Codex appends its payload as the last argument; AO_STATUS_FILE names the file.
    let codex = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/agent-codex/tests/fixtures/notify-payload.json"),
    )
    .unwrap();
    sb.ao()
        .env("AO_STATUS_FILE", &status)
        .args([
            "hook",
            "--agent",
            "codex",
            "--state",
            "ready",
            "agent-turn-complete",
            codex.trim(),
        ])
        .assert()
        .success();
    let r = records(&status);
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["state"], "active");
    assert_eq!(r[0]["detail"], "Bash");
    assert_eq!(r[0]["session"], "0b4c2a53-8f0e-4a8e-9f55-1f8a9b0c7d21");
    assert_eq!(r[1]["detail"], "Claude needs your permission to use Bash");
    assert_eq!(r[2]["state"], "blocked");
    assert!(r[2]["detail"].as_str().unwrap().contains("rate limit"));
    assert_eq!(r[3]["session"], "0199a213-81c0-7800-8aa1-bbab2a035a53");
    assert_eq!(r[3]["event"], "agent-turn-complete");

    // A bad state or a bad flag: one line on stderr, exit 0 (exit 2 would block Claude's tool).
    let out = sb
        .ao()
        .args(["hook", "--state", "done", "--status-file", &f, "Stop"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown state \"done\""),
        "{out:?}"
    );
    let out = sb.ao().args(["hook", "--bogus"]).output().unwrap();
    assert!(out.status.success() && String::from_utf8_lossy(&out.stderr).starts_with("ao hook: "));
    // Outside a session (no file named anywhere): nothing to do, silently.
    let out = sb
        .ao()
        .args(["hook", "--state", "ready", "Stop"])
        .output()
        .unwrap();
    assert!(out.status.success() && out.stderr.is_empty());
    assert_eq!(records(&status).len(), 4);
}

#[test]
fn report_records_validates_and_audits() {
    let sb = Sandbox::new();
    let data = sb.home.path().join("data/app");
    let store = ProjectStore::at(data.clone());
    std::fs::create_dir_all(store.sessions_dir()).unwrap();
    let mut s = Session::new("app-1", "app", 1);
    s.status = Status::Working;
    store.write_session(&s).unwrap();
    let ao = || {
        let mut c = sb.ao();
        c.env("AO_SESSION", "app-1").env("AO_DATA_DIR", &data);
        c
    };
    ao().arg("acknowledge").assert().success();
    assert_eq!(
        store
            .session("app-1")
            .unwrap()
            .unwrap()
            .report_fact
            .unwrap()
            .state,
        "started"
    );
    ao().args([
        "report",
        "PR-Created",
        "--pr-url",
        "https://github.com/acme/app/pull/12",
        "--pr-number",
        "12",
    ])
    .assert()
    .success();
    let got = store.session("app-1").unwrap().unwrap();
    assert_eq!(got.report_fact.unwrap().state, "pr_created");
    assert_eq!(
        got.pr.as_deref(),
        Some("https://github.com/acme/app/pull/12")
    );

    let out = ao().args(["report", "done"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown state \"done\": use started"));
    let out = ao()
        .args([
            "report",
            "pr-created",
            "--pr-url",
            "https://github.com/acme/app/pull/12",
            "--pr-number",
            "13",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("disagree"));

    // The agent's process is gone: refused, and the refusal is audited.
    store
        .update_session("app-1", |s| {
            s.runtime_fact = Some(RuntimeFact {
                session_exists: true,
                process_running: Some(false),
                at: 2,
                ..RuntimeFact::default()
            })
        })
        .unwrap();
    let out = ao().args(["report", "working"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("report refused: its runtime has exited")
    );
    let audit = records(
        &store
            .sessions_dir()
            .join(".agent-report-audit/app-1.ndjson"),
    );
    let accepted: Vec<bool> = audit
        .iter()
        .map(|e| e["accepted"].as_bool().unwrap())
        .collect();
    assert_eq!(accepted, [true, true, false]);

    let out = sb.ao().args(["report", "working"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside an ao session"));
}

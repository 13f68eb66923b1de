//! runtime-process with real children on real ptys and the testkit's scripted agent.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{
    CreateRequest, DeliveryOptions, GetOutputRequest, HandleRequest, IsAliveRequest, Runtime,
    RuntimeHandle, SendMessageRequest, SendOutcome,
};
use ao_plugin_runtime_process::{Config, ProcessRuntime};
use ao_testkit::wait_for;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct World {
    dir: tempfile::TempDir,
    rt: ProcessRuntime,
}

impl World {
    fn new() -> Self {
        let config = Config {
            width: 100,
            height: 30,
            kill_grace_ms: 2_000,
        };
        Self {
            dir: tempfile::tempdir().unwrap(),
            rt: ProcessRuntime::new(config, &TestHost::new().handle()).unwrap(),
        }
    }

    fn create(&self, name: &str, argv: Vec<String>) -> Result<RuntimeHandle, SdkError> {
        let mut env = BTreeMap::new();
        env.insert("AO_SESSION".to_string(), name.to_string());
        self.rt.create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: name.into(),
                runtime_name: name.into(),
                workspace_path: self.dir.path().display().to_string(),
                argv,
                env,
                files: Vec::new(),
                scratch_dir: None,
            },
        )
    }

    fn agent(
        &self,
        name: &str,
        extra: &[&str],
        hooks: bool,
    ) -> (RuntimeHandle, PathBuf, Option<PathBuf>) {
        let log = self.dir.path().join(format!("{name}.log"));
        let status = self.dir.path().join(format!("{name}.status"));
        let argv = ao_testkit::scripted_agent_argv(&log, hooks.then_some(status.as_path()), extra);
        (
            self.create(name, argv).unwrap(),
            log,
            hooks.then_some(status),
        )
    }

    fn send(
        &self,
        h: &RuntimeHandle,
        text: &str,
        status: Option<&Path>,
    ) -> Result<SendOutcome, SdkError> {
        self.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: text.into(),
                delivery: DeliveryOptions {
                    ready_timeout_ms: 10_000,
                    stable_ms: 150,
                    ack_timeout_ms: 2_000,
                    max_enter_retries: 3,
                    status_file: status.map(|p| p.display().to_string()),
                    screen: None,
                },
            },
        )
    }

    fn output(&self, h: &RuntimeHandle, lines: u32) -> String {
        self.rt
            .get_output(
                &Ctx::detached(),
                GetOutputRequest {
                    handle: h.clone(),
                    lines,
                },
            )
            .unwrap()
            .text
    }
}

fn received(log: &Path) -> Vec<String> {
    ao_testkit::scripted_agent_received(log)
}

#[test]
fn awkward_messages_arrive_intact_with_and_without_hooks() {
    let w = World::new();
    let msgs = [
        "multi\nline\n\nmessage".to_string(),
        "quotes \" ' and $(touch canary) `touch canary`; done;".into(),
        "unicode ✓ — héllo".into(),
        format!("ten kilobytes {}", "0123456789abcdef".repeat(640)),
    ];
    let (h, log, status) = w.agent("p-1", &[], true);
    for m in &msgs {
        let out = w.send(&h, m, status.as_deref()).unwrap();
        assert!(out.acknowledged && out.attempts == 1, "{out:?}");
    }
    let (h2, log2, _) = w.agent("p-2", &["--boot-ms", "600"], false);
    for m in &msgs {
        let out = w.send(&h2, m, None).unwrap();
        assert!(out.acknowledged, "{out:?}");
    }
    wait_for("all messages", || {
        received(&log).len() >= 4 && received(&log2).len() >= 4
    });
    assert_eq!(received(&log), msgs);
    assert_eq!(received(&log2), msgs);
    assert!(!w.dir.path().join("canary").exists());
}

#[test]
fn a_deaf_agent_is_reported_not_acknowledged_and_a_swallowed_enter_is_retried() {
    let w = World::new();
    let (h, _, status) = w.agent("p-3", &["--deaf"], true);
    let start = Instant::now();
    let out = w.send(&h, "hello?", status.as_deref()).unwrap();
    assert!(
        !out.acknowledged && out.evidence.starts_with("not acknowledged"),
        "{out:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(8));
    // A paste bigger than the terminal's input buffer cannot even be written.
    let err = w
        .send(&h, &"x".repeat(64 * 1024), status.as_deref())
        .unwrap_err();
    assert!(matches!(err, SdkError::Timeout(_)), "{err}");

    let (h, log, status) = w.agent("p-4", &["--drop-enters", "1"], true);
    let out = w.send(&h, "twice", status.as_deref()).unwrap();
    assert!(out.acknowledged && out.attempts == 2, "{out:?}");
    wait_for("the message", || received(&log) == ["twice"]);
}

#[test]
fn capture_reads_the_screen_and_its_history() {
    let w = World::new();
    let h = w
        .create(
            "p-5",
            vec![
                "sh".into(),
                "-c".into(),
                "seq 1 300; printf 'end\\n'; sleep 60".into(),
            ],
        )
        .unwrap();
    wait_for("output", || w.output(&h, 5).ends_with("end"));
    let last = w.output(&h, 100);
    let lines: Vec<&str> = last.lines().collect();
    assert_eq!(lines.len(), 100, "{last}");
    assert_eq!(lines[0], "202");
    assert_eq!(lines[98], "300");
    assert_eq!(lines[99], "end");
}

#[test]
fn liveness_exit_and_destroy() {
    let w = World::new();
    let (h, _, status) = w.agent("p-6", &[], true);
    let alive = |names: &[&str]| {
        w.rt.is_alive(
            &Ctx::detached(),
            IsAliveRequest {
                mirror: None,
                handle: h.clone(),
                process_names: names.iter().map(|s| s.to_string()).collect(),
            },
        )
        .unwrap()
    };
    assert!(alive(&["ao-scripted-agent"]).alive);
    assert!(!alive(&["claude"]).alive);
    wait_for("the agent to start", || status.as_ref().unwrap().exists());
    // Control characters never reach an agent through send (no Ctrl-C by message).
    let err = w.send(&h, "\u{3}", None).unwrap_err();
    assert!(matches!(err, SdkError::InvalidParams(_)), "{err}");
    assert!(alive(&["ao-scripted-agent"]).alive);
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    let l = alive(&[]);
    assert!(!l.alive, "{l:?}");
    // Destroy is idempotent; a handle from elsewhere is judged by its pid.
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    let err = w.send(&h, "x", None).unwrap_err();
    assert_eq!(err.to_string(), "process session `p-6` is gone");

    let h = w
        .create("p-7", vec!["sh".into(), "-c".into(), "exit 3".into()])
        .unwrap();
    wait_for("the exit", || {
        w.rt.is_alive(
            &Ctx::detached(),
            IsAliveRequest {
                mirror: None,
                handle: h.clone(),
                process_names: vec![],
            },
        )
        .unwrap()
        .detail
            == "the agent exited (exit status 3)"
    });
    assert!(
        w.output(&h, 10)
            .ends_with("[process exited: exit status 3]")
    );
    // A name can be reused once its agent has exited.
    w.create("p-7", vec!["sleep".into(), "60".into()]).unwrap();
    let dup = w
        .create("p-7", vec!["sleep".into(), "60".into()])
        .unwrap_err();
    assert!(matches!(dup, SdkError::Conflict(_)));
    w.rt.shutdown();
}

#[test]
fn arguments_are_never_interpreted() {
    let w = World::new();
    let canary = w.dir.path().join("canary");
    // Longer than the 100-column terminal: capture joins the wrapped rows back.
    let arg = format!(
        "$(touch {0}) `touch {0}` ; touch {0} {1}",
        canary.display(),
        "x".repeat(150)
    );
    let h = w
        .create("p-8", vec!["printf".into(), "[%s]\\n".into(), arg.clone()])
        .unwrap();
    // Reading the output catches up with everything written, even right after the exit.
    wait_for("the exit", || w.output(&h, 5).contains("[process exited"));
    let out = w.output(&h, 5);
    assert!(out.contains(&format!("[{arg}]")), "{out}");
    assert!(!canary.exists());
    let err = w
        .create("p-9", vec!["no-such-agent-cli".into()])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`no-such-agent-cli` is not installed or not on the agent's PATH"
    );
}

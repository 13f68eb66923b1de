//! runtime-tmux against a real tmux server (a private socket per test) and the testkit's
//! scripted agent.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{
    CreateRequest, DeliveryOptions, GetOutputRequest, HandleRequest, IsAliveRequest, ProbeRequest,
    Runtime, RuntimeHandle, SendMessageRequest,
};
use ao_plugin_runtime_tmux::{Config, TmuxRuntime};
use ao_testkit::wait_for;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct World {
    dir: tempfile::TempDir,
    rt: TmuxRuntime,
    socket: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("tmux.sock");
        let config = Config {
            socket: Some(socket.display().to_string()),
            width: 120,
            height: 40,
            command_timeout_ms: 5_000,
        };
        let host = TestHost::new();
        let rt = TmuxRuntime::new(config, &host.handle()).unwrap();
        Self { dir, rt, socket }
    }

    fn path(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn create(
        &self,
        name: &str,
        workspace: &Path,
        argv: Vec<String>,
    ) -> Result<RuntimeHandle, SdkError> {
        self.create_with(name, workspace, argv, BTreeMap::new())
    }

    fn create_with(
        &self,
        name: &str,
        workspace: &Path,
        argv: Vec<String>,
        mut env: BTreeMap<String, String>,
    ) -> Result<RuntimeHandle, SdkError> {
        env.insert("AO_SESSION".to_string(), name.to_string());
        self.rt.create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: name.into(),
                runtime_name: name.into(),
                workspace_path: workspace.display().to_string(),
                argv,
                env,
                files: Vec::new(),
                scratch_dir: Some(self.path("scratch").display().to_string()),
            },
        )
    }

    /// A scripted agent with hooks (`hooks`) writing to `<name>.status`, logging to `<name>.log`.
    fn agent(
        &self,
        name: &str,
        extra: &[&str],
        hooks: bool,
    ) -> (RuntimeHandle, PathBuf, Option<PathBuf>) {
        let log = self.dir.path().join(format!("{name}.log"));
        let status = self.dir.path().join(format!("{name}.status"));
        let argv = ao_testkit::scripted_agent_argv(&log, hooks.then_some(status.as_path()), extra);
        let h = self.create(name, &self.path("ws"), argv).unwrap();
        (h, log, hooks.then_some(status))
    }

    fn send(
        &self,
        h: &RuntimeHandle,
        text: &str,
        status: Option<&Path>,
    ) -> ao_plugin_api::slots::runtime::SendOutcome {
        self.rt
            .send_message(
                &Ctx::detached(),
                SendMessageRequest {
                    handle: h.clone(),
                    text: text.into(),
                    delivery: quick(status),
                },
            )
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-S", self.socket.to_str().unwrap(), "kill-server"])
            .output();
    }
}

fn quick(status: Option<&Path>) -> DeliveryOptions {
    DeliveryOptions {
        ready_timeout_ms: 10_000,
        stable_ms: 150,
        ack_timeout_ms: 2_000,
        max_enter_retries: 3,
        status_file: status.map(|p| p.display().to_string()),
        screen: None,
    }
}

fn received(log: &Path) -> Vec<String> {
    ao_testkit::scripted_agent_received(log)
}

fn messages() -> Vec<String> {
    let specials = [
        "multi\nline\nmessage\n\nwith a blank line",
        "double \"quotes\" and 'single' ones",
        "$(touch /tmp/ao-canary-never) and ${HOME} and $HOME",
        "`backticks` ; rm -rf nothing; echo done;",
        "ends with a semicolon;",
        "tabs\tand  spaces   ",
        "unicode: héllo wörld ✓ — “quoted”",
        "#(touch /tmp/ao-canary-never) #{session_name} ##",
        "C-u Enter Escape (words tmux would read as keys)",
        "-dash-led",
    ];
    let mut out: Vec<String> = specials.iter().map(|s| s.to_string()).collect();
    out.push(format!("ten kilobytes: {}", "0123456789abcdef".repeat(640)));
    let mut n = 0;
    while out.len() < 100 {
        n += 1;
        out.push(format!(
            "message {n}: fix test_{n} in src/mod_{n}.rs (see \"line {n}\")"
        ));
    }
    out
}

#[test]
fn a_hundred_awkward_messages_arrive_intact_and_acknowledged() {
    let w = World::new();
    let (h, log, status) = w.agent("ao-t1", &[], true);
    let msgs = messages();
    for (i, m) in msgs.iter().enumerate() {
        let out = w.send(&h, m, status.as_deref());
        assert!(out.acknowledged, "message {i} not acknowledged: {out:?}");
        assert_eq!(out.attempts, 1, "message {i}: {out:?}");
    }
    wait_for("all messages", || received(&log).len() == msgs.len());
    let got = received(&log);
    for (i, (want, got)) in msgs.iter().zip(&got).enumerate() {
        assert_eq!(got, want, "message {i} arrived changed");
    }
    assert!(!Path::new("/tmp/ao-canary-never").exists());
}

#[test]
fn without_hooks_the_screen_decides_readiness_and_acknowledgement() {
    let w = World::new();
    // A busy start: the spinner must be waited out before pasting.
    let (h, log, _) = w.agent("ao-t2", &["--boot-ms", "800"], false);
    for m in ["first\nmessage", "second `one`"] {
        let out = w.send(&h, m, None);
        assert!(out.acknowledged, "{out:?}");
        assert_eq!(out.evidence, "output appeared below the submitted text");
    }
    wait_for("two messages", || received(&log).len() == 2);
    assert_eq!(received(&log), ["first\nmessage", "second `one`"]);
}

#[test]
fn a_swallowed_enter_is_pressed_again() {
    let w = World::new();
    let (h, log, status) = w.agent("ao-t3", &["--drop-enters", "2"], true);
    let out = w.send(&h, "needs three enters", status.as_deref());
    assert!(out.acknowledged, "{out:?}");
    assert_eq!(out.attempts, 3);
    wait_for("the message", || received(&log) == ["needs three enters"]);
}

#[test]
fn an_agent_that_never_reads_is_reported_within_the_deadline() {
    let w = World::new();
    let (h, log, status) = w.agent("ao-t4", &["--deaf"], true);
    let start = Instant::now();
    let out = w.send(&h, "are you there?", status.as_deref());
    assert!(!out.acknowledged, "{out:?}");
    assert!(
        out.evidence.starts_with("not acknowledged"),
        "{}",
        out.evidence
    );
    assert_eq!(out.attempts, 4);
    // ready (hook) + settle (≤ 2 s) + ack budget 2 s, with slack for a loaded machine
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(received(&log).is_empty());
}

#[test]
fn liveness_tells_a_dead_agent_from_a_gone_session() {
    let w = World::new();
    let (h, _, status) = w.agent("ao-t5", &[], true);
    let names = vec!["ao-scripted-agent".to_string()];
    let alive = |names: Vec<String>| {
        w.rt.is_alive(
            &Ctx::detached(),
            IsAliveRequest {
                mirror: None,
                handle: h.clone(),
                process_names: names,
            },
        )
        .unwrap()
    };
    let l = alive(names.clone());
    assert!(
        l.alive && l.session_exists && l.process_running == Some(true),
        "{l:?}"
    );
    assert!(!alive(vec!["claude".into()]).alive);

    // The agent dies; the pane (and its last screen) stays.
    wait_for("the prompt", || status.as_ref().unwrap().exists());
    std::process::Command::new("tmux")
        .args([
            "-S",
            w.socket.to_str().unwrap(),
            "send-keys",
            "-t",
            "=ao-t5:",
            "C-c",
        ])
        .status()
        .unwrap();
    wait_for("the agent to exit", || !alive(names.clone()).alive);
    let l = alive(names.clone());
    assert!(
        l.session_exists && l.process_running == Some(false),
        "{l:?}"
    );
    let capture = || {
        w.rt.get_output(
            &Ctx::detached(),
            GetOutputRequest {
                handle: h.clone(),
                lines: 60,
            },
        )
        .unwrap()
    };
    // ps may see the agent gone a moment before tmux marks the pane dead; and tmux built
    // with utempter can lose the agent's SIGCHLD, which only the runtime's probe (every
    // engine tick) recovers — without it this waited forever on a zombie in about one run
    // in four under load.
    wait_for("tmux to mark the pane dead", || {
        let l = alive(names.clone());
        l.detail.contains("signal 2") && capture().text.contains("Pane is dead")
    });
    let screen = capture();
    assert!(
        screen.text.starts_with("scripted agent\n>\n"),
        "{:?}",
        screen.text
    );
    assert!(
        screen.text.ends_with(")") && screen.text.contains("Pane is dead (signal 2"),
        "{}",
        screen.text
    );

    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    let l = alive(names.clone());
    assert!(!l.alive && !l.session_exists, "{l:?}");
    // Destroying again is fine; sending to it is a clear error.
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    let err =
        w.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: "x".into(),
                delivery: quick(None),
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "tmux session `ao-t5` is gone");
}

#[test]
fn names_are_exact_never_prefixes() {
    let w = World::new();
    let ws = w.path("ws");
    let sleep = || vec!["sleep".to_string(), "60".into()];
    let ten = w.create("ao-x-10", &ws, sleep()).unwrap();
    let one = RuntimeHandle {
        id: "ao-x-1".into(),
        ..ten.clone()
    };
    w.rt.destroy(
        &Ctx::detached(),
        HandleRequest {
            handle: one.clone(),
        },
    )
    .unwrap();
    let probe =
        w.rt.probe(
            &Ctx::detached(),
            ProbeRequest {
                mirror_bytes: None,
                targets: vec![
                    IsAliveRequest {
                        mirror: None,
                        handle: one,
                        process_names: vec![],
                    },
                    IsAliveRequest {
                        mirror: None,
                        handle: ten,
                        process_names: vec!["sleep".into()],
                    },
                ],
                status_tail_bytes: None,
                capture_lines: None,
            },
        )
        .unwrap();
    assert!(!probe.results["ao-x-1"].session_exists);
    assert!(probe.results["ao-x-10"].alive, "{:?}", probe.results);
    let dup = w.create("ao-x-10", &ws, sleep()).unwrap_err();
    assert_eq!(dup.to_string(), "tmux session `ao-x-10` already exists");
}

#[test]
fn probe_captures_every_screen_in_a_batch() {
    let w = World::new();
    let ws = w.path("ws");
    // Enough sessions to need several chained calls (12 KiB of argv each), one of them gone.
    let mut targets = Vec::new();
    for i in 0..200 {
        let text = format!("screen of {i}\nlast line {i}");
        let h = w
            .create(
                &format!("ao-s-{i}"),
                &ws,
                vec![
                    "sh".into(),
                    "-c".into(),
                    "printf \"$0\"; sleep 60".into(),
                    text,
                ],
            )
            .unwrap();
        targets.push(IsAliveRequest {
            mirror: None,
            handle: h,
            process_names: vec![],
        });
    }
    let gone = RuntimeHandle {
        id: "ao-s-gone".into(),
        ..targets[0].handle.clone()
    };
    targets.push(IsAliveRequest {
        mirror: None,
        handle: gone,
        process_names: vec![],
    });
    wait_for("the last screen", || {
        let out =
            w.rt.get_output(
                &Ctx::detached(),
                ao_plugin_api::slots::runtime::GetOutputRequest {
                    handle: targets[199].handle.clone(),
                    lines: 5,
                },
            )
            .unwrap();
        out.text.contains("last line 199")
    });
    let probe =
        w.rt.probe(
            &Ctx::detached(),
            ProbeRequest {
                mirror_bytes: None,
                targets,
                status_tail_bytes: None,
                capture_lines: Some(1),
            },
        )
        .unwrap();
    for i in 0..200 {
        let l = &probe.results[&format!("ao-s-{i}")];
        assert_eq!(
            l.screen.as_deref(),
            Some(format!("last line {i}").as_str()),
            "session {i}"
        );
    }
    assert_eq!(probe.results["ao-s-gone"].screen, None);
}

#[test]
fn commands_paths_and_environment_are_never_interpreted() {
    let w = World::new();
    let canary = w.dir.path().join("canary");
    let c = canary.display().to_string();
    let ws = w.path(&format!("ws $(touch {c}) `touch {c}` #(touch {c}) ;"));
    let out = ws.join("out");
    let script = "pwd > out; printf '%s|%s\\n' \"$AO_SESSION\" \"$1\" >> out; sleep 60";
    for (name, argv) in [
        (
            "ao-c-1",
            vec![
                "sh".to_string(),
                "-c".into(),
                script.into(),
                "-".into(),
                format!("$(touch {c});"),
            ],
        ),
        (
            "ao-c-2",
            vec![
                "sh".to_string(),
                "-c".into(),
                script.into(),
                "-".into(),
                format!("#(touch {c}) {}", "x".repeat(12_000)),
            ],
        ),
    ] {
        let _ = std::fs::remove_file(&out);
        w.create(name, &ws, argv.clone()).unwrap();
        wait_for("the command's output", || {
            std::fs::read_to_string(&out).is_ok_and(|s| s.lines().count() == 2)
        });
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text, format!("{}\n{name}|{}\n", ws.display(), argv[4]));
    }
    assert!(!canary.exists(), "something was executed by a shell");
    let missing = w
        .create("ao-c-3", &ws, vec!["no-such-agent-cli".into()])
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "`no-such-agent-cli` is not installed or not on the agent's PATH"
    );
    let bad = w
        .create("bad name", &ws, vec!["sleep".into(), "1".into()])
        .unwrap_err();
    assert!(
        bad.to_string().starts_with("invalid tmux session name"),
        "{bad}"
    );
    // Launch scripts delete themselves.
    wait_for("scripts removed", || {
        std::fs::read_dir(w.path("scratch")).unwrap().count() == 0
    });
}

#[test]
fn the_environment_reaches_the_process_verbatim_and_never_a_file() {
    let w = World::new();
    let ws = w.path("ws-env");
    let out = ws.join("env.out");
    let canary = w.dir.path().join("canary");
    let secret = format!("s3cr3t-$(touch {}) 'q' \"d\" `x` ;", canary.display());
    let env: BTreeMap<String, String> = [
        ("SECRET_TOKEN", secret.as_str()),
        ("ENDS_WITH", "a;"),
        ("EMPTY", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // A short command (straight to tmux) and a long one (through a launch script).
    for (name, pad) in [("ao-e-1", String::new()), ("ao-e-2", "x".repeat(12_000))] {
        let _ = std::fs::remove_file(&out);
        let script = "printf '%s|%s|%s|%s\\n' \"$SECRET_TOKEN\" \"$ENDS_WITH\" \"${EMPTY-unset}\" \"${#1}\" > env.out; sleep 60";
        let argv = vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "-".into(),
            pad.clone(),
        ];
        w.create_with(name, &ws, argv, env.clone()).unwrap();
        wait_for("the environment written back", || {
            std::fs::read_to_string(&out).is_ok_and(|s| s.ends_with('\n'))
        });
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!("{secret}|a;||{}\n", pad.len()),
            "{name}"
        );
    }
    assert!(!canary.exists(), "a value was executed by a shell");
}

#[test]
fn attach_info_names_the_exact_session_on_its_server() {
    let w = World::new();
    let h = w
        .create("ao-a-1", &w.path("ws"), vec!["sleep".into(), "60".into()])
        .unwrap();
    let info =
        w.rt.attach_info(&Ctx::detached(), HandleRequest { handle: h })
            .unwrap();
    assert_eq!(info.kind, "tmux");
    assert_eq!(
        info.argv,
        [
            "tmux",
            "-S",
            w.socket.to_str().unwrap(),
            "attach-session",
            "-t",
            "=ao-a-1"
        ]
    );
}

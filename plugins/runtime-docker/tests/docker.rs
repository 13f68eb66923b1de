//! runtime-docker against the real Docker engine, with the testkit's agent image (built offline
//! from this machine's packages) and its scripted agent mounted read-only. Each test names its
//! containers and volumes after itself and removes them, so tests share one engine. Without an
//! engine the tests say they are skipped (and fail under `CI=true`, where `.ci/run` starts one).

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{
    CreateRequest, DeliveryOptions, GetOutputRequest, HandleRequest, IsAliveRequest,
    ListSessionsRequest, ProbeRequest, Runtime, RuntimeHandle, SendMessageRequest,
};
use ao_plugin_runtime_docker::{Config, DockerRuntime};
use ao_testkit::docker;
use ao_testkit::git::git;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct World {
    host: std::sync::Arc<TestHost>,
    dir: tempfile::TempDir,
    rt: DockerRuntime,
    prefix: String,
}

/// The target dir, where the scripted agent is: mounted read-only into every container.
fn target_dir() -> PathBuf {
    ao_testkit::bin_path("ao-scripted-agent")
        .parent()
        .unwrap()
        .to_path_buf()
}

impl World {
    /// A runtime in `mode` whose sessions are named `{prefix}-…`; `None` without an engine.
    fn new(prefix: &str, mode: &str, extra: serde_json::Value) -> Option<Self> {
        let image = docker::agent_image()?;
        let dir = tempfile::tempdir().unwrap();
        let mut config = json!({
            "image": image,
            "workspace": mode,
            "memory": "256m",
            "cpus": 0.5,
            "pidsLimit": 200,
            "network": "none",
            "width": 100,
            "height": 30,
            "mounts": [
                {"source": target_dir().display().to_string()},
                {"source": dir.path().display().to_string(), "readOnly": false}
            ]
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let config: Config = serde_json::from_value(config).unwrap();
        let host = TestHost::new();
        let rt = DockerRuntime::new(config, &host.handle()).unwrap();
        let w = Self {
            host,
            dir,
            rt,
            prefix: prefix.into(),
        };
        w.clean();
        Some(w)
    }

    fn name(&self, n: u32) -> String {
        format!("{}-s{n}", self.prefix)
    }

    fn clean(&self) {
        let names: Vec<String> = (1..=4).map(|n| self.name(n)).collect();
        let vols: Vec<String> = names.iter().map(|n| format!("ao-ws-{n}")).collect();
        docker::remove(
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
            &vols.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }

    /// A workspace: a git repository with one commit and an untracked file (a hook config).
    fn workspace(&self) -> PathBuf {
        ao_testkit::git::session_workspace(
            &self.dir.path().join("ws"),
            &[(".agent/hooks.json", "{\"hook\": true}\n")],
        )
    }

    /// Starts the scripted agent (hooks into `status`, messages logged to `log`).
    fn start(&self, n: u32, ws: &Path, extra: &[&str]) -> (RuntimeHandle, PathBuf, PathBuf) {
        let log = self.dir.path().join(format!("s{n}.log"));
        let status = self.dir.path().join(format!("s{n}.status"));
        let argv = ao_testkit::scripted_agent_argv(&log, Some(&status), extra);
        let h = self.create(n, ws, argv).unwrap();
        (h, log, status)
    }

    fn create(&self, n: u32, ws: &Path, argv: Vec<String>) -> Result<RuntimeHandle, SdkError> {
        let name = self.name(n);
        self.rt.create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: format!("s{n}"),
                runtime_name: name,
                workspace_path: ws.display().to_string(),
                argv,
                env: BTreeMap::from([("AO_SESSION".into(), format!("s{n}"))]),
                files: Vec::new(),
                scratch_dir: None,
            },
        )
    }

    fn send(&self, h: &RuntimeHandle, text: &str, status: &Path) -> bool {
        self.rt
            .send_message(
                &Ctx::detached(),
                SendMessageRequest {
                    handle: h.clone(),
                    text: text.into(),
                    delivery: DeliveryOptions {
                        ready_timeout_ms: 15_000,
                        stable_ms: 150,
                        ack_timeout_ms: 5_000,
                        max_enter_retries: 3,
                        status_file: Some(status.display().to_string()),
                        screen: None,
                    },
                },
            )
            .unwrap()
            .acknowledged
    }

    fn probe(&self, h: &RuntimeHandle) -> ao_plugin_api::slots::runtime::Liveness {
        self.rt
            .probe(
                &Ctx::detached(),
                ProbeRequest {
                    mirror_bytes: None,
                    targets: vec![IsAliveRequest {
                        mirror: None,
                        handle: h.clone(),
                        process_names: vec![],
                    }],
                    status_tail_bytes: None,
                    capture_lines: Some(20),
                },
            )
            .unwrap()
            .results
            .remove(&h.id)
            .unwrap()
    }

    fn exec(&self, n: u32, sh: &str) -> String {
        let out = std::process::Command::new("docker")
            .args(["exec", &self.name(n), "sh", "-c", sh])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.clean();
    }
}

fn wait(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_session_is_a_hardened_container_that_takes_messages_and_ends_with_its_agent() {
    let Some(w) = World::new("ao-dkt1", "mount", json!({})) else {
        return;
    };
    let ws = w.workspace();
    let playbook = w.dir.path().join("book.json");
    std::fs::write(
        &playbook,
        json!({"rules": [{"when": "please stop", "steps": [{"crash": "fatal: stopping as asked"}]}]})
            .to_string(),
    )
    .unwrap();
    let (h, log, status) = w.start(1, &ws, &["--script", playbook.to_str().unwrap()]);
    assert_eq!(h.runtime, "docker");
    assert_eq!(h.data["workspace"]["location"], "host");

    // Hardened as configured, read back from the engine.
    let c = docker::inspect("container", &w.name(1));
    let hc = &c["HostConfig"];
    assert_eq!(hc["Init"], true, "{hc}");
    assert_eq!(hc["CapDrop"], json!(["ALL"]));
    assert_eq!(hc["SecurityOpt"], json!(["no-new-privileges"]));
    assert_eq!(hc["Memory"], 256 << 20);
    assert_eq!(hc["NanoCpus"], 500_000_000);
    assert_eq!(hc["PidsLimit"], 200);
    assert_eq!(c["Config"]["Labels"]["ao.session"], "s1");
    assert_eq!(c["Config"]["Labels"]["ao.instance"], "ao-dkt1");
    // The argv went to the container as given: no shell read it.
    let cmd = c["Config"]["Cmd"].as_array().unwrap();
    assert_eq!(cmd[3], "ao-launch");

    // Alive, with its screen, from one list call and an exec.
    let l = w.probe(&h);
    assert!(l.alive && l.session_exists, "{l:?}");
    assert!(l.screen.is_some(), "{l:?}");

    // Awkward messages arrive intact and acknowledged (the hooks' status file is the host's).
    let msgs = [
        "multi\nline\nmessage",
        "$(touch /tmp/ao-canary-docker) `and` 'quotes' \"too\"",
        "#{session_name} ## C-u Enter",
    ];
    for m in msgs {
        assert!(w.send(&h, m, &status), "not acknowledged: {m}");
    }
    wait("three messages", 20, || {
        ao_testkit::scripted_agent_received(&log).len() == 3
    });
    assert_eq!(ao_testkit::scripted_agent_received(&log), msgs);
    assert!(w.exec(1, "ls /tmp/ao-canary-docker 2>/dev/null").is_empty());

    // The agent exits: its container ends with its status and keeps the last screen.
    assert!(w.send(&h, "please stop", &status));
    wait("the agent's exit", 20, || !w.probe(&h).alive);
    let l = w.probe(&h);
    assert!(
        l.session_exists && l.process_running == Some(false),
        "{l:?}"
    );
    assert_eq!(l.detail, "the agent exited with status 3");
    let screen = l.screen.unwrap_or_default();
    assert!(screen.contains("fatal: stopping as asked"), "{screen}");
    let out =
        w.rt.get_output(
            &Ctx::detached(),
            GetOutputRequest {
                handle: h.clone(),
                lines: 5,
            },
        )
        .unwrap();
    assert!(
        out.text.contains("fatal: stopping as asked"),
        "{}",
        out.text
    );
    // Nothing is typed into a finished session.
    let err =
        w.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: "anyone?".into(),
                delivery: DeliveryOptions::default(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, SdkError::NotFound(_)), "{err:?}");

    // Destroy is idempotent, and the session is gone after it.
    for _ in 0..2 {
        w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
            .unwrap();
    }
    assert!(!w.probe(&h).session_exists);
    assert!(docker::inspect("container", &w.name(1)).is_null());
}

#[test]
fn clone_mode_works_in_a_volume_that_keeps_unpushed_work() {
    let Some(w) = World::new("ao-dkt2", "clone", json!({})) else {
        return;
    };
    let ws = w.workspace();
    let (h, _log, _status) = w.start(1, &ws, &[]);
    assert_eq!(h.data["workspace"]["location"], "container");
    assert_eq!(h.data["workspace"]["path"], "/workspace");
    // The clone: the branch and its commit, and the untracked hook file, under /workspace.
    let seen = w.exec(
        1,
        "cd /workspace && git -c safe.directory='*' rev-parse --abbrev-ref HEAD && cat README .agent/hooks.json",
    );
    assert_eq!(seen, "feat/x\nhello\n{\"hook\": true}\n");
    // Work that only the volume holds survives destroy.
    w.exec(
        1,
        "cd /workspace && echo more >> README && git -c safe.directory='*' -c user.name=A -c user.email=a@x commit -qam more",
    );
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    assert!(docker::inspect("container", &w.name(1)).is_null());
    assert!(
        !docker::inspect("volume", "ao-ws-ao-dkt2-s1").is_null(),
        "the volume with an unpushed commit was removed"
    );
    // A session with nothing unpushed leaves nothing behind.
    let (h2, _, _) = w.start(2, &ws, &[]);
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h2 })
        .unwrap();
    assert!(
        docker::inspect("volume", "ao-ws-ao-dkt2-s2").is_null(),
        "{:?}",
        w.host.logs()
    );
}

#[test]
fn a_missing_image_or_a_failing_start_leaves_nothing_behind() {
    let Some(w) = World::new("ao-dkt3", "clone", json!({"image": "ao-no-such-image:0"})) else {
        return;
    };
    let ws = w.workspace();
    let err = w.create(1, &ws, vec!["true".into()]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SdkError::NotFound(_)), "{msg}");
    assert!(
        msg.contains("ao-no-such-image:0") && msg.contains("build or load"),
        "{msg}"
    );
    assert!(docker::inspect("container", &w.name(1)).is_null());

    // A workspace that cannot be seeded (not a repository): the container ends at once, the
    // spawn fails with the reason, and nothing stays.
    let good = World::new("ao-dkt3b", "clone", json!({})).unwrap();
    let plain = good.dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let err = good.create(1, &plain, vec!["true".into()]).unwrap_err();
    assert!(err.to_string().contains("could not seed"), "{err}");
    assert!(docker::inspect("container", &good.name(1)).is_null());
    assert!(docker::inspect("volume", "ao-ws-ao-dkt3b-s1").is_null());
}

#[test]
fn sessions_are_listed_by_prefix_for_cleanup() {
    let Some(w) = World::new("ao-dkt4", "mount", json!({})) else {
        return;
    };
    let ws = w.workspace();
    let (h1, _, _) = w.start(1, &ws, &[]);
    let (h2, _, _) = w.start(2, &ws, &[]);
    let list =
        w.rt.list_sessions(
            &Ctx::detached(),
            ListSessionsRequest {
                prefix: "ao-dkt4-".into(),
            },
        )
        .unwrap();
    let names: Vec<&str> = list.sessions.iter().map(|s| s.handle.id.as_str()).collect();
    assert_eq!(names, [h1.id.as_str(), h2.id.as_str()]);
    assert!(list.sessions.iter().all(|s| s.alive));
    // A second session of the same name while the first runs is a clash, not a takeover.
    let clash = w.create(1, &ws, vec!["true".into()]).unwrap_err();
    assert!(matches!(clash, SdkError::Conflict(_)), "{clash:?}");
    let attach =
        w.rt.attach_info(&Ctx::detached(), HandleRequest { handle: h1.clone() })
            .unwrap();
    assert_eq!(
        attach.argv,
        [
            "docker",
            "exec",
            "-it",
            h1.id.as_str(),
            "tmux",
            "-S",
            "/run/ao/tmux.sock",
            "attach-session",
            "-t",
            "=ao"
        ]
    );
    let m =
        w.rt.metrics(&Ctx::detached(), HandleRequest { handle: h1 })
            .unwrap();
    assert!(
        m.memory_mb.is_some_and(|mb| mb > 0.0 && mb < 256.0),
        "{m:?}"
    );
}

#[test]
fn session_files_live_in_the_container_and_come_back_through_the_engine() {
    // Nothing of the test's directory is mounted: only the scripted agent's binary.
    let mounts = json!([{"source": target_dir().display().to_string()}]);
    let Some(w) = World::new(
        "ao-dkt5",
        "clone",
        json!({"sessionFiles": "container", "mounts": mounts}),
    ) else {
        return;
    };
    let ws = w.workspace();
    let data = w.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let helper = data.join("s1.jsonl.helper.json");
    std::fs::write(&helper, "{\"from\": \"the host\"}\n").unwrap();
    let create = |n: u32, argv: Vec<String>, files: Vec<String>| {
        let status = data.join(format!("s{n}.jsonl")).display().to_string();
        let env = BTreeMap::from([
            ("AO_SESSION".to_string(), format!("s{n}")),
            ("AO_STATUS_FILE".to_string(), status.clone()),
            (
                "AO_EXE".to_string(),
                w.dir.path().join("bin/ao").display().to_string(),
            ),
        ]);
        let h =
            w.rt.create(
                &Ctx::detached(),
                CreateRequest {
                    copies: Vec::new(),
                    session_id: format!("s{n}"),
                    runtime_name: w.name(n),
                    workspace_path: ws.display().to_string(),
                    argv,
                    env,
                    files,
                    scratch_dir: None,
                },
            )
            .unwrap();
        (h, status)
    };

    // A hook run as the agent's CLI runs it: `ao hook` by PATH, its payload on stdin.
    let script = "cat \"$0\"; printf '%s' '{\"session_id\":\"c-1\",\"message\":\"Need approval\"}' | ao hook --agent x --state waiting_input --stdin Notification && echo hooked; sleep 600";
    let argv = vec![
        "sh".into(),
        "-c".into(),
        script.into(),
        helper.display().to_string(),
    ];
    let (h1, status1) = create(1, argv, vec![helper.display().to_string()]);
    assert_eq!(h1.data["statusFile"], status1.as_str());
    let tail_of = |h: &RuntimeHandle| {
        let mut results =
            w.rt.probe(
                &Ctx::detached(),
                ProbeRequest {
                    mirror_bytes: None,
                    targets: vec![IsAliveRequest {
                        mirror: None,
                        handle: h.clone(),
                        process_names: vec![],
                    }],
                    capture_lines: Some(20),
                    status_tail_bytes: Some(4096),
                },
            )
            .unwrap()
            .results;
        results.remove(&h.id).unwrap()
    };
    let mut seen = None;
    wait("the hook's record through the probe", 20, || {
        let l = tail_of(&h1);
        let done = l.screen.as_deref().is_some_and(|s| s.contains("hooked"));
        seen = Some(l);
        done
    });
    let seen = seen.unwrap();
    assert!(
        seen.screen
            .as_deref()
            .unwrap()
            .contains("{\"from\": \"the host\"}"),
        "the helper file was not copied in: {seen:?}"
    );
    let tail = seen.status_tail.expect("a status tail");
    let r = ao_plugin_api::status_file::latest_in(
        ao_plugin_api::status_file::Source::Tail(&tail),
        |_| true,
    )
    .unwrap();
    assert_eq!(r.event.as_deref(), Some("Notification"));
    assert_eq!(r.session.as_deref(), Some("c-1"));
    assert_eq!(r.detail.as_deref(), Some("Need approval"));
    assert!(
        !Path::new(&status1).exists(),
        "the status file is the container's, not the host's"
    );

    // Delivery's evidence comes from inside too: the scripted agent's hook records.
    let log = w.dir.path().join("s2.log");
    let status2 = data.join("s2.jsonl");
    let argv = ao_testkit::scripted_agent_argv(&log, Some(&status2), &[]);
    let (h2, _) = create(2, argv, vec![]);
    let sent =
        w.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h2.clone(),
                text: "hello from the host".into(),
                delivery: DeliveryOptions {
                    ready_timeout_ms: 15_000,
                    stable_ms: 150,
                    ack_timeout_ms: 5_000,
                    max_enter_retries: 3,
                    status_file: Some(status2.display().to_string()),
                    screen: None,
                },
            },
        )
        .unwrap();
    assert!(sent.acknowledged, "{sent:?}");
    assert_eq!(sent.evidence, "hook: UserPromptSubmit", "{sent:?}");
    assert!(!status2.exists());
    for h in [h1, h2] {
        w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h })
            .unwrap();
    }
}

#[test]
fn a_remote_engine_gets_the_workspace_and_the_session_files_through_its_api() {
    if docker::agent_image().is_none() {
        return;
    }
    // The local engine over TCP: a remote engine to the runtime, which mounts nothing then.
    let tcp = docker::TcpEngine::start();
    let Some(w) = World::new("ao-dkt6", "clone", json!({"host": tcp.host, "mounts": []})) else {
        return;
    };
    let ws = w.workspace();
    git(
        &ws,
        &[
            "remote",
            "add",
            "origin",
            "https://forge.invalid/acme/app.git",
        ],
    );
    let data = w.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let status = data.join("s1.jsonl").display().to_string();
    let script = "g='git -c safe.directory=*'; pwd; $g rev-parse --abbrev-ref HEAD; cat README .agent/hooks.json; $g remote get-url origin; echo \"dirty: $($g status --porcelain | wc -l)\"; printf '%s' '{\"session_id\":\"r-1\"}' | ao hook --state ready --stdin Stop && echo hooked; sleep 600";
    let h =
        w.rt.create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: "s1".into(),
                runtime_name: w.name(1),
                workspace_path: ws.display().to_string(),
                argv: vec!["sh".into(), "-c".into(), script.into()],
                env: BTreeMap::from([
                    ("AO_SESSION".to_string(), "s1".to_string()),
                    ("AO_STATUS_FILE".to_string(), status.clone()),
                    (
                        "AO_EXE".to_string(),
                        w.dir.path().join("bin/ao").display().to_string(),
                    ),
                ]),
                files: Vec::new(),
                scratch_dir: None,
            },
        )
        .unwrap();
    assert_eq!(h.data["workspace"]["location"], "container");
    assert_eq!(h.data["host"], tcp.host.as_str());
    // Nothing of this machine is mounted.
    let mounts = docker::inspect("container", &w.name(1))["Mounts"].clone();
    assert!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["Type"] != "bind"),
        "{mounts}"
    );
    let mut seen = None;
    wait("the agent's report", 30, || {
        let l =
            w.rt.probe(
                &Ctx::detached(),
                ProbeRequest {
                    mirror_bytes: None,
                    targets: vec![IsAliveRequest {
                        mirror: None,
                        handle: h.clone(),
                        process_names: vec![],
                    }],
                    capture_lines: Some(20),
                    status_tail_bytes: Some(4096),
                },
            )
            .unwrap()
            .results
            .remove(&h.id)
            .unwrap();
        let done = l.screen.as_deref().is_some_and(|s| s.contains("hooked"));
        seen = Some(l);
        done
    });
    let seen = seen.unwrap();
    let screen = seen.screen.clone().unwrap();
    let lines: Vec<&str> = screen.lines().map(str::trim).collect();
    assert_eq!(
        lines[..7],
        [
            "/workspace",
            "feat/x",
            "hello",
            "{\"hook\": true}",
            "https://forge.invalid/acme/app.git",
            "dirty: 0",
            "hooked"
        ],
        "{screen}"
    );
    let tail = seen.status_tail.expect("a status tail");
    let r = ao_plugin_api::status_file::latest_in(
        ao_plugin_api::status_file::Source::Tail(&tail),
        |_| true,
    )
    .unwrap();
    assert_eq!(
        (r.state, r.session.as_deref()),
        (
            ao_plugin_api::slots::agent::ActivityState::Ready,
            Some("r-1")
        )
    );
    // Nothing unpushed in the volume: it goes with the session.
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h })
        .unwrap();
    assert!(docker::inspect("container", &w.name(1)).is_null());
    assert!(
        docker::inspect("volume", "ao-ws-ao-dkt6-s1").is_null(),
        "{:?}",
        w.host.logs()
    );
}

/// `tcp://` with TLS, as `dockerd --tlsverify` serves it: the client's certificate from
/// `certPath` (Docker's `ca.pem`/`cert.pem`/`key.pem`) gets through, and a session runs; a
/// certificate of another CA is refused with a one-line reason, before anything is made.
#[test]
fn a_remote_engine_over_mutual_tls_takes_only_the_configured_certificate() {
    if docker::agent_image().is_none() {
        return;
    }
    let tcp = docker::TcpEngine::start();
    let tls = ao_testkit::tls::Front::start(tcp.port(), true);
    let host = tls.url.replace("https://", "tcp://");
    let certs = tls.client_dir().unwrap().display().to_string();
    let Some(w) = World::new(
        "ao-dkt7",
        "clone",
        json!({"host": host, "certPath": certs, "mounts": []}),
    ) else {
        return;
    };
    let ws = w.workspace();
    let create = |rt: &DockerRuntime| {
        rt.create(
            &Ctx::detached(),
            CreateRequest {
                session_id: "s1".into(),
                runtime_name: w.name(1),
                workspace_path: ws.display().to_string(),
                argv: vec!["sh".into(), "-c".into(), "echo over-tls; sleep 600".into()],
                env: BTreeMap::new(),
                files: Vec::new(),
                copies: Vec::new(),
                scratch_dir: None,
            },
        )
    };
    let h = create(&w.rt).unwrap();
    assert_eq!(h.data["host"], host.as_str());
    wait("the agent's screen over TLS", 30, || {
        w.rt.probe(
            &Ctx::detached(),
            ProbeRequest {
                targets: vec![IsAliveRequest {
                    handle: h.clone(),
                    process_names: vec![],
                    mirror: None,
                }],
                capture_lines: Some(10),
                ..Default::default()
            },
        )
        .unwrap()
        .results[&h.id]
            .screen
            .as_deref()
            .is_some_and(|s| s.contains("over-tls"))
    });
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h })
        .unwrap();

    // Another CA's client: the handshake fails, and says so on one line.
    let stranger = ao_testkit::tls::Front::start(tcp.port(), true);
    let config: Config = serde_json::from_value(json!({
        "image": docker::agent_image().unwrap(),
        "host": host,
        "certPath": stranger.client_dir().unwrap().display().to_string(),
    }))
    .unwrap();
    let refused = DockerRuntime::new(config, &TestHost::new().handle())
        .and_then(|rt| create(&rt).map(drop))
        .unwrap_err()
        .to_string();
    assert!(!refused.contains('\n'), "{refused}");
    assert!(refused.contains("127.0.0.1"), "{refused}");
    assert!(refused.contains("certificate"), "{refused}");
    assert!(docker::inspect("container", &w.name(1)).is_null());
}

/// An agent's records written just before it ended reach the host from the stopped container
/// (the archive API), as a look at a live one would have brought them.
#[test]
fn an_ended_containers_last_records_come_with_its_probe() {
    let Some(w) = World::new("ao-dkt8", "clone", json!({"mounts": []})) else {
        return;
    };
    let ws = w.workspace();
    let h =
        w.rt.create(
            &Ctx::detached(),
            CreateRequest {
                session_id: "s1".into(),
                runtime_name: w.name(1),
                workspace_path: ws.display().to_string(),
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "sleep 1; mkdir -p $HOME/.rec/p && printf 'one\\ntwo\\n' > $HOME/.rec/p/c.jsonl".into(),
                ],
                env: BTreeMap::new(),
                files: Vec::new(),
                copies: Vec::new(),
                scratch_dir: None,
            },
        )
        .unwrap();
    let (_, home) = h.inside().expect("the container's home in the handle");
    let home = home.to_string();
    let probe = |have: u64| {
        let mut m = ao_plugin_api::slots::runtime::Mirror {
            roots: vec![format!("{home}/.rec")],
            since_ms: Some(0),
            ..Default::default()
        };
        if have > 0 {
            m.have.insert(format!("{home}/.rec/p/c.jsonl"), have);
        }
        w.rt.probe(
            &Ctx::detached(),
            ProbeRequest {
                targets: vec![IsAliveRequest {
                    handle: h.clone(),
                    process_names: vec![],
                    mirror: Some(m),
                }],
                capture_lines: Some(10),
                ..Default::default()
            },
        )
        .unwrap()
        .results
        .remove(&h.id)
        .unwrap()
    };
    wait("the agent to end", 30, || {
        probe(0).process_running == Some(false)
    });
    let l = probe(4);
    assert_eq!(l.files.len(), 1, "{l:?}");
    let f = &l.files[0];
    assert_eq!(
        (f.path.as_str(), f.size, f.offset, f.data_b64.as_str()),
        (format!("{home}/.rec/p/c.jsonl").as_str(), 8, 4, "dHdvCg==")
    );
    assert!(probe(8).files.is_empty());
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h })
        .unwrap();
}

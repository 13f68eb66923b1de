//! runtime-k8s as the host drives it, against testkit's Kubernetes simulator (pods are real
//! containers of the testkit's agent image, the scripted agent mounted from the build), with
//! every manifest it sends checked against the official schemas.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{
    CreateRequest, DeliveryOptions, HandleRequest, IsAliveRequest, ListSessionsRequest, Liveness,
    ProbeRequest, Runtime, RuntimeHandle, SendMessageRequest,
};
use ao_plugin_runtime_k8s::{Config, K8sRuntime};
use ao_testkit::git::git;
use ao_testkit::kube::KubeSim;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct World {
    sim: KubeSim,
    dir: tempfile::TempDir,
    rt: K8sRuntime,
}

fn bin_dir() -> PathBuf {
    ao_testkit::bin_path("ao-scripted-agent")
        .parent()
        .unwrap()
        .to_path_buf()
}

impl World {
    fn new(image: &str) -> Self {
        let sim = KubeSim::start_tls("k8s-token");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, sim.kubeconfig("agents")).unwrap();
        let bin = bin_dir().display().to_string();
        let config: Config = serde_json::from_value(json!({
            "kubeconfig": kubeconfig.display().to_string(),
            "image": image,
            "imagePullPolicy": "Never",
            "limits": {"memory": "512Mi", "cpu": "1"},
            "requests": {"memory": "64Mi", "cpu": "100m"},
            "activeDeadlineSeconds": 600,
            "volumes": [{"name": "bin", "hostPath": {"path": bin, "type": "Directory"}}],
            "volumeMounts": [{"name": "bin", "mountPath": bin, "readOnly": true}],
            "width": 100,
            "height": 30,
            "startTimeoutMs": 30000,
        }))
        .unwrap();
        let host = TestHost::new();
        let rt = K8sRuntime::new(config, &host.handle()).unwrap();
        Self { sim, dir, rt }
    }

    /// A workspace: a repository with a commit on `feat/x`, an origin, and an untracked file.
    fn workspace(&self) -> PathBuf {
        let ws = ao_testkit::git::session_workspace(
            &self.dir.path().join("ws"),
            &[(".hooks.json", "{\"hook\": true}\n")],
        );
        git(
            &ws,
            &[
                "remote",
                "add",
                "origin",
                "https://forge.invalid/acme/app.git",
            ],
        );
        ws
    }

    fn create(&self, session: &str, argv: Vec<String>) -> Result<RuntimeHandle, SdkError> {
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(data.join("prompts")).unwrap();
        let prompt = data.join(format!("prompts/{session}.md"));
        std::fs::write(&prompt, "the system prompt\n").unwrap();
        let env = BTreeMap::from([
            ("AO_SESSION".to_string(), session.to_string()),
            (
                "AO_STATUS_FILE".to_string(),
                self.status(session).display().to_string(),
            ),
            (
                "AO_EXE".to_string(),
                self.dir.path().join("bin/ao").display().to_string(),
            ),
            ("SOME_TOKEN".to_string(), "s3cr3t-value".to_string()),
        ]);
        self.rt.create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: session.into(),
                runtime_name: format!("abc123-{session}"),
                workspace_path: self.workspace().display().to_string(),
                argv,
                env,
                files: vec![prompt.display().to_string()],
                scratch_dir: None,
            },
        )
    }

    fn status(&self, session: &str) -> PathBuf {
        self.dir.path().join(format!("data/status/{session}.jsonl"))
    }

    fn probe(&self, h: &RuntimeHandle) -> Liveness {
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
                    capture_lines: Some(20),
                    status_tail_bytes: Some(8192),
                },
            )
            .unwrap()
            .results
            .remove(&h.id)
            .unwrap()
    }
}

fn wait(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_session_is_a_restricted_pod_that_takes_messages_and_goes_cleanly() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let w = World::new(&image);
    // The scripted agent with hooks, its log in the status directory (an emptyDir of the pod).
    let log = w.dir.path().join("data/status/s1.log");
    let argv = ao_testkit::scripted_agent_argv(&log, Some(&w.status("s1")), &[]);
    let h = w.create("s1", argv).unwrap();
    assert_eq!(h.runtime, "k8s");
    assert_eq!(h.data["workspace"]["path"], "/workspace");

    let mut l = w.probe(&h);
    wait("the agent's screen", 30, || {
        l = w.probe(&h);
        l.screen.as_deref().is_some_and(|s| !s.trim().is_empty())
    });
    assert!(l.alive && l.process_running == Some(true), "{l:?}");

    // Delivery: acknowledged by the hook record written inside the pod, read through exec.
    let sent =
        w.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: "hello from the host".into(),
                delivery: DeliveryOptions {
                    ready_timeout_ms: 15_000,
                    stable_ms: 150,
                    ack_timeout_ms: 5_000,
                    max_enter_retries: 3,
                    status_file: Some(w.status("s1").display().to_string()),
                    screen: None,
                },
            },
        )
        .unwrap();
    assert!(sent.acknowledged, "{sent:?}");
    assert_eq!(sent.evidence, "hook: UserPromptSubmit");
    assert!(!w.status("s1").exists(), "the status file is the pod's");
    wait("the status tail", 10, || {
        w.probe(&h)
            .status_tail
            .is_some_and(|t| t.contains("UserPromptSubmit"))
    });

    // The workspace was cloned in the pod from the copied bundle, its untracked file excluded.
    let pod = w.sim.pod("agents", &h.id).unwrap();
    assert_eq!(pod["status"]["phase"], "Running");
    let uid = pod["metadata"]["uid"].as_str().unwrap();
    let prompt = w.dir.path().join("data/prompts/s1.md");
    let seen = std::process::Command::new("docker")
        .args(["exec", &format!("kubesim-{}-agent", &uid[..12]), "sh", "-c"])
        .arg(format!(
            "cd /workspace && g='git -c safe.directory=*' && $g rev-parse --abbrev-ref HEAD && cat README .hooks.json && $g status --porcelain | wc -l && $g remote get-url origin && cat {} && id -u",
            prompt.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout),
        "feat/x\nhello\n{\"hook\": true}\n0\nhttps://forge.invalid/acme/app.git\nthe system prompt\n1000\n",
        "{}",
        String::from_utf8_lossy(&seen.stderr)
    );
    // The agent's records under its home inside come with the probe: what grew since the
    // host's copy, then nothing when the copy is whole.
    assert_eq!(h.inside(), Some(("/workspace", "/home/ao")));
    let rec = std::process::Command::new("docker")
        .args(["exec", &format!("kubesim-{}-agent", &uid[..12]), "sh", "-c"])
        .arg("mkdir -p $HOME/.rec/p && printf 'one\\ntwo\\n' > $HOME/.rec/p/c.jsonl")
        .output()
        .unwrap();
    assert!(rec.status.success(), "{rec:?}");
    let mirror = |have: u64| {
        let mut m = ao_plugin_api::slots::runtime::Mirror {
            roots: vec!["/home/ao/.rec".into()],
            since_ms: Some(0),
            ..Default::default()
        };
        if have > 0 {
            m.have.insert("/home/ao/.rec/p/c.jsonl".into(), have);
        }
        w.rt.probe(
            &Ctx::detached(),
            ProbeRequest {
                targets: vec![IsAliveRequest {
                    handle: h.clone(),
                    process_names: vec![],
                    mirror: Some(m),
                }],
                mirror_bytes: None,
                ..Default::default()
            },
        )
        .unwrap()
        .results
        .remove(&h.id)
        .unwrap()
        .files
    };
    let first = mirror(0);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].path.as_str(), first[0].size, first[0].offset),
        ("/home/ao/.rec/p/c.jsonl", 8, 0)
    );
    // Base64 of the whole file, then of what follows the host's 4 bytes, then nothing; a
    // copy longer than the file (replaced inside) starts again.
    assert_eq!(first[0].data_b64, "b25lCnR3bwo=");
    let rest = mirror(4);
    assert_eq!((rest[0].offset, rest[0].data_b64.as_str()), (4, "dHdvCg=="));
    assert!(mirror(8).is_empty());
    assert_eq!(mirror(100)[0].offset, 0);

    let listed =
        w.rt.list_sessions(
            &Ctx::detached(),
            ListSessionsRequest {
                prefix: "abc123-".into(),
            },
        )
        .unwrap();
    assert_eq!(listed.sessions.len(), 1);

    // Every manifest sent passes the official schemas, and no secret value is in the pod.
    for (path, body) in w.sim.bodies() {
        if let Some(checked) = ao_testkit::kube::validate(&body) {
            checked.unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        if path.ends_with("/pods") {
            assert!(!body.to_string().contains("s3cr3t-value"), "{body}");
        }
    }

    // Nothing unpushed: destroy removes the pod and its Secret; again is fine.
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    wait("the pod to go", 30, || w.sim.pod("agents", &h.id).is_none());
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h })
        .unwrap();
}

#[test]
fn a_pod_that_cannot_start_fails_the_create_and_leaves_nothing() {
    if ao_testkit::docker::agent_image().is_none() {
        return;
    }
    let w = World::new("ao-no-such-image:0");
    let e = w.create("s2", vec!["true".into()]).unwrap_err();
    assert!(e.to_string().contains("ErrImageNeverPull"), "{e}");
    wait("the pod to go", 30, || {
        w.sim.pod("agents", "abc123-s2").is_none()
    });
}

#[test]
fn an_agent_that_ends_ends_its_pod_with_its_status_and_last_words() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let w = World::new(&image);
    let argv = ["sh", "-c", "echo 'error: no credentials'; sleep 1; exit 3"]
        .map(String::from)
        .to_vec();
    let h = w.create("s3", argv).unwrap();
    let mut l = w.probe(&h);
    wait("the pod to end", 30, || {
        l = w.probe(&h);
        l.process_running == Some(false)
    });
    assert_eq!(l.detail, "the agent exited with status 3");
    assert!(
        l.screen
            .as_deref()
            .is_some_and(|s| s.contains("error: no credentials")),
        "{l:?}"
    );
    // Nothing is typed into an ended session, and the error says why.
    let e =
        w.rt.send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: "hello?".into(),
                delivery: DeliveryOptions::default(),
            },
        )
        .unwrap_err();
    assert!(
        matches!(&e, SdkError::NotFound(m) if m.contains("nothing was typed")),
        "{e}"
    );
    w.rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() })
        .unwrap();
    wait("the pod to go", 30, || w.sim.pod("agents", &h.id).is_none());
}

//! Benchmark body for `scripts/bench/k8s`: runtime-k8s against testkit's Kubernetes simulator
//! (TLS; each pod a real container of the testkit's agent image running the scripted agent).
//! Prints, for N sessions (default 30): spawn → agent ready per session (pod created, the
//! workspace bundle copied in by exec, the first `ready` hook record read back by exec), one
//! probe over all of them (the LIST alone, and with every screen and status tail by exec), the
//! latency of an acknowledged delivery over the exec WebSocket, and destroy. The API server is
//! the simulator, so these are the client's and the exec path's figures, not a cluster's.
#![allow(clippy::print_stdout)]

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::runtime::{CreateRequest, IsAliveRequest, ProbeRequest, Runtime};
use ao_plugin_runtime_k8s::{Config, K8sRuntime};
use ao_testkit::bench::{ms, stats};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let Some(image) = ao_testkit::docker::agent_image() else {
        println!("no Docker engine: nothing measured");
        return;
    };
    let sim = ao_testkit::kube::KubeSim::start_tls("bench-token");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig("agents")).unwrap();
    let bin = ao_testkit::bin_path("ao-scripted-agent")
        .parent()
        .unwrap()
        .display()
        .to_string();
    let config: Config = serde_json::from_value(serde_json::json!({
        "kubeconfig": kubeconfig,
        "image": image,
        "imagePullPolicy": "Never",
        "limits": {"memory": "128Mi"},
        "volumes": [{"name": "bin", "hostPath": {"path": bin, "type": "Directory"}}],
        "volumeMounts": [{"name": "bin", "mountPath": bin, "readOnly": true}],
        "startTimeoutMs": 60000,
    }))
    .unwrap();
    let rt = K8sRuntime::new(config, &TestHost::new().handle()).unwrap();
    let ctx = Ctx::detached();
    let ws = ao_testkit::git::session_workspace(&dir.path().join("ws"), &[]);
    println!("runtime-k8s over {n} sessions (Kubernetes simulator, {image})");

    let (mut created, mut ready) = (Vec::new(), Vec::new());
    let mut handles = Vec::new();
    for i in 0..n {
        let status = dir.path().join(format!("data/status/{i}.jsonl"));
        let log = dir.path().join(format!("data/status/{i}.log"));
        let argv = ao_testkit::scripted_agent_argv(&log, Some(&status), &[]);
        let env = BTreeMap::from([("AO_STATUS_FILE".to_string(), status.display().to_string())]);
        let t = Instant::now();
        let h = rt
            .create(
                &ctx,
                CreateRequest {
                    session_id: format!("s{i}"),
                    runtime_name: format!("bench-s{i}"),
                    workspace_path: ws.display().to_string(),
                    argv,
                    env,
                    files: Vec::new(),
                    copies: Vec::new(),
                    scratch_dir: None,
                },
            )
            .unwrap();
        created.push(ms(t.elapsed()));
        let target = IsAliveRequest {
            handle: h.clone(),
            process_names: vec![],
            mirror: None,
        };
        loop {
            let r = rt
                .probe(
                    &ctx,
                    ProbeRequest {
                        targets: vec![target.clone()],
                        status_tail_bytes: Some(4096),
                        ..Default::default()
                    },
                )
                .unwrap();
            let tail = r.results.get(&h.id).and_then(|l| l.status_tail.clone());
            if tail.is_some_and(|t| !t.trim().is_empty()) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "session {i} never ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ready.push(ms(t.elapsed()));
        handles.push((h, status));
    }
    stats("create (pod running, workspace in)", created);
    stats("spawn -> agent ready (first hook)", ready);

    let targets: Vec<IsAliveRequest> = handles
        .iter()
        .map(|(h, _)| IsAliveRequest {
            handle: h.clone(),
            process_names: vec![],
            mirror: None,
        })
        .collect();
    for (label, lines, tail) in [
        ("probe, LIST only", None, None),
        (
            "probe with every screen and status tail",
            Some(40),
            Some(16384),
        ),
    ] {
        let mut v = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = rt
                .probe(
                    &ctx,
                    ProbeRequest {
                        targets: targets.clone(),
                        capture_lines: lines,
                        status_tail_bytes: tail,
                        mirror_bytes: None,
                    },
                )
                .unwrap();
            v.push(ms(t.elapsed()));
            assert!(r.results.values().all(|l| l.alive));
            if lines.is_some() {
                assert!(r.results.values().all(|l| l.screen.is_some()));
            }
        }
        stats(&format!("{label} ({n})"), v);
    }

    // One exec alone (a capture), one after the other: the floor under every figure above.
    let mut one = Vec::new();
    for (h, _) in handles.iter().take(20) {
        let t = Instant::now();
        rt.get_output(
            &ctx,
            ao_plugin_api::slots::runtime::GetOutputRequest {
                handle: h.clone(),
                lines: 40,
            },
        )
        .unwrap();
        one.push(ms(t.elapsed()));
    }
    stats("one exec (a screen capture)", one);

    ao_testkit::bench::deliver_then_destroy(&rt, &ctx, handles);
}

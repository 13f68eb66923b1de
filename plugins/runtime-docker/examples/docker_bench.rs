//! Benchmark body for `scripts/bench/docker`: runtime-docker against the real engine with the
//! testkit's agent image and scripted agent. Prints, for N sessions (default 100): spawn →
//! agent ready per session (create, start, tmux up, the agent's first `ready` hook record),
//! one probe over all of them (the list call alone, and with every screen), the latency of an
//! acknowledged delivery over exec, and destroy. Mount mode (no clone), so the figures are the
//! runtime's own, not git's.
#![allow(clippy::print_stdout)]

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::runtime::{CreateRequest, IsAliveRequest, ProbeRequest, Runtime};
use ao_plugin_api::status_file;
use ao_plugin_runtime_docker::{Config, DockerRuntime};
use ao_testkit::bench::{ms, stats};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let Some(image) = ao_testkit::docker::agent_image() else {
        println!("no Docker engine: nothing measured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let agent = ao_testkit::bin_path("ao-scripted-agent");
    let config: Config = serde_json::from_value(serde_json::json!({
        "image": image,
        "workspace": "mount",
        "network": "none",
        "memory": "128m",
        "mounts": [
            {"source": agent.parent().unwrap()},
            {"source": dir.path(), "readOnly": false}
        ]
    }))
    .unwrap();
    let rt = DockerRuntime::new(config, &TestHost::new().handle()).unwrap();
    let ctx = Ctx::detached();
    let name = |i: usize| format!("ao-bench-{i}");
    let names: Vec<String> = (0..n).map(name).collect();
    ao_testkit::docker::remove(&names.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    println!("runtime-docker over {n} sessions ({image})");

    let (mut created, mut ready) = (Vec::new(), Vec::new());
    let mut handles = Vec::new();
    for i in 0..n {
        let status = dir.path().join(format!("{i}.status"));
        let log = dir.path().join(format!("{i}.log"));
        let argv = ao_testkit::scripted_agent_argv(&log, Some(&status), &[]);
        let t = Instant::now();
        let h = rt
            .create(
                &ctx,
                CreateRequest {
                    copies: Vec::new(),
                    session_id: i.to_string(),
                    runtime_name: name(i),
                    workspace_path: ws.display().to_string(),
                    argv,
                    env: BTreeMap::new(),
                    files: Vec::new(),
                    scratch_dir: None,
                },
            )
            .unwrap();
        created.push(ms(t.elapsed()));
        while status_file::latest(&status).is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "session {i} never ready"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        ready.push(ms(t.elapsed()));
        handles.push((h, status));
    }
    stats("create (container up, tmux up)", created);
    stats("spawn -> agent ready (first hook)", ready);

    let targets: Vec<IsAliveRequest> = handles
        .iter()
        .map(|(h, _)| IsAliveRequest {
            mirror: None,
            handle: h.clone(),
            process_names: vec![],
        })
        .collect();
    for (label, lines) in [
        ("probe, list only", None),
        ("probe with every screen", Some(40)),
    ] {
        let mut v = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = rt
                .probe(
                    &ctx,
                    ProbeRequest {
                        mirror_bytes: None,
                        targets: targets.clone(),
                        status_tail_bytes: None,
                        capture_lines: lines,
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

    ao_testkit::bench::deliver_then_destroy(&rt, &ctx, handles);
}

//! One scenario, for the simulator and, opt-in, for a real cluster: a session is created, read,
//! typed into and destroyed through the API server, with nothing of the test's machine in the
//! pod. For a real cluster, `AO_TEST_KUBECONFIG` names a kubeconfig (its current context, or
//! `AO_TEST_KUBE_CONTEXT`) and `AO_TEST_KUBE_IMAGE` an image the cluster can pull that has `sh`,
//! `tmux`, `git` and GNU `tar` (`AO_TEST_KUBE_NAMESPACE`, default `default`, needs the RBAC the
//! README lists). Without them that test says it is skipped: CI has no cluster.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{
    CreateRequest, DeliveryOptions, HandleRequest, IsAliveRequest, ProbeRequest, Runtime,
    SendMessageRequest,
};
use ao_plugin_runtime_k8s::{Config, K8sRuntime};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn a_session_runs_on_the_cluster_named_by_ao_test_kubeconfig() {
    let (Ok(kubeconfig), Ok(image)) = (
        std::env::var("AO_TEST_KUBECONFIG"),
        std::env::var("AO_TEST_KUBE_IMAGE"),
    ) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "skipped: set AO_TEST_KUBECONFIG and AO_TEST_KUBE_IMAGE to run against a real cluster"
            );
        }
        return;
    };
    let namespace = std::env::var("AO_TEST_KUBE_NAMESPACE").unwrap_or_else(|_| "default".into());
    scenario(
        &kubeconfig,
        &image,
        &namespace,
        std::env::var("AO_TEST_KUBE_CONTEXT").ok(),
    );
}

#[test]
fn the_real_cluster_scenario_passes_on_the_simulator() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let sim = ao_testkit::kube::KubeSim::start_tls("real-token");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig("agents")).unwrap();
    scenario(&kubeconfig.display().to_string(), &image, "agents", None);
}

fn scenario(kubeconfig: &str, image: &str, namespace: &str, context: Option<String>) {
    let mut config = json!({
        "kubeconfig": kubeconfig,
        "image": image,
        "namespace": namespace,
        "limits": {"memory": "256Mi", "cpu": "500m"},
        "activeDeadlineSeconds": 900,
        "startTimeoutMs": 300000,
        "commandTimeoutMs": 30000,
    });
    if let Some(c) = context {
        config["context"] = json!(c);
    }
    let config: Config = serde_json::from_value(config).unwrap();
    let rt = K8sRuntime::new(config, &TestHost::new().handle()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = ao_testkit::git::session_workspace(&dir.path().join("ws"), &[]);
    let status = dir.path().join("data/status/real-1.jsonl");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    // An agent that echoes what it reads, one line at a time.
    let argv = [
        "sh",
        "-c",
        "cat README; while read -r l; do echo \"got: $l\"; done",
    ]
    .map(String::from)
    .to_vec();
    let h = rt
        .create(
            &Ctx::detached(),
            CreateRequest {
                copies: Vec::new(),
                session_id: "real-1".into(),
                runtime_name: format!("aotest{nanos:x}-real-1"),
                workspace_path: ws.display().to_string(),
                argv,
                env: BTreeMap::from([("AO_STATUS_FILE".to_string(), status.display().to_string())]),
                files: vec![],
                scratch_dir: None,
            },
        )
        .unwrap();
    let probe = || {
        rt.probe(
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
        .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !probe().screen.unwrap_or_default().contains("hello") {
        assert!(
            Instant::now() < deadline,
            "the agent's screen never showed the workspace"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let sent = rt
        .send_message(
            &Ctx::detached(),
            SendMessageRequest {
                handle: h.clone(),
                text: "ping".into(),
                delivery: DeliveryOptions::default(),
            },
        )
        .unwrap();
    assert!(sent.acknowledged, "{sent:?}");
    assert!(probe().screen.unwrap_or_default().contains("got: ping"));
    match rt.destroy(&Ctx::detached(), HandleRequest { handle: h.clone() }) {
        Ok(()) | Err(SdkError::NotFound(_)) => {}
        Err(e) => panic!("destroy: {e}"),
    }
}

//! runtime-k8s's client against testkit's Kubernetes simulator, whose pods are real containers.

use ao_plugin_api::sdk::SdkError;
use ao_plugin_runtime_k8s::api::Api;
use ao_plugin_runtime_k8s::exec::exec;
use ao_plugin_runtime_k8s::kubeconfig;
use ao_testkit::kube::KubeSim;
use serde_json::json;
use std::time::{Duration, Instant};

fn api(sim: &KubeSim, token_override: Option<&str>) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut text = sim.kubeconfig("agents");
    if let Some(t) = token_override {
        text = text.replace("token: ", &format!("token: {t}#"));
    }
    let path = dir.path().join("config");
    std::fs::write(&path, text).unwrap();
    let target = kubeconfig::load(&path, None).unwrap();
    Api::new(target, Duration::from_secs(10)).unwrap()
}

#[test]
fn the_client_creates_lists_execs_into_and_deletes_pods() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let sim = KubeSim::start("tok-1");
    let a = api(&sim, None);
    assert_eq!(a.namespace(), "agents");
    assert_eq!(a.get("/version").unwrap()["major"], "1");
    let e = api(&sim, Some("wrong")).get("/version").unwrap_err();
    assert!(e.to_string().contains("credentials were refused"), "{e}");

    let pods = "/api/v1/namespaces/agents/pods";
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "k1", "labels": {"ao.dev/instance": "abc"}},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "agent", "image": image, "imagePullPolicy": "Never",
            "command": ["sh", "-c", "echo up; sleep 600"],
        }]},
    });
    a.post(pods, &pod).unwrap();
    let e = a.post(pods, &pod).unwrap_err();
    assert!(matches!(e, SdkError::Conflict(_)), "{e}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.get(&format!("{pods}/k1")).unwrap()["status"]["phase"] != "Running" {
        assert!(Instant::now() < deadline, "k1 never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    let list = a
        .get(&format!("{pods}?labelSelector=ao.dev%2Finstance%3Dabc"))
        .unwrap();
    assert_eq!(list["items"][0]["metadata"]["name"], "k1");

    let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let t = Duration::from_secs(10);
    let out = exec(
        &a,
        "k1",
        "agent",
        &argv(&["cat"]),
        Some(b"text \xe2\x9c\x93 in"),
        t,
    )
    .unwrap();
    assert_eq!(out.protocol, "v5.channel.k8s.io");
    assert_eq!((out.stdout.as_str(), out.exit_code), ("text ✓ in", Some(0)));
    let out = exec(
        &a,
        "k1",
        "agent",
        &argv(&["sh", "-c", "echo oops >&2; exit 3"]),
        None,
        t,
    )
    .unwrap();
    assert_eq!((out.stderr.as_str(), out.exit_code), ("oops\n", Some(3)));
    let e = exec(&a, "k0", "agent", &argv(&["true"]), None, t).unwrap_err();
    assert!(matches!(e, SdkError::NotFound(_)), "{e}");
    assert_eq!(
        a.get_text(&format!("{pods}/k1/log?tailLines=1")).unwrap(),
        "up\n"
    );

    a.delete(
        &format!("{pods}/k1"),
        Some(&json!({"gracePeriodSeconds": 1})),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match a.get(&format!("{pods}/k1")) {
            Err(SdkError::NotFound(_)) => break,
            _ => assert!(Instant::now() < deadline, "k1 never went"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn over_tls_the_kubeconfigs_ca_is_trusted_and_no_other() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let sim = KubeSim::start_tls("tok-2");
    assert!(sim.url().starts_with("https://127.0.0.1:"));
    let a = api(&sim, None);
    assert_eq!(a.get("/version").unwrap()["major"], "1");
    let pods = "/api/v1/namespaces/agents/pods";
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "t1"},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "agent", "image": image, "imagePullPolicy": "Never",
            "command": ["sh", "-c", "sleep 600"],
        }]},
    });
    a.post(pods, &pod).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.get(&format!("{pods}/t1")).unwrap()["status"]["phase"] != "Running" {
        assert!(Instant::now() < deadline, "t1 never ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Exec over wss, stdin closed by v5.
    let argv = vec!["cat".to_string()];
    let out = exec(
        &a,
        "t1",
        "agent",
        &argv,
        Some(b"over tls"),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!((out.stdout.as_str(), out.exit_code), ("over tls", Some(0)));

    // Without the CA, the server's certificate is refused, by REST and by exec alike.
    let dir = tempfile::tempdir().unwrap();
    let text: String = sim
        .kubeconfig("agents")
        .lines()
        .filter(|l| !l.contains("certificate-authority-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.path().join("config");
    std::fs::write(&path, &text).unwrap();
    let untrusting = Api::new(
        kubeconfig::load(&path, None).unwrap(),
        Duration::from_secs(10),
    )
    .unwrap();
    let e = untrusting.get("/version").unwrap_err().to_string();
    assert!(
        e.contains("certificate") || e.contains("UnknownIssuer"),
        "{e}"
    );
    let e = exec(
        &untrusting,
        "t1",
        "agent",
        &argv,
        None,
        Duration::from_secs(10),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("certificate") || e.contains("UnknownIssuer"),
        "{e}"
    );
    // insecure-skip-tls-verify, as kubectl, takes any certificate.
    let insecure = text.replace(
        "    server:",
        "    insecure-skip-tls-verify: true\n    server:",
    );
    std::fs::write(&path, insecure).unwrap();
    let skipping = Api::new(
        kubeconfig::load(&path, None).unwrap(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(skipping.get("/version").unwrap()["major"], "1");
    let out = exec(
        &skipping,
        "t1",
        "agent",
        &argv,
        Some(b"x"),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(out.stdout, "x");
}

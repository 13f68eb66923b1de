//! The Kubernetes simulator against a plain HTTP client and a plain WebSocket client, with pods
//! run as real containers of the testkit's agent image: what runtime-k8s relies on behaves as
//! the API reference says.

use ao_testkit::kube::KubeSim;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

const TOKEN: &str = "sim-token";

struct Api<'a> {
    sim: &'a KubeSim,
    agent: ureq::Agent,
}

impl Api<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.sim.url());
        let auth = format!("Bearer {TOKEN}");
        let res = match (method, body) {
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(b.to_string()),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("authorization", &auth)
                .call(),
            _ => self.agent.get(&url).header("authorization", &auth).call(),
        }
        .unwrap();
        let code = res.status().as_u16();
        let text = res.into_body().read_to_string().unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn wait_phase(&self, name: &str, phase: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, pod) = self.call("GET", &format!("/api/v1/namespaces/ns1/pods/{name}"), None);
            if pod["status"]["phase"] == phase {
                return pod;
            }
            assert!(Instant::now() < deadline, "{name} never {phase}: {pod:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn pod(name: &str, image: &str, script: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"ao.dev/instance": "abc", "ao.dev/session": name}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "agent",
                "image": image,
                "imagePullPolicy": "Never",
                "command": ["/bin/sh", "-c", script],
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }],
        },
    })
}

/// One exec over WebSocket: sends `stdin` then (v5) closes it; returns stdout, stderr and the
/// final status.
fn exec(
    sim: &KubeSim,
    pod: &str,
    command: &[&str],
    protocol: &str,
    stdin: Option<&str>,
) -> (String, String, Value) {
    let mut q = String::new();
    for c in command {
        q.push_str(&format!("command={}&", form(c)));
    }
    q.push_str("stdout=true&stderr=true");
    if stdin.is_some() {
        q.push_str("&stdin=true");
    }
    let url = format!(
        "{}/api/v1/namespaces/ns1/pods/{pod}/exec?{q}",
        sim.url().replacen("http://", "ws://", 1)
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    let (mut ws, res) = tungstenite::connect(req).unwrap();
    assert_eq!(
        res.headers()["sec-websocket-protocol"].to_str().unwrap(),
        protocol
    );
    if let Some(text) = stdin {
        let mut m = vec![0u8];
        m.extend_from_slice(text.as_bytes());
        ws.send(Message::Binary(m.into())).unwrap();
        if protocol.starts_with("v5") {
            ws.send(Message::Binary(vec![255u8, 0].into())).unwrap();
        }
    }
    let (mut out, mut err, mut end) = (String::new(), String::new(), Value::Null);
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => match b.split_first() {
                Some((1, d)) => out.push_str(&String::from_utf8_lossy(d)),
                Some((2, d)) => err.push_str(&String::from_utf8_lossy(d)),
                Some((3, d)) => end = serde_json::from_slice(d).unwrap(),
                _ => {}
            },
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    (out, err, end)
}

fn form(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn pods_live_as_containers_and_exec_speaks_both_channel_protocols() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let sim = KubeSim::start(TOKEN);
    let api = Api {
        sim: &sim,
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into(),
    };
    // No token, no answer.
    let res = api
        .agent
        .get(format!("{}/version", sim.url()))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (code, v) = api.call("GET", "/version", None);
    assert_eq!((code, v["major"].as_str()), (200, Some("1")));

    let pods = "/api/v1/namespaces/ns1/pods";
    let (code, created) = api.call(
        "POST",
        pods,
        Some(pod("p1", &image, "echo started; sleep 600")),
    );
    assert_eq!(code, 201, "{created}");
    assert!(created["metadata"]["uid"].is_string());
    let (code, again) = api.call("POST", pods, Some(pod("p1", &image, "true")));
    assert_eq!(
        (code, again["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    let (code, bad) = api.call("POST", pods, Some(pod("Not_A_Name", &image, "true")));
    assert_eq!((code, bad["reason"].as_str()), (422, Some("Invalid")));

    let running = api.wait_phase("p1", "Running");
    assert!(running["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].is_string());
    let (_, list) = api.call(
        "GET",
        &format!("{pods}?labelSelector=ao.dev%2Finstance%3Dabc&resourceVersion=0"),
        None,
    );
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["metadata"]["resourceVersion"].is_string());
    let (_, none) = api.call(
        "GET",
        &format!("{pods}?labelSelector=ao.dev%2Finstance%3Dother"),
        None,
    );
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // v5 closes stdin, so `cat` ends; v4 reports a non-zero exit in its status.
    let (out, _, end) = exec(
        &sim,
        "p1",
        &["cat"],
        "v5.channel.k8s.io",
        Some("hello over v5"),
    );
    assert_eq!(out, "hello over v5");
    assert_eq!(end["status"], "Success", "{end}");
    let (out, err, end) = exec(
        &sim,
        "p1",
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        "v4.channel.k8s.io",
        None,
    );
    assert_eq!((out.as_str(), err.as_str()), ("out\n", "err\n"));
    assert_eq!(end["reason"], "NonZeroExitCode", "{end}");
    assert_eq!(end["details"]["causes"][0]["message"], "3");

    let (code, log) = api.call("GET", &format!("{pods}/p1/log?tailLines=5"), None);
    assert_eq!(code, 200);
    assert_eq!(log, Value::String("started\n".into()));

    // A Secret reaches an init container, which hands a file to the agent through an emptyDir;
    // the agent fails and its log is the termination message.
    let (code, _) = api.call(
        "POST",
        "/api/v1/namespaces/ns1/secrets",
        Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"}, "stringData": {"token": "t0k3n"}})),
    );
    assert_eq!(code, 201);
    let mut p2 = pod("p2", &image, "echo \"got $(cat /w/token)\"; exit 4");
    p2["spec"]["volumes"] = json!([{"name": "w", "emptyDir": {}}]);
    p2["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "w", "mountPath": "/w"}]);
    p2["spec"]["initContainers"] = json!([{
        "name": "clone",
        "image": image,
        "command": ["/bin/sh", "-c", "printf %s \"$TOKEN\" > /w/token"],
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "git", "key": "token"}}}],
        "volumeMounts": [{"name": "w", "mountPath": "/w"}],
    }]);
    let (code, _) = api.call("POST", pods, Some(p2));
    assert_eq!(code, 201);
    let failed = api.wait_phase("p2", "Failed");
    let term = &failed["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["exitCode"], 4, "{failed:#}");
    assert_eq!(term["message"], "got t0k3n\n");
    assert_eq!(
        failed["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );
    // Exec into a pod that is not running is refused.
    let url = format!(
        "{}/api/v1/namespaces/ns1/pods/p2/exec?command=true",
        sim.url()
    );
    let res = api
        .agent
        .get(&url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);

    // Delete: the pod is marked, then gone with its container.
    let (code, deleting) = api.call("DELETE", &format!("{pods}/p1?gracePeriodSeconds=1"), None);
    assert_eq!(code, 200);
    assert!(deleting["metadata"]["deletionTimestamp"].is_string());
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.call("GET", &format!("{pods}/p1"), None).0 != 404 {
        assert!(Instant::now() < deadline, "p1 never went");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, gone) = api.call("DELETE", &format!("{pods}/p1"), None);
    assert_eq!((code, gone["reason"].as_str()), (404, Some("NotFound")));

    // The manifests this test sent are the real thing, all but the one meant to be refused.
    for (path, body) in sim.bodies() {
        if body["metadata"]["name"] == "Not_A_Name" {
            continue;
        }
        if let Some(checked) = ao_testkit::kube::validate(&body) {
            checked.unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
    let mut misspelt = pod("p3", &image, "true");
    misspelt["spec"]["restartPolicyy"] = json!("Never");
    if let Some(checked) = ao_testkit::kube::validate(&misspelt) {
        assert!(checked.unwrap_err().contains("restartPolicyy"));
    }
}

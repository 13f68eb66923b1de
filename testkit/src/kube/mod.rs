//! A Kubernetes API server for runtime-k8s's tests, written from the API reference: the core/v1
//! paths the runtime uses (pods: create, get, list with `labelSelector` and `resourceVersion`,
//! delete, `log`, `exec` over WebSocket with the `v4.channel.k8s.io` and `v5.channel.k8s.io`
//! subprotocols; secrets: create, get, delete; `/version`), bearer-token auth, and `Status`
//! errors in the API's shape. A kubelet of its own runs each pod as real Docker containers
//! (init containers to completion, then the first container) and drives the pod's phase and
//! container states, so exec reaches a real tmux inside. Every body the client sends is kept
//! ([`KubeSim::bodies`]) for the tests to validate against the official schemas.
//!
//! Not modelled: scheduling, image pulls (images must be on the engine), admission (Pod
//! Security), watches. Pods share the host's network (a test's other simulators listen on
//! 127.0.0.1); an `emptyDir` is a directory of this machine (0777, as a kubelet makes it;
//! `medium: Memory`: a tmpfs per container), and a `hostPath` this machine's path.

mod api;
mod exec;
mod kubelet;
pub mod selector;

use crate::serve::Background;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The Kubernetes version the simulator reports.
pub const VERSION: (&str, &str) = ("1", "33");

/// A running simulator; dropping it stops the server and removes every pod's containers and
/// volumes.
pub struct KubeSim {
    server: Background,
    state: Arc<State>,
    /// With TLS: the front that terminates it, and the CA that signed its certificate.
    tls: Option<crate::tls::Front>,
}

/// Everything the API holds.
pub(crate) struct State {
    pub(crate) token: String,
    /// The last resourceVersion handed out.
    rv: AtomicU64,
    pub(crate) pods: Mutex<BTreeMap<(String, String), Value>>,
    pub(crate) secrets: Mutex<BTreeMap<(String, String), Value>>,
    /// Bodies of POSTs, with their path.
    pub(crate) bodies: Mutex<Vec<(String, Value)>>,
    /// Names Docker knows this simulator's containers and volumes by, for the cleanup.
    pub(crate) docker_names: Mutex<Vec<(String, String)>>,
}

impl State {
    /// The next resourceVersion.
    pub(crate) fn next_rv(&self) -> String {
        (self.rv.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }

    pub(crate) fn current_rv(&self) -> String {
        self.rv.load(Ordering::SeqCst).to_string()
    }

    /// Changes a stored pod (a status update) and bumps its resourceVersion; a deleted pod is
    /// left alone.
    pub(crate) fn update_pod(&self, key: &(String, String), f: impl FnOnce(&mut Value)) {
        let mut pods = self.pods.lock().unwrap();
        if let Some(p) = pods.get_mut(key) {
            f(p);
            p["metadata"]["resourceVersion"] = json!(self.next_rv());
        }
    }

    pub(crate) fn pod(&self, key: &(String, String)) -> Option<Value> {
        self.pods.lock().unwrap().get(key).cloned()
    }
}

impl KubeSim {
    /// Serves on an ephemeral port of 127.0.0.1, accepting `Bearer {token}`.
    pub fn start(token: &str) -> Self {
        let state = Arc::new(State {
            token: token.to_string(),
            rv: AtomicU64::new(1000),
            pods: Mutex::new(BTreeMap::new()),
            secrets: Mutex::new(BTreeMap::new()),
            bodies: Mutex::new(Vec::new()),
            docker_names: Mutex::new(Vec::new()),
        });
        let server = Background::start(api::router(state.clone()), 0, 2, "kube-sim")
            .expect("start the Kubernetes simulator");
        Self {
            server,
            state,
            tls: None,
        }
    }

    /// The same behind TLS, as every real API server is: `https://127.0.0.1:<port>` with a
    /// certificate for 127.0.0.1 signed by a CA of its own ([`KubeSim::ca_pem`]), made with the
    /// `openssl` CLI.
    pub fn start_tls(token: &str) -> Self {
        let mut sim = Self::start(token);
        let port: u16 = sim
            .server
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the server's port");
        sim.tls = Some(crate::tls::Front::start(port, false));
        sim
    }

    /// The CA of a TLS simulator (PEM).
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.tls.as_ref().map(|t| t.ca_pem.as_slice())
    }

    /// `http://127.0.0.1:<port>`, or `https://…` for a TLS simulator.
    pub fn url(&self) -> &str {
        match &self.tls {
            Some(t) => &t.url,
            None => &self.server.url,
        }
    }

    /// The POST bodies the client sent, with their paths, in order.
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.state.bodies.lock().unwrap().clone()
    }

    /// A Secret made by hand, as `kubectl create secret generic NAME --from-literal=k=v`
    /// would (what a user prepares for `secretEnv` or a clone token).
    pub fn add_secret(&self, namespace: &str, name: &str, data: &[(&str, &str)]) {
        use base64::Engine as _;
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| {
                let b64 = base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
                (k.to_string(), json!(b64))
            })
            .collect();
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": self.state.next_rv()},
            "type": "Opaque",
            "data": data,
        });
        self.state
            .secrets
            .lock()
            .unwrap()
            .insert((namespace.to_string(), name.to_string()), secret);
    }

    /// A pod as stored (metadata, spec, status), if it exists.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Value> {
        self.state.pod(&(namespace.to_string(), name.to_string()))
    }

    /// A kubeconfig for this server, its one context named `sim`, namespace `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        let ca = self
            .ca_pem()
            .map(|pem| {
                use base64::Engine;
                format!(
                    "    certificate-authority-data: {}\n",
                    base64::engine::general_purpose::STANDARD.encode(pem)
                )
            })
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim\n  cluster:\n    server: {}\n{ca}contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: {namespace}\nusers:\n- name: sim\n  user:\n    token: {}\n",
            self.url(),
            self.state.token
        )
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        let mut names: Vec<(String, String)> =
            self.state.docker_names.lock().unwrap().drain(..).collect();
        // Containers first: a volume in use cannot go.
        names.sort_by_key(|(kind, _)| kind != "container");
        for (kind, name) in names {
            let args: Vec<&str> = match kind.as_str() {
                "container" => vec!["rm", "-f", &name],
                "dir" => {
                    let _ = std::fs::remove_dir_all(&name);
                    continue;
                }
                _ => vec!["volume", "rm", "-f", &name],
            };
            let _ = std::process::Command::new("docker")
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// A `Status` error in the API's shape.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// RFC 3339 in UTC, to the second, as the API writes times.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Validates a manifest against the official Kubernetes JSON schemas in strict mode (unknown
/// fields refused), for the oldest and newest versions runtime-k8s supports, with the PyPI
/// package `kubernetes-validate` that `.ci/run` installs. `None` when the tool is missing here
/// (a note on stderr; under `CI=true` a failure).
pub fn validate(manifest: &Value) -> Option<Result<(), String>> {
    let tool = std::process::Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tool {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but kubernetes-validate is missing: .ci/run installs it"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "skipped: kubernetes-validate is not installed (pip install kubernetes-validate)"
            );
        }
        return None;
    }
    let file = tempfile::Builder::new()
        .suffix(".json")
        .tempfile()
        .expect("a temp file");
    std::fs::write(file.path(), manifest.to_string()).expect("write the manifest");
    for version in ["1.33.0", "1.37.0"] {
        let out = std::process::Command::new("kubernetes-validate")
            .args(["--strict", "--quiet", "-k", version])
            .arg(file.path())
            .output()
            .expect("run kubernetes-validate");
        if !out.status.success() {
            let mut why = String::from_utf8_lossy(&out.stdout).into_owned();
            why.push_str(&String::from_utf8_lossy(&out.stderr));
            return Some(Err(format!("{version}: {}", why.trim())));
        }
    }
    Some(Ok(()))
}

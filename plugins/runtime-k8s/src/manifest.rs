//! What a session is on the cluster: a bare Pod (`restartPolicy: Never`: a stateful singleton
//! nothing restarts behind ao's back) and a Secret of its own. Pure: built from the config and
//! the request, checked by unit tests and, in the tests, against the official schemas.
//!
//! The pod passes the `restricted` Pod Security level: non-root, no privilege escalation, every
//! capability dropped, `RuntimeDefault` seccomp, no service-account token. Its one container
//! runs the SDK's launch script, which waits for the workspace ([`container::Seed`]) and the
//! session's files, copied in by exec once the pod runs, then starts the agent in tmux. The
//! agent's environment is in the Secret, referenced key by key, so no value is in the pod's
//! spec; so is the hook shim, mounted read-only at `ao`'s own path (the agent's hook settings
//! name that path). Everything the session writes lives in `emptyDir` volumes: the workspace,
//! the status file's directory, the home, tmux's socket (in memory).

use crate::config::{Config, PullPolicy, dns_label};
use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::sdk::container;
use ao_plugin_api::slots::runtime::CreateRequest;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Labels: one LIST per tick finds every session of this config; nothing secret goes in one.
pub const LABEL_MANAGED: &str = "app.kubernetes.io/managed-by";
pub const LABEL_INSTANCE: &str = "ao.dev/instance";
pub const LABEL_SESSION: &str = "ao.dev/session";
/// The container's name in every pod.
pub const CONTAINER: &str = "agent";
/// The Secret's key holding the hook shim.
const SHIM_KEY: &str = "ao-hook-shim";
/// The home of the non-root agent.
const HOME: &str = "/home/ao";

/// A session's objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The pod's (and the Secret's) name.
    pub name: String,
    pub pod: Value,
    pub secret: Value,
    /// Where the pod's container mounts volumes (the copied files' directories among them).
    pub mounts: Vec<String>,
}

/// What the init container clones (with `runtimeConfig.clone`).
#[derive(Debug, Clone, PartialEq)]
pub struct CloneFrom {
    /// The repository.
    pub url: String,
    /// The session's branch, and the commit it starts at.
    pub branch: String,
    pub head: String,
}

/// The init container's name.
pub const CLONE_CONTAINER: &str = "clone";

/// The pod and Secret for `req` in `namespace`; `seed_env` is what the seed adds
/// (`AO_SEED_BRANCH=…`); `clone` what an init container clones, when it does.
pub fn plan(
    config: &Config,
    req: &CreateRequest,
    namespace: &str,
    seed_env: &[String],
    clone: Option<&CloneFrom>,
) -> Result<Plan, SdkError> {
    let name = req.runtime_name.clone();
    if !dns_label(&name) {
        return Err(SdkError::InvalidParams(format!(
            "`{name}` cannot name a pod (lowercase letters, digits and '-', at most 63): rename the project or session"
        )));
    }
    ao_plugin_api::sdk::command::check_launch(&req.argv, &req.env)?;
    let instance = container::instance_of(&req.runtime_name, &req.session_id);
    let labels = json!({
        LABEL_MANAGED: "ao",
        LABEL_INSTANCE: instance,
        LABEL_SESSION: req.session_id,
    });

    // The agent's environment: ao's, then the runtime's own (these win).
    let mut env: BTreeMap<String, String> = req.env.clone();
    let mut path = config.path.clone();
    if let Some(dir) = env.get("AO_EXE").and_then(|e| Path::new(e).parent()) {
        path = format!("{}:{path}", dir.display());
    }
    env.insert("PATH".into(), path);
    env.entry("HOME".into()).or_insert_with(|| HOME.into());
    env.insert("TERM".into(), "xterm-256color".into());
    env.insert("AO_COLS".into(), config.width.to_string());
    env.insert("AO_ROWS".into(), config.height.to_string());
    env.insert("AO_WORKDIR".into(), container::CLONE_PATH.into());
    env.insert(
        "AO_SEED".into(),
        if clone.is_some() { "cloned" } else { "upload" }.into(),
    );
    let git_auth = config.clone.as_ref().filter(|_| clone.is_some());
    if let Some(c) = git_auth {
        env.insert("AO_GIT_USER".into(), c.username.clone());
    }
    for kv in seed_env {
        if let Some((k, v)) = kv.split_once('=') {
            env.insert(k.into(), v.into());
        }
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut data: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.clone(), b64(v))).collect();
    data.insert(SHIM_KEY.into(), b64(container::SHIM));
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
        "data": data,
    });
    let mut container_env: Vec<Value> = env
        .keys()
        .map(|k| json!({"name": k, "valueFrom": {"secretKeyRef": {"name": name, "key": k}}}))
        .collect();
    for e in &config.secret_env {
        container_env.push(json!({
            "name": e.name,
            "valueFrom": {"secretKeyRef": {"name": e.secret, "key": e.key}},
        }));
    }
    // The clone's token, by reference, for the clone and the agent's pushes alike.
    let token = git_auth.and_then(|c| c.token.as_ref()).map(|t| {
        json!({
            "name": "AO_GIT_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": t.secret, "key": t.key}},
        })
    });
    container_env.extend(token.clone());

    // What the session writes: emptyDirs (the status directory and the directories of its
    // files are ao's own data paths, never a system directory).
    let mut dirs: Vec<String> = vec![
        container::CLONE_PATH.into(),
        container::UPLOAD_DIR.into(),
        HOME.into(),
    ];
    let parents = req
        .env
        .get("AO_STATUS_FILE")
        .into_iter()
        .chain(req.files.iter())
        .filter_map(|f| Path::new(f).parent())
        .map(|p| p.display().to_string());
    for p in parents {
        if !p.is_empty() && p != "/" && !dirs.contains(&p) {
            dirs.push(p);
        }
    }
    let mut volumes: Vec<Value> = vec![json!({"name": "run", "emptyDir": {"medium": "Memory"}})];
    let mut mounts: Vec<Value> = vec![json!({"name": "run", "mountPath": "/run/ao"})];
    for (i, d) in dirs.iter().enumerate() {
        volumes.push(json!({"name": format!("d{i}"), "emptyDir": {}}));
        mounts.push(json!({"name": format!("d{i}"), "mountPath": d}));
    }
    if let Some(exe) = req.env.get("AO_EXE") {
        volumes.push(json!({
            "name": "ao-hook",
            "secret": {"secretName": name, "items": [{"key": SHIM_KEY, "path": "ao", "mode": 0o755}]},
        }));
        mounts
            .push(json!({"name": "ao-hook", "mountPath": exe, "subPath": "ao", "readOnly": true}));
    }
    volumes.extend(config.volumes.iter().cloned());
    mounts.extend(config.volume_mounts.iter().cloned());

    let mut resources = json!({});
    for (what, r) in [("requests", &config.requests), ("limits", &config.limits)] {
        for (k, v) in [("cpu", &r.cpu), ("memory", &r.memory)] {
            if let Some(v) = v {
                resources[what][k] = json!(v);
            }
        }
    }
    let mut command = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        container::LAUNCH.into(),
        "ao-launch".into(),
    ];
    command.extend(req.argv.iter().cloned());
    let pull = match config.image_pull_policy {
        PullPolicy::Always => "Always",
        PullPolicy::IfNotPresent => "IfNotPresent",
        PullPolicy::Never => "Never",
    };
    let restricted = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": true,
    });
    // The workspace volume (the first of `dirs`) and the user's own mounts (a repository
    // reached by path, a CA bundle).
    let init = clone.zip(config.clone.as_ref()).map(|(from, c)| {
        let mut env = vec![
            json!({"name": "AO_GIT_USER", "value": c.username}),
            json!({"name": "HOME", "value": "/tmp"}),
        ];
        env.extend(token.clone());
        let mut mounts = vec![json!({"name": "d0", "mountPath": container::CLONE_PATH})];
        mounts.extend(config.volume_mounts.iter().cloned());
        json!([{
            "name": CLONE_CONTAINER,
            "image": c.image.as_deref().unwrap_or(&config.image),
            "imagePullPolicy": pull,
            "command": ["/bin/sh", "-c", container::CLONE, "ao-clone", from.url, from.branch, from.head],
            "workingDir": "/",
            "env": env,
            "resources": resources,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": mounts,
            "securityContext": restricted,
        }])
    });
    let mut spec = json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "activeDeadlineSeconds": config.active_deadline_seconds,
        "enableServiceLinks": false,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": config.run_as_user,
            "runAsGroup": config.run_as_group,
            "fsGroup": config.fs_group,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [{
            "name": CONTAINER,
            "image": config.image,
            "imagePullPolicy": pull,
            "command": command,
            "workingDir": "/",
            "env": container_env,
            "resources": resources,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": mounts,
            "securityContext": restricted,
        }],
        "volumes": volumes,
    });
    if let Some(init) = init {
        spec["initContainers"] = init;
    }
    if !config.node_selector.is_empty() {
        spec["nodeSelector"] = json!(config.node_selector);
    }
    if !config.tolerations.is_empty() {
        spec["tolerations"] = json!(config.tolerations);
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    });
    let mounts = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["mountPath"].as_str().map(str::to_owned))
        .collect();
    Ok(Plan {
        name,
        pod,
        secret,
        mounts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn request() -> CreateRequest {
        CreateRequest {
            copies: Vec::new(),
            session_id: "app-3".into(),
            runtime_name: "abc123-app-3".into(),
            workspace_path: "/w/app-3".into(),
            argv: vec!["agent".into(), "--flag".into(), "$(rm -rf /)".into()],
            env: BTreeMap::from([
                ("AO_STATUS_FILE".into(), "/data/status/app-3.jsonl".into()),
                ("AO_EXE".into(), "/opt/ao/bin/ao".into()),
                ("API_KEY".into(), "sk-secret".into()),
            ]),
            scratch_dir: None,
            files: vec!["/data/prompts/app-3.md".into()],
        }
    }

    #[test]
    fn the_pod_is_restricted_and_holds_no_secret_value() {
        let config: Config = serde_json::from_value(json!({
            "image": "agent:1",
            "limits": {"memory": "4Gi"},
            "secretEnv": [{"name": "ANTHROPIC_API_KEY", "secret": "ai", "key": "anthropic"}],
            "nodeSelector": {"pool": "agents"},
        }))
        .unwrap();
        let p = plan(
            &config,
            &request(),
            "agents",
            &["AO_SEED_BRANCH=feat/x".into()],
            None,
        )
        .unwrap();
        let text = p.pod.to_string();
        assert!(
            !text.contains("sk-secret"),
            "a secret value is in the pod: {text}"
        );
        let c = &p.pod["spec"]["containers"][0];
        assert_eq!(c["command"][4], "agent");
        assert_eq!(c["command"][6], "$(rm -rf /)");
        assert_eq!(p.pod["spec"]["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(p.pod["spec"]["automountServiceAccountToken"], false);
        assert_eq!(p.pod["metadata"]["labels"][LABEL_INSTANCE], "abc123");
        assert_eq!(c["resources"]["limits"]["memory"], "4Gi");
        let env = c["env"].as_array().unwrap();
        let api = env.iter().find(|e| e["name"] == "API_KEY").unwrap();
        assert_eq!(api["valueFrom"]["secretKeyRef"]["name"], "abc123-app-3");
        assert!(
            env.iter().any(|e| e["name"] == "ANTHROPIC_API_KEY"
                && e["valueFrom"]["secretKeyRef"]["name"] == "ai")
        );
        let secret_data = &p.secret["data"];
        let decoded = |k: &str| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(secret_data[k].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(decoded("API_KEY"), "sk-secret");
        assert_eq!(decoded("AO_SEED_BRANCH"), "feat/x");
        assert_eq!(decoded("PATH"), "/opt/ao/bin:/usr/local/bin:/usr/bin:/bin");
        assert_eq!(decoded(SHIM_KEY), container::SHIM);
        let mounts: Vec<&str> = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        for m in [
            "/workspace",
            "/ao/upload",
            "/data/status",
            "/data/prompts",
            "/opt/ao/bin/ao",
            "/run/ao",
        ] {
            assert!(mounts.contains(&m), "{m} not in {mounts:?}");
        }
        let mut bad = request();
        bad.runtime_name = "ABC-app_3".into();
        assert!(
            plan(&config, &bad, "agents", &[], None)
                .unwrap_err()
                .to_string()
                .contains("cannot name a pod")
        );
        assert!(p.pod["spec"]["initContainers"].is_null());
    }

    /// With `clone`: an init container clones into the workspace volume with the token by
    /// reference, the agent gets the same reference for its pushes, and the launch script
    /// waits for the untracked files only.
    #[test]
    fn a_cloning_pod_has_an_init_container_with_the_token_by_reference() {
        let config: Config = serde_json::from_value(json!({
            "image": "agent:1",
            "clone": {"token": {"secret": "git", "key": "token"}, "image": "git:2"},
            "volumeMounts": [{"name": "ca", "mountPath": "/etc/ca"}],
            "volumes": [{"name": "ca", "configMap": {"name": "ca"}}],
        }))
        .unwrap();
        let from = CloneFrom {
            url: "https://git.example/app.git".into(),
            branch: "session/app-3".into(),
            head: "0123abcd".into(),
        };
        let p = plan(&config, &request(), "agents", &[], Some(&from)).unwrap();
        let init = &p.pod["spec"]["initContainers"][0];
        assert_eq!(init["name"], CLONE_CONTAINER);
        assert_eq!(init["image"], "git:2");
        assert_eq!(init["command"][2], container::CLONE);
        assert_eq!(
            init["command"].as_array().unwrap()[3..],
            [
                json!("ao-clone"),
                json!("https://git.example/app.git"),
                json!("session/app-3"),
                json!("0123abcd")
            ]
        );
        let token = |env: &Value| {
            env.as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == "AO_GIT_TOKEN")
                .map(|e| e["valueFrom"]["secretKeyRef"].clone())
        };
        let by_ref = json!({"name": "git", "key": "token"});
        assert_eq!(token(&init["env"]), Some(by_ref.clone()));
        assert_eq!(token(&p.pod["spec"]["containers"][0]["env"]), Some(by_ref));
        let mounts: Vec<&str> = init["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(mounts, ["/workspace", "/etc/ca"]);
        assert_eq!(init["securityContext"]["allowPrivilegeEscalation"], false);
        let seed = base64::engine::general_purpose::STANDARD
            .decode(p.secret["data"]["AO_SEED"].as_str().unwrap())
            .unwrap();
        assert_eq!(seed, b"cloned");
    }
}

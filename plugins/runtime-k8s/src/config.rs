//! `runtimeConfig` of the k8s runtime.

use ao_plugin_api::sdk::SdkError;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// When the node pulls the agent image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

/// CPU and memory, as Kubernetes quantities (`500m`, `2`, `512Mi`, `4Gi`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
}

/// An environment variable of the agent taken from a Secret in the namespace.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretEnv {
    /// The variable (`ANTHROPIC_API_KEY`).
    pub name: String,
    /// The Secret's name.
    pub secret: String,
    /// The key in it.
    pub key: String,
}

/// A key of a Secret in the namespace.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKey {
    /// The Secret's name.
    pub secret: String,
    /// The key in it.
    pub key: String,
}

/// The workspace cloned inside the pod by an init container, instead of sent by ao.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Clone {
    /// The repository (default: the workspace's `origin` remote as ao sees it).
    #[serde(default)]
    pub url: Option<String>,
    /// A token in a Secret of the namespace, given to git as the password of HTTP Basic
    /// authentication by a credential helper that reads it from the environment (never in the
    /// URL, an argv or a file); the agent's pushes use it too.
    #[serde(default)]
    pub token: Option<SecretKey>,
    /// The user name sent with the token (`x-access-token`, as GitHub takes a token;
    /// `oauth2` for GitLab).
    #[serde(default = "default_git_user")]
    pub username: String,
    /// The init container's image (default: the agent image); it needs `sh` and `git`.
    #[serde(default)]
    pub image: Option<String>,
}

fn default_git_user() -> String {
    "x-access-token".into()
}

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    #[serde(default)]
    pub kubeconfig: Option<String>,
    /// Its context (default: its current context).
    #[serde(default)]
    pub context: Option<String>,
    /// Use the pod's service account: ao itself runs in the cluster.
    #[serde(default)]
    pub in_cluster: bool,
    /// The namespace of the sessions' pods (default: the context's, else `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The agent image: it needs `sh`, `tmux`, `git`, GNU `tar` and the agent's CLI.
    pub image: String,
    /// `Always`, `IfNotPresent` (default) or `Never`.
    #[serde(default)]
    pub image_pull_policy: PullPolicy,
    /// What the scheduler reserves for each session.
    #[serde(default)]
    pub requests: Resources,
    /// The most each session may use.
    #[serde(default)]
    pub limits: Resources,
    /// Nodes the pods may run on.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate (Kubernetes `tolerations` as they are).
    #[serde(default)]
    pub tolerations: Vec<serde_json::Value>,
    /// A hard lifetime: the pod is stopped after this many seconds (default one day).
    #[serde(default = "default_deadline")]
    pub active_deadline_seconds: u64,
    /// The non-root user, group and volume group the agent runs as (default 1000).
    #[serde(default = "default_id")]
    pub run_as_user: i64,
    #[serde(default = "default_id")]
    pub run_as_group: i64,
    #[serde(default = "default_id")]
    pub fs_group: i64,
    /// Variables of the agent from Secrets in the namespace: by reference, never copied.
    #[serde(default)]
    pub secret_env: Vec<SecretEnv>,
    /// Extra volumes of every pod (Kubernetes `volumes` entries as they are: a PVC with tools,
    /// a ConfigMap).
    #[serde(default)]
    pub volumes: Vec<serde_json::Value>,
    /// Where the agent container mounts them (Kubernetes `volumeMounts` entries).
    #[serde(default)]
    pub volume_mounts: Vec<serde_json::Value>,
    /// Clone the workspace inside the pod (an init container) rather than have ao send it (a
    /// git bundle over exec, the default): for a repository too big to send, or to keep ao's
    /// machine out of the data path. Only the session's untracked files (the agent's hook
    /// settings) are still sent.
    #[serde(default)]
    pub clone: Option<Clone>,
    /// `PATH` inside (ao's directory, where its hook shim is, goes first).
    #[serde(default = "default_path")]
    pub path: String,
    /// Width and height of the agent's terminal.
    #[serde(default = "default_width")]
    pub width: u16,
    #[serde(default = "default_height")]
    pub height: u16,
    /// Deadline of each API call and exec.
    #[serde(default = "default_timeout")]
    pub command_timeout_ms: u64,
    /// How long a new pod may take to run (image pull, scheduling).
    #[serde(default = "default_start")]
    pub start_timeout_ms: u64,
}

fn default_deadline() -> u64 {
    86_400
}
fn default_id() -> i64 {
    1000
}
fn default_path() -> String {
    "/usr/local/bin:/usr/bin:/bin".into()
}
fn default_width() -> u16 {
    200
}
fn default_height() -> u16 {
    50
}
fn default_timeout() -> u64 {
    10_000
}
fn default_start() -> u64 {
    120_000
}

impl Config {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), SdkError> {
        let bad = |m: String| Err(SdkError::InvalidConfig(m));
        ao_plugin_api::sdk::container::check_image_and_terminal(
            &self.image,
            self.width,
            self.height,
        )?;
        if self.run_as_user == 0 {
            return bad(
                "runtimeConfig.runAsUser 0 is root: sessions run as a non-root user".into(),
            );
        }
        if self.active_deadline_seconds == 0 {
            return bad("runtimeConfig.activeDeadlineSeconds must be at least 1".into());
        }
        if let Some(ns) = &self.namespace
            && !dns_label(ns)
        {
            return bad(format!(
                "runtimeConfig.namespace `{ns}` is not a Kubernetes name (lowercase letters, digits, '-')"
            ));
        }
        for e in &self.secret_env {
            ao_plugin_api::sdk::command::check_env_name(&e.name).map_err(|why| {
                SdkError::InvalidConfig(format!("runtimeConfig.secretEnv: {why}"))
            })?;
            if !dns_subdomain(&e.secret) {
                return bad(format!(
                    "runtimeConfig.secretEnv: `{}` is not a Secret name",
                    e.secret
                ));
            }
        }
        if let Some(c) = &self.clone {
            if let Some(t) = &c.token
                && !dns_subdomain(&t.secret)
            {
                return bad(format!(
                    "runtimeConfig.clone.token: `{}` is not a Secret name",
                    t.secret
                ));
            }
            if let Some(url) = &c.url
                && (url.is_empty() || url.starts_with('-') || url.contains(char::is_whitespace))
            {
                return bad(format!(
                    "runtimeConfig.clone.url `{url}` is not a repository URL"
                ));
            }
            if c.username.is_empty() || c.username.contains(['\n', ':']) {
                return bad("runtimeConfig.clone.username must be a plain user name".into());
            }
            if let Some(i) = &c.image {
                ao_plugin_api::sdk::container::check_image_and_terminal(i, self.width, self.height)
                    .map_err(|e| {
                        SdkError::InvalidConfig(format!("runtimeConfig.clone.image: {e}"))
                    })?;
            }
        }
        for (what, r) in [("requests", &self.requests), ("limits", &self.limits)] {
            for q in [&r.cpu, &r.memory].into_iter().flatten() {
                if !quantity(q) {
                    return bad(format!(
                        "runtimeConfig.{what}: `{q}` is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// DNS-1123 label: names of namespaces, pods, containers.
pub fn dns_label(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

/// DNS-1123 subdomain: names of Secrets.
pub fn dns_subdomain(n: &str) -> bool {
    !n.is_empty() && n.len() <= 253 && n.split('.').all(dns_label)
}

/// A Kubernetes quantity: digits with an optional fraction and suffix.
fn quantity(q: &str) -> bool {
    let num_end = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(num_end);
    !num.is_empty()
        && num.parse::<f64>().is_ok()
        && [
            "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
        ]
        .contains(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_and_bad_values_say_what_to_fix() {
        let c = parse(serde_json::json!({"image": "agent:1"}));
        assert_eq!(c.image_pull_policy, PullPolicy::IfNotPresent);
        assert_eq!((c.run_as_user, c.active_deadline_seconds), (1000, 86_400));
        c.validate().unwrap();
        for (v, says) in [
            (serde_json::json!({"image": ""}), "image is empty"),
            (serde_json::json!({"image": "i", "runAsUser": 0}), "root"),
            (
                serde_json::json!({"image": "i", "namespace": "Agents"}),
                "not a Kubernetes name",
            ),
            (
                serde_json::json!({"image": "i", "limits": {"memory": "4 GB"}}),
                "quantity",
            ),
            (
                serde_json::json!({"image": "i", "secretEnv": [{"name": "A-B", "secret": "s", "key": "k"}]}),
                "secretEnv",
            ),
            (
                serde_json::json!({"image": "i", "clone": {"token": {"secret": "Git_Token", "key": "t"}}}),
                "clone.token",
            ),
            (
                serde_json::json!({"image": "i", "clone": {"url": "--upload-pack=evil"}}),
                "clone.url",
            ),
        ] {
            let e = parse(v).validate().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        assert!(quantity("500m") && quantity("1.5") && quantity("512Mi") && !quantity("Mi"));
    }
}

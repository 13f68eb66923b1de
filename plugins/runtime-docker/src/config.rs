//! `runtimeConfig` of the docker runtime.

use ao_plugin_api::sdk::SdkError;
use schemars::JsonSchema;
use serde::Deserialize;

/// Where the agent's workspace lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceMode {
    /// A volume per session at `/workspace`, cloned from the host's prepared workspace when the
    /// session starts: the agent cannot touch the host's repository, and the volume outlives
    /// the container (a restore continues in it).
    #[default]
    Clone,
    /// The host's workspace (and its repository's `.git`) bind-mounted at the same paths; the
    /// host's tools see every change at once. Local engines only.
    Mount,
}

/// An extra host path mounted into every session (e.g. where the agent CLI is installed).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountSpec {
    /// The host path.
    pub source: String,
    /// The path inside (default: the same as `source`).
    #[serde(default)]
    pub target: Option<String>,
    /// Mounted read-only (default true).
    #[serde(default = "yes")]
    pub read_only: bool,
}

/// Where a session's own files live: its status file (which the agent's hooks append to), the
/// `ao` its hooks run, its system prompt and its agent's helper files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionFiles {
    /// On the host, bind-mounted at the same paths: the host reads the status file itself.
    /// Local engines only.
    Host,
    /// Inside the container, at the same paths: copied in before the agent starts, a small
    /// shell `ao` for the hooks, the status file read back through the engine (`exec`). What a
    /// remote engine needs, and the default there.
    Container,
}

/// When an image is missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// Never pull: a missing image is an error that says to build or load it.
    #[default]
    Never,
    /// Pull the image when the engine does not have it.
    Missing,
}

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The engine: `unix:///var/run/docker.sock`, `tcp://host:2376` (TLS with `certPath`) or
    /// `ssh://user@host`. Default: `DOCKER_HOST` from ao's environment, else the local socket.
    #[serde(default)]
    pub host: Option<String>,
    /// For `tcp://`: a directory with `ca.pem`, `cert.pem`, `key.pem` (default:
    /// `DOCKER_CERT_PATH` when `DOCKER_TLS_VERIFY` is set).
    #[serde(default)]
    pub cert_path: Option<String>,
    /// The agent image: it needs `sh`, `tmux`, `git` and the agent's CLI.
    pub image: String,
    /// `never` (default) or `missing`.
    #[serde(default)]
    pub pull: Pull,
    /// `clone` (default) or `mount`.
    #[serde(default)]
    pub workspace: WorkspaceMode,
    /// `host` (default on a local engine) or `container` (default, and the only choice, on a
    /// remote one).
    #[serde(default)]
    pub session_files: Option<SessionFiles>,
    /// Memory limit: bytes, or with a unit (`512m`, `4g`).
    #[serde(default)]
    pub memory: Option<String>,
    /// CPU limit, in CPUs (`1.5`).
    #[serde(default)]
    pub cpus: Option<f64>,
    /// Most processes in the container (default 1024).
    #[serde(default = "default_pids")]
    pub pids_limit: Option<i64>,
    /// The container's network (`bridge`, `host`, `none` or a network's name).
    #[serde(default)]
    pub network: Option<String>,
    /// The user the agent runs as (`1000:1000`); default: the image's.
    #[serde(default)]
    pub user: Option<String>,
    /// Capabilities added back after all are dropped (e.g. `CHOWN`); default none.
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// Variables copied from ao's environment into the agent's when the session starts
    /// (`ANTHROPIC_API_KEY`): by name, never written to config or files.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// Extra host paths mounted into every session (local engines only).
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// `PATH` inside the container (before the mounted `ao`'s directory is put first).
    #[serde(default = "default_path")]
    pub path: String,
    /// Width of the agent's terminal, in columns.
    #[serde(default = "default_width")]
    pub width: u16,
    /// Height of the agent's terminal, in rows.
    #[serde(default = "default_height")]
    pub height: u16,
    /// Deadline of each engine call.
    #[serde(default = "default_timeout")]
    pub command_timeout_ms: u64,
}

fn yes() -> bool {
    true
}
fn default_pids() -> Option<i64> {
    Some(1024)
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

impl Config {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), SdkError> {
        let bad = |m: String| Err(SdkError::InvalidConfig(m));
        ao_plugin_api::sdk::container::check_image_and_terminal(
            &self.image,
            self.width,
            self.height,
        )?;
        if let Some(c) = self.cpus
            && !(c > 0.0 && c <= 1024.0)
        {
            return bad(format!("runtimeConfig.cpus {c} is not a number of CPUs"));
        }
        self.memory_bytes()?;
        for name in &self.pass_env {
            ao_plugin_api::sdk::command::check_env_name(name)
                .map_err(|e| SdkError::InvalidConfig(format!("runtimeConfig.passEnv: {e}")))?;
        }
        for m in &self.mounts {
            let target = m.target.as_deref().unwrap_or(&m.source);
            if !m.source.starts_with('/') || !target.starts_with('/') {
                return bad(format!(
                    "runtimeConfig.mounts: `{}` must be an absolute path",
                    m.source
                ));
            }
            // The engine's own socket inside an agent's container is root on the host, and
            // ssh keys are the user's identity: neither may be mounted, nor a directory that
            // holds them.
            let home_ssh = std::env::var("HOME")
                .ok()
                .map(|h| std::path::Path::new(&h).join(".ssh"));
            let source = std::path::Path::new(&m.source);
            let guarded = ["/var/run/docker.sock", "/run/docker.sock"]
                .iter()
                .map(std::path::PathBuf::from)
                .chain(home_ssh);
            let exposes = |p: &std::path::Path| p.starts_with(source) || source.starts_with(p);
            if m.source.ends_with("docker.sock")
                || source.components().any(|c| c.as_os_str() == ".ssh")
                || guarded.into_iter().any(|g| exposes(&g))
            {
                return bad(format!(
                    "runtimeConfig.mounts: `{}` must not be mounted into an agent's container (it holds the engine's socket or ssh keys)",
                    m.source
                ));
            }
        }
        Ok(())
    }

    /// Whether the session's files live inside its container, on an engine that is (or is not)
    /// `local`.
    pub fn files_inside(&self, local: bool) -> Result<bool, SdkError> {
        match self.session_files {
            None => Ok(!local),
            Some(SessionFiles::Container) => Ok(true),
            Some(SessionFiles::Host) if local => Ok(false),
            Some(SessionFiles::Host) => Err(SdkError::InvalidConfig(
                "runtimeConfig.sessionFiles `host` needs a local engine (unix://); a remote engine keeps them in the container".into(),
            )),
        }
    }

    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> Result<Option<i64>, SdkError> {
        let Some(text) = self.memory.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let lower = text.to_ascii_lowercase();
        let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => lower.split_at(i),
            None => (lower.as_str(), ""),
        };
        let scale: i64 = match unit.trim_end_matches('b') {
            "" => 1,
            "k" => 1 << 10,
            "m" => 1 << 20,
            "g" => 1 << 30,
            _ => 0,
        };
        match digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
        {
            // Docker's own floor is 6 MB.
            Some(n) if n >= 6 << 20 => Ok(Some(n)),
            _ => Err(SdkError::InvalidConfig(format!(
                "runtimeConfig.memory `{text}` is not a size of at least 6m (e.g. 512m, 4g)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sizes_and_bad_values_say_what_to_fix() {
        let c = parse(serde_json::json!({"image": "i", "memory": "512m"}));
        assert_eq!(c.memory_bytes().unwrap(), Some(512 << 20));
        let c = parse(serde_json::json!({"image": "i", "memory": "4G"}));
        assert_eq!(c.memory_bytes().unwrap(), Some(4 << 30));
        for (v, says) in [
            (
                serde_json::json!({"image": "i", "memory": "lots"}),
                "memory",
            ),
            (serde_json::json!({"image": " "}), "image is empty"),
            (serde_json::json!({"image": "i", "cpus": -1.0}), "cpus"),
            (
                serde_json::json!({"image": "i", "mounts": [{"source": "/var/run/docker.sock"}]}),
                "must not be mounted",
            ),
            (
                serde_json::json!({"image": "i", "mounts": [{"source": "/root/.ssh"}]}),
                "must not be mounted",
            ),
            (
                serde_json::json!({"image": "i", "mounts": [{"source": "/var/run"}]}),
                "must not be mounted",
            ),
            (
                serde_json::json!({"image": "i", "mounts": [{"source": "/"}]}),
                "must not be mounted",
            ),
            (
                serde_json::json!({"image": "i", "passEnv": ["A=B"]}),
                "passEnv",
            ),
        ] {
            let e = parse(v).validate().unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        let c = parse(serde_json::json!({"image": "i"}));
        assert_eq!(c.workspace, WorkspaceMode::Clone);
        assert_eq!(c.pull, Pull::Never);
        assert_eq!(c.pids_limit, Some(1024));
        assert!(!c.files_inside(true).unwrap());
        assert!(c.files_inside(false).unwrap());
        let host = parse(serde_json::json!({"image": "i", "sessionFiles": "host"}));
        let e = host.files_inside(false).unwrap_err().to_string();
        assert!(
            e.contains("sessionFiles `host` needs a local engine"),
            "{e}"
        );
    }
}

//! The Docker tests' engine and image: the local engine when one answers, and the agent image
//! built offline from this machine's own packages by `testkit/docker/agent-image` (cached by
//! tag, so a machine builds it once).

use std::sync::OnceLock;

/// The local engine's socket.
pub const SOCKET: &str = "/var/run/docker.sock";

/// The agent image's tag, or `None` with a note on stderr when no Docker engine answers here.
/// Under `CI=true` a missing engine is a failure: `.ci/run` starts one.
pub fn agent_image() -> Option<String> {
    static TAG: OnceLock<Option<String>> = OnceLock::new();
    TAG.get_or_init(|| {
        let engine = std::path::Path::new(SOCKET).exists()
            && std::process::Command::new("docker")
                .args(["version", "--format", "{{.Server.APIVersion}}"])
                .output()
                .is_ok_and(|o| o.status.success());
        if !engine {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no Docker engine answers at {SOCKET}: .ci/run starts dockerd"
            );
            // A skipped test says so where cargo shows it.
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "skipped: no Docker engine answers at {SOCKET} (start dockerd to run this test)"
                );
            }
            return None;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/agent-image");
        let out = std::process::Command::new(script)
            .output()
            .expect("run testkit/docker/agent-image");
        assert!(
            out.status.success(),
            "agent-image failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
    .clone()
}

/// `docker inspect` of one object, as JSON (`Null` when it does not exist).
pub fn inspect(kind: &str, name: &str) -> serde_json::Value {
    let out = std::process::Command::new("docker")
        .args([kind, "inspect", name])
        .output()
        .expect("docker CLI");
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .ok()
        .and_then(|v| v.into_iter().next())
        .unwrap_or(serde_json::Value::Null)
}

/// Removes containers and volumes by name; missing ones are fine.
pub fn remove(containers: &[&str], volumes: &[&str]) {
    if !containers.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v"])
            .args(containers)
            .output();
    }
    if !volumes.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", "-f"])
            .args(volumes)
            .output();
    }
}

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

/// `base` with `files` (absolute path, content) added, built offline by the engine's builder
/// and tagged by what went in, so a second call reuses it: an agent image a user would bake
/// (the CLI's first-run state in its home).
pub fn derived_image(base: &str, files: &[(&str, &str)]) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(base);
    for (path, content) in files {
        hash.update(format!("\0{path}\0{content}"));
    }
    // Its own repository: the base's script clears old tags of the base's.
    let tag = format!("ao-test-derived:{}", &hex_of(&hash.finalize())[..12]);
    if !inspect("image", &tag).is_null() {
        return tag;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut dockerfile = format!("FROM {base}\n");
    for (i, (path, content)) in files.iter().enumerate() {
        std::fs::write(dir.path().join(format!("f{i}")), content).unwrap();
        dockerfile.push_str(&format!("COPY f{i} {path}\n"));
    }
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(dir.path())
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker build {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tag
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// The local engine behind `tcp://127.0.0.1:<port>` (plain HTTP, as `tcp://` without TLS):
/// what runtime-docker takes for a remote engine, so tests drive its remote paths (nothing of
/// this machine mounted, everything copied in through the API) against the real engine. Each
/// connection is a byte pipe to the local socket, upgrades (exec, attach) included. Stops
/// accepting when dropped.
pub struct TcpEngine {
    /// `tcp://127.0.0.1:<port>`.
    pub host: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    port: u16,
}

impl TcpEngine {
    /// Its port on 127.0.0.1 (for a TLS front before it).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Listens on an ephemeral port.
    pub fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let Ok(unix) = std::os::unix::net::UnixStream::connect(SOCKET) else {
                    continue;
                };
                pipe(tcp, unix);
            }
        });
        Self {
            host: format!("tcp://127.0.0.1:{port}"),
            stop,
            port,
        }
    }
}

/// Copies both ways until each side ends, passing each end on as a half-close.
fn pipe(tcp: std::net::TcpStream, unix: std::os::unix::net::UnixStream) {
    let (Ok(mut tcp_r), Ok(mut unix_r)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    let (mut tcp_w, mut unix_w) = (tcp, unix);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut tcp_r, &mut unix_w);
        let _ = unix_w.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut unix_r, &mut tcp_w);
        let _ = tcp_w.shutdown(std::net::Shutdown::Write);
    });
}

impl Drop for TcpEngine {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

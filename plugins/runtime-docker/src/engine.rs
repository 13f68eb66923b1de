//! The one door to the Docker engine: a connection made once per instance (unix socket, TCP
//! with TLS, or ssh), the API version negotiated with the daemon, every call bounded by a
//! deadline, and the engine's errors turned into error kinds the host acts on.
//!
//! bollard is async; calls arrive on the host's plugin threads and block on this instance's own
//! small runtime, which is never the host's (each cdylib links its own tokio).

use ao_plugin_api::sdk::{Ctx, SdkError};
use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;

/// Where the engine is and how to trust it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`.
    pub(crate) host: String,
    /// For `tcp://`: a directory with `ca.pem`, `cert.pem` and `key.pem` (as `DOCKER_CERT_PATH`).
    pub(crate) cert_path: Option<String>,
}

impl Endpoint {
    /// Whether the engine runs on this machine, so host paths can be mounted into containers.
    pub(crate) fn is_local(&self) -> bool {
        self.host.starts_with("unix://")
    }
}

/// What one exec printed and how it ended.
#[derive(Debug, Default)]
pub(crate) struct ExecOutput {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) exit_code: Option<i64>,
}

impl ExecOutput {
    pub(crate) fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    pub(crate) fn first_error_line(&self) -> &str {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output")
    }
}

/// A connected engine.
pub(crate) struct Engine {
    rt: tokio::runtime::Runtime,
    docker: Docker,
    timeout: Duration,
    /// The API version both sides speak (`1.41`).
    pub(crate) api: String,
}

impl Engine {
    /// Connects and negotiates the API version (Debian 12's engine stops at 1.41, Docker 29
    /// refuses clients below 1.44: neither bollard's default nor a fixed version fits both).
    pub(crate) fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Self, SdkError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SdkError::Internal(format!("cannot start the docker client: {e}")))?;
        let secs = timeout.as_secs().max(1);
        let version = bollard::API_DEFAULT_VERSION;
        let host = endpoint.host.as_str();
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            // bollard would take a missing socket for an engine that is not running yet.
            if !std::path::Path::new(path).exists() {
                return Err(SdkError::Unavailable(format!(
                    "no Docker engine at {host}: the socket does not exist (start dockerd, or set runtimeConfig.host)"
                )));
            }
            Docker::connect_with_unix(host, secs, version)
        } else if host.starts_with("tcp://") || host.starts_with("https://") {
            match &endpoint.cert_path {
                Some(dir) => {
                    let dir = std::path::Path::new(dir);
                    Docker::connect_with_ssl(
                        host,
                        &dir.join("key.pem"),
                        &dir.join("cert.pem"),
                        &dir.join("ca.pem"),
                        secs,
                        version,
                    )
                }
                None => Docker::connect_with_http(host, secs, version),
            }
        } else if host.starts_with("ssh://") {
            Docker::connect_with_ssh(host, secs, version, None)
        } else {
            return Err(SdkError::InvalidConfig(format!(
                "runtimeConfig.host `{host}` is not a Docker address (unix://, tcp:// or ssh://)"
            )));
        }
        .map_err(|e| SdkError::Unavailable(format!("cannot reach the Docker engine at {host}: {e}")))?;
        let docker = rt
            .block_on(async { tokio::time::timeout(timeout, docker.negotiate_version()).await })
            .map_err(|_| {
                SdkError::Unavailable(format!(
                    "the Docker engine at {host} did not answer in time"
                ))
            })?
            .map_err(|e| {
                SdkError::Unavailable(format!(
                    "the Docker engine at {host} did not answer: {}",
                    root_cause(&e)
                ))
            })?;
        let api = docker.client_version().to_string();
        Ok(Self {
            rt,
            docker,
            timeout,
            api,
        })
    }

    /// The client, for building calls.
    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Runs one engine call to its end, within the call's deadline and the configured timeout.
    pub(crate) fn run<T>(
        &self,
        ctx: &Ctx,
        what: &str,
        fut: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, SdkError> {
        let out = self.within(ctx, what, fut)?;
        out.map_err(|e| classify(what, e))
    }

    /// Runs a future within the deadline; its own result is the caller's to read.
    pub(crate) fn within<T>(
        &self,
        ctx: &Ctx,
        what: &str,
        fut: impl Future<Output = T>,
    ) -> Result<T, SdkError> {
        ctx.check()?;
        let limit = ctx
            .remaining()
            .map_or(self.timeout, |left| left.min(self.timeout));
        self.rt
            .block_on(async { tokio::time::timeout(limit, fut).await })
            .map_err(|_| {
                SdkError::Timeout(format!(
                    "docker: {what} took longer than {:.1}s",
                    limit.as_secs_f64()
                ))
            })
    }

    /// Runs `cmd` in a running container and collects its output. With `stdin`, the bytes are
    /// written and the input closed. Blocking form of [`exec_async`].
    pub(crate) fn exec(
        &self,
        ctx: &Ctx,
        container: &str,
        cmd: Vec<String>,
        stdin: Option<Vec<u8>>,
    ) -> Result<ExecOutput, SdkError> {
        let what = format!("exec in {container}");
        self.within(ctx, &what, exec_async(&self.docker, container, cmd, stdin))?
            .map_err(|e| classify(&what, e))
    }

    /// Runs many futures at once on this instance's runtime (a tick's screens).
    pub(crate) fn all<T>(
        &self,
        ctx: &Ctx,
        what: &str,
        futs: Vec<impl Future<Output = T>>,
    ) -> Result<Vec<T>, SdkError> {
        self.within(ctx, what, async {
            futures_util::stream::iter(futs)
                .buffered(PARALLEL_EXECS)
                .collect::<Vec<T>>()
                .await
        })
    }
}

/// Execs in flight at once during a probe: the engine serialises little, but each exec is a
/// process start inside a container.
const PARALLEL_EXECS: usize = 8;

/// An error with what caused it, down to the first cause that says something (a TLS
/// handshake's `invalid peer certificate: UnknownIssuer` under hyper's "client error").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text.replace('\n', " ")
}

/// Runs `cmd` in `container` (no tty, so stdout and stderr arrive apart) and waits for it.
pub(crate) async fn exec_async(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    stdin: Option<Vec<u8>>,
) -> Result<ExecOutput, bollard::errors::Error> {
    use tokio::io::AsyncWriteExt;
    let created = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd),
                attach_stdin: Some(stdin.is_some()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                env: Some(vec!["LC_ALL=C.UTF-8".to_string()]),
                ..Default::default()
            },
        )
        .await?;
    let mut out = ExecOutput::default();
    if let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker
        .start_exec(&created.id, Some(StartExecOptions::default()))
        .await?
    {
        if let Some(bytes) = stdin {
            // A failed write shows up as the command's own failure (it read too little).
            let _ = input.write_all(&bytes).await;
            let _ = input.shutdown().await;
        }
        while let Some(chunk) = output.next().await {
            match chunk? {
                bollard::container::LogOutput::StdOut { message } => {
                    out.stdout.push_str(&String::from_utf8_lossy(&message));
                }
                bollard::container::LogOutput::StdErr { message } => {
                    out.stderr.push_str(&String::from_utf8_lossy(&message));
                }
                _ => {}
            }
        }
    }
    out.exit_code = docker.inspect_exec(&created.id).await?.exit_code;
    Ok(out)
}

/// The engine's answer as an error kind: a missing container is `NotFound`, a name in use
/// `Conflict`, an engine that cannot be reached `Unavailable`.
pub(crate) fn classify(what: &str, e: bollard::errors::Error) -> SdkError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => {
            let message = message.trim().to_string();
            match status_code {
                404 => SdkError::NotFound(format!("docker: {message}")),
                409 => SdkError::Conflict(format!("docker: {message}")),
                401 | 403 => SdkError::PermissionDenied(format!("docker: {message}")),
                400 => SdkError::InvalidParams(format!("docker refused {what}: {message}")),
                _ => SdkError::Unavailable(format!(
                    "docker: {what} failed ({status_code}): {message}"
                )),
            }
        }
        E::RequestTimeoutError => SdkError::Timeout(format!("docker: {what} timed out")),
        other => SdkError::Unavailable(format!("docker: {what}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_become_kinds() {
        let e = |status_code| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: "msg\n".into(),
        };
        assert!(matches!(classify("x", e(404)), SdkError::NotFound(m) if m == "docker: msg"));
        assert!(matches!(classify("x", e(409)), SdkError::Conflict(_)));
        assert!(matches!(classify("x", e(500)), SdkError::Unavailable(_)));
        assert!(
            Endpoint {
                host: "unix:///var/run/docker.sock".into(),
                cert_path: None
            }
            .is_local()
        );
    }

    #[test]
    fn a_missing_socket_and_a_foreign_address_are_one_line_each() {
        let missing = Engine::connect(
            &Endpoint {
                host: "unix:///nonexistent/docker.sock".into(),
                cert_path: None,
            },
            Duration::from_secs(1),
        );
        let Err(SdkError::Unavailable(m)) = missing else {
            panic!("not unavailable")
        };
        assert!(m.contains("the socket does not exist"), "{m}");
        let foreign = Engine::connect(
            &Endpoint {
                host: "ftp://x".into(),
                cert_path: None,
            },
            Duration::from_secs(1),
        );
        assert!(matches!(foreign, Err(SdkError::InvalidConfig(_))));
    }
}

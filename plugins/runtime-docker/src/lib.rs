//! `runtime/docker`: each ao session is a container on a Docker engine (local or remote), named
//! after the session's runtime name and labelled, with the agent running in tmux inside on a
//! fixed socket. Delivery, capture and dialog answers are the SDK's tmux pane over the Engine
//! API's exec, so they keep their one implementation.
//!
//! - The container lives exactly as long as the agent ([`launch`]): an exited agent's container
//!   is `Exited (status)`, its last screen is in its log.
//! - `probe` is one list-by-label call for every session of the tick (plus one exec per live
//!   session when the host asks for screens, run in parallel), never a call per session for
//!   liveness.
//! - Hardened: Docker's init, `no-new-privileges`, every capability dropped (add back with
//!   `capAdd`), resource limits from config, no implicit image pull, credentials by name from
//!   ao's environment (`passEnv`), and the engine socket or `~/.ssh` refused as mounts.
//! - Workspace: cloned into a volume per session by default (seeded from the host's prepared
//!   workspace); `workspace: mount` binds the host's worktree at its own path instead. A
//!   volume holding work that was not pushed outlives `destroy`.

mod config;
mod engine;
mod launch;
mod probe;

pub use config::{Config, MountSpec, Pull, SessionFiles, WorkspaceMode};

use ao_plugin_api::sdk::container;
use ao_plugin_api::sdk::tmux::{PANE_DEAD, TmuxDoor, TmuxPane, classify, last_screen_lines};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, answer, delivery, git::check_id};
use ao_plugin_api::slots::runtime::{
    self, AnswerOutcome, AnswerRequest, AttachInfo, Check, Checks, CreateRequest, GetOutputRequest,
    HandleRequest, IsAliveRequest, ListSessionsRequest, ListedSession, Liveness, Metrics, Output,
    ProbeRequest, ProbeResponse, Runtime, RuntimeHandle, SendMessageRequest, SendOutcome,
    SessionList,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, StatsOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use engine::{Endpoint, Engine};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// The runtime.
pub struct DockerRuntime {
    config: Config,
    endpoint: Endpoint,
    engine: Engine,
    sending: delivery::SessionLocks,
}

/// tmux commands carried into one container by exec.
struct DockerDoor<'a> {
    engine: &'a Engine,
    container: &'a str,
    /// The session's status file inside, when its files live there.
    status_file: Option<&'a str>,
}

impl TmuxDoor for DockerDoor<'_> {
    fn status_tail(&self, ctx: &Ctx) -> Option<String> {
        let file = self.status_file?;
        let cmd = container::status_tail_argv(file, ao_plugin_api::status_file::REMOTE_TAIL);
        // A file not written yet reads as empty: the hooks have said nothing.
        let out = self.engine.exec(ctx, self.container, cmd, None).ok()?;
        out.success().then_some(out.stdout)
    }

    fn run(&self, ctx: &Ctx, args: &[&str], stdin: Option<&str>) -> Result<String, SdkError> {
        let mut cmd: Vec<String> = Vec::new();
        if let Some(text) = stdin {
            // tmux reads `load-buffer -` to its end; `head -c N` ends it after the announced
            // bytes whether or not the engine passes the close of stdin along.
            cmd.extend(container::stdin_prefix(text.len()));
        }
        cmd.extend(["tmux", "-S", launch::SOCKET].map(String::from));
        cmd.extend(args.iter().map(|a| a.to_string()));
        let out = self
            .engine
            .exec(
                ctx,
                self.container,
                cmd,
                stdin.map(|t| t.as_bytes().to_vec()),
            )
            .map_err(|e| gone_if_stopped(self.container, e))?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(classify(&args.join(" "), out.first_error_line()))
        }
    }
}

/// An exec into a stopped container: its agent has exited.
fn gone_if_stopped(container: &str, e: SdkError) -> SdkError {
    match e {
        // 409 from newer engines, 500 from older ones.
        SdkError::Conflict(m) | SdkError::Unavailable(m) if m.contains("is not running") => {
            SdkError::NotFound(format!("{container}: {PANE_DEAD}"))
        }
        SdkError::NotFound(_) => SdkError::NotFound(format!("container `{container}` is gone")),
        other => other,
    }
}

fn name_of(handle: &RuntimeHandle) -> Result<&str, SdkError> {
    check_id("container name", &handle.id)?;
    Ok(&handle.id)
}

impl DockerRuntime {
    fn door<'a>(&'a self, container: &'a str) -> DockerDoor<'a> {
        DockerDoor {
            engine: &self.engine,
            container,
            status_file: None,
        }
    }

    /// The door into a session's container, reading its status file there when it has one.
    fn door_of<'a>(&'a self, handle: &'a RuntimeHandle) -> Result<DockerDoor<'a>, SdkError> {
        let mut door = self.door(name_of(handle)?);
        door.status_file = container::status_file_of(handle);
        Ok(door)
    }

    /// Every container of ours on the engine (one list call), by name.
    fn ours(&self, ctx: &Ctx) -> Result<HashMap<String, probe::Seen>, SdkError> {
        let filters = HashMap::from([("label", vec![format!("{}=docker", launch::LABEL_RUNTIME)])]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self.engine.run(
            ctx,
            "list containers",
            self.engine.docker().list_containers(Some(opts)),
        )?;
        Ok(list
            .iter()
            .filter_map(probe::Seen::of)
            .map(|s| (s.name.clone(), s))
            .collect())
    }

    /// The image is on the engine, or pulled when the config allows it.
    fn ensure_image(&self, ctx: &Ctx) -> Result<(), SdkError> {
        let image = &self.config.image;
        match self.engine.run(
            ctx,
            "inspect image",
            self.engine.docker().inspect_image(image),
        ) {
            Ok(_) => Ok(()),
            Err(SdkError::NotFound(_)) if self.config.pull == Pull::Missing => {
                let opts = CreateImageOptionsBuilder::new().from_image(image).build();
                let pulled = self.engine.within(ctx, "pull image", async {
                    let mut stream = self.engine.docker().create_image(Some(opts), None, None);
                    while let Some(step) = stream.next().await {
                        step?;
                    }
                    Ok::<_, bollard::errors::Error>(())
                })?;
                pulled.map_err(|e| engine::classify(&format!("pull {image}"), e))
            }
            Err(SdkError::NotFound(_)) => Err(SdkError::NotFound(format!(
                "image `{image}` is not on the Docker engine: build or load it (docker build / docker load), or set runtimeConfig.pull: missing"
            ))),
            Err(e) => Err(e),
        }
    }

    /// The last `lines` lines a container printed (an exited agent's final screen).
    fn log_tail(&self, ctx: &Ctx, name: &str, lines: u32) -> Result<String, SdkError> {
        let text = self.engine.within(
            ctx,
            "read logs",
            probe::logs(self.engine.docker(), name, lines),
        )?;
        text.map_err(|e| engine::classify("read logs", e))
    }

    /// Removes a container whatever its state; gone already is fine.
    fn remove(&self, ctx: &Ctx, name: &str) -> Result<(), SdkError> {
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        match self.engine.run(
            ctx,
            "remove container",
            self.engine.docker().remove_container(name, Some(opts)),
        ) {
            Ok(()) | Err(SdkError::NotFound(_)) => Ok(()),
            // "removal already in progress"
            Err(SdkError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits for the agent's tmux session to exist, or for the container to end (the seed or
    /// tmux failed): a spawn must not report a session that never started.
    fn wait_started(&self, ctx: &Ctx, name: &str) -> Result<(), SdkError> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            // Until tmux answers, any failure may be the container starting or stopping: the
            // container's state decides.
            let last = match self
                .door(name)
                .run(ctx, &["has-session", "-t", launch::TARGET], None)
            {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let Some(seen) = self.ours(ctx)?.get(name)
                && seen.exited()
            {
                let log = self.log_tail(ctx, name, 20).unwrap_or_default();
                let why = log
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("ao:") || l.contains("fatal:"))
                    .unwrap_or_else(|| log.lines().last().unwrap_or(""))
                    .trim()
                    .to_string();
                return Err(SdkError::Unavailable(format!(
                    "the container exited at once ({}): {why}",
                    seen.status
                )));
            }
            if std::time::Instant::now() > deadline {
                return Err(SdkError::Timeout(format!(
                    "the agent's tmux session in {name} did not start within 30s ({last})"
                )));
            }
            ctx.sleep(Duration::from_millis(100))?;
        }
    }

    /// Whether a workspace volume holds work that is not pushed, read by a short-lived
    /// container (the session's own may be gone): uncommitted changes or commits on no remote.
    fn unpushed(&self, ctx: &Ctx, volume: &str) -> Result<Option<String>, SdkError> {
        probe::unpushed(&self.engine, ctx, &self.config.image, volume)
    }
}

impl Runtime for DockerRuntime {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        runtime::ATTACH_INFO,
        runtime::METRICS,
        runtime::ANSWER_DIALOG,
        runtime::LIST_SESSIONS,
        runtime::CHECK,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        config.validate()?;
        let host = config
            .host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        let cert_path = config.cert_path.clone().or_else(|| {
            std::env::var_os("DOCKER_TLS_VERIFY").and(std::env::var("DOCKER_CERT_PATH").ok())
        });
        let endpoint = Endpoint { host, cert_path };
        let engine = Engine::connect(
            &endpoint,
            Duration::from_millis(config.command_timeout_ms.max(1000)),
        )?;
        ao_plugin_api::tracing::debug!(
            "docker: connected to {} (Engine API {})",
            endpoint.host,
            engine.api
        );
        Ok(Self {
            config,
            endpoint,
            engine,
            sending: delivery::SessionLocks::default(),
        })
    }

    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError> {
        check_id("container name", &req.runtime_name)?;
        let local = self.endpoint.is_local();
        // ao prepared it on this machine whatever the engine: mounted, or copied in.
        if !std::path::Path::new(&req.workspace_path).is_dir() {
            return Err(SdkError::NotFound(format!(
                "workspace {} does not exist",
                req.workspace_path
            )));
        }
        let files_inside = self.config.files_inside(local)?;
        let mut plan = launch::plan(&self.config, &req, local, files_inside, &|n| {
            std::env::var(n).ok()
        })?;
        let mounted = |p: &std::path::Path| {
            self.config
                .mounts
                .iter()
                .any(|m| p.starts_with(m.target.as_deref().unwrap_or(&m.source)))
        };
        // A remote engine cannot see the workspace: it gets a bundle of it to clone.
        let seed = (self.config.workspace == WorkspaceMode::Clone && !local)
            .then(|| container::seed(ctx, std::path::Path::new(&req.workspace_path), true))
            .transpose()?;
        if let (Some(seed), Some(env)) = (&seed, plan.body.env.as_mut()) {
            env.extend(seed.env());
        }
        let owner = container::numeric_owner(self.config.user.as_deref());
        let upload = (files_inside || seed.is_some() || !req.copies.is_empty())
            .then(|| container::archive(&req, files_inside, seed.as_ref(), &mounted, owner))
            .transpose()?;
        let name = req.runtime_name.as_str();
        // A container of this name that ended (a restore) gives way; a running one is a clash.
        if let Some(seen) = self.ours(ctx)?.get(name) {
            if !seen.exited() {
                return Err(SdkError::Conflict(format!(
                    "container `{name}` already exists and is {}",
                    seen.state
                )));
            }
            self.remove(ctx, name)?;
        }
        self.ensure_image(ctx)?;
        let docker = self.engine.docker();
        // A volume this call makes goes again if the session does not start; one that was there
        // (a restore) holds the agent's work and stays.
        let mut new_volume = None;
        if let Some(v) = &plan.volume {
            if matches!(
                self.engine
                    .run(ctx, "inspect volume", docker.inspect_volume(v)),
                Err(SdkError::NotFound(_))
            ) {
                new_volume = Some(v.clone());
            }
            let labels = HashMap::from([
                (launch::LABEL_RUNTIME.to_string(), "docker".to_string()),
                (launch::LABEL_SESSION.to_string(), req.session_id.clone()),
            ]);
            let body = bollard::models::VolumeCreateRequest {
                name: Some(v.clone()),
                labels: Some(labels),
                ..Default::default()
            };
            self.engine
                .run(ctx, "create volume", docker.create_volume(body))?;
        }
        let opts = CreateContainerOptionsBuilder::new().name(name).build();
        let started = self
            .engine
            .run(
                ctx,
                "create container",
                docker.create_container(Some(opts), plan.body),
            )
            .and_then(|_| match upload {
                // The session's own files, in place before the agent can look for them.
                Some(tar) => {
                    let opts = UploadToContainerOptionsBuilder::new().path("/").build();
                    let body = bollard::body_full(tar.into());
                    self.engine.run(
                        ctx,
                        "copy the session's files in",
                        docker.upload_to_container(name, Some(opts), body),
                    )
                }
                None => Ok(()),
            })
            .and_then(|()| {
                self.engine
                    .run(ctx, "start container", docker.start_container(name, None))
            })
            .and_then(|()| self.wait_started(ctx, name));
        if let Err(e) = started {
            // Nothing half-made stays.
            let _ = self.remove(ctx, name);
            if let Some(v) = new_volume {
                let opts = RemoveVolumeOptionsBuilder::new().force(true).build();
                let _ = self
                    .engine
                    .run(ctx, "remove volume", docker.remove_volume(&v, Some(opts)));
            }
            return Err(e);
        }
        // The agent keeps its records under its home inside: the host follows them there.
        let home = self
            .engine
            .exec(ctx, name, container::home_argv(), None)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout.trim().to_string())
            .filter(|h| h.starts_with('/'));
        Ok(RuntimeHandle {
            id: req.runtime_name.clone(),
            runtime: "docker".into(),
            data: serde_json::json!({
                "host": self.endpoint.host,
                "workspace": {
                    "location": if plan.volume.is_some() { "container" } else { "host" },
                    "path": plan.workdir,
                    "hostPath": req.workspace_path,
                },
                "volume": plan.volume,
                "home": home,
                "statusFile": files_inside.then(|| req.env.get("AO_STATUS_FILE")).flatten(),
                "createdAtMs": ao_plugin_api::status_file::now_ms(),
            }),
        })
    }

    fn destroy(&self, ctx: &Ctx, req: HandleRequest) -> Result<(), SdkError> {
        let name = name_of(&req.handle)?;
        self.remove(ctx, name)?;
        let Some(volume) = req.handle.data.get("volume").and_then(|v| v.as_str()) else {
            return Ok(());
        };
        match self.unpushed(ctx, volume)? {
            Some(what) => {
                ao_plugin_api::tracing::warn!(
                    "{name}: kept volume {volume}, which holds work that is not pushed ({what}); remove it with `docker volume rm {volume}` once it is safe"
                );
                Ok(())
            }
            None => {
                let opts = RemoveVolumeOptionsBuilder::new().force(true).build();
                match self.engine.run(
                    ctx,
                    "remove volume",
                    self.engine.docker().remove_volume(volume, Some(opts)),
                ) {
                    Ok(()) | Err(SdkError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Result<SendOutcome, SdkError> {
        let name = name_of(&req.handle)?;
        self.sending.one_at_a_time(name, || {
            let door = self.door_of(&req.handle)?;
            let pane = TmuxPane::new(&door, launch::TARGET, name);
            delivery::deliver(ctx, &pane, &req.text, &req.delivery).map_err(|e| match e {
                SdkError::NotFound(m) if m.ends_with(PANE_DEAD) => SdkError::NotFound(m),
                SdkError::NotFound(_) => {
                    SdkError::NotFound(format!("container `{name}`: {PANE_DEAD}"))
                }
                other => other,
            })
        })
    }

    fn answer_dialog(&self, ctx: &Ctx, req: AnswerRequest) -> Result<AnswerOutcome, SdkError> {
        let name = name_of(&req.handle)?;
        self.sending.one_at_a_time(name, || {
            let door = self.door(name);
            let pane = TmuxPane::new(&door, launch::TARGET, name);
            answer::answer(
                ctx,
                &pane,
                &req.choice,
                req.fingerprint.as_deref(),
                &req.screen,
            )
        })
    }

    fn get_output(&self, ctx: &Ctx, req: GetOutputRequest) -> Result<Output, SdkError> {
        let name = name_of(&req.handle)?;
        let door = self.door(name);
        match TmuxPane::new(&door, launch::TARGET, name).history(ctx, req.lines) {
            Ok(text) => Ok(Output { text }),
            // The agent exited: its final screen is the container's log.
            Err(SdkError::NotFound(_)) => {
                let lines = req.lines.clamp(1, 100_000);
                let text = self.log_tail(ctx, name, lines)?;
                Ok(Output {
                    text: last_screen_lines(&text, lines),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn is_alive(&self, ctx: &Ctx, req: IsAliveRequest) -> Result<Liveness, SdkError> {
        runtime::is_alive_by_probe(self, ctx, req)
    }

    fn probe(&self, ctx: &Ctx, req: ProbeRequest) -> Result<ProbeResponse, SdkError> {
        let seen = self.ours(ctx)?;
        probe::probe(&self.engine, ctx, &seen, req)
    }

    fn list_sessions(&self, ctx: &Ctx, req: ListSessionsRequest) -> Result<SessionList, SdkError> {
        if req.prefix.is_empty() {
            return Err(SdkError::InvalidParams(
                "an empty prefix would list containers that are not ao's".into(),
            ));
        }
        let mut sessions: Vec<ListedSession> = self
            .ours(ctx)?
            .into_values()
            .filter(|s| s.name.starts_with(&req.prefix))
            .map(|s| ListedSession {
                alive: !s.exited(),
                handle: RuntimeHandle {
                    id: s.name.clone(),
                    runtime: "docker".into(),
                    data: serde_json::json!({
                        "host": self.endpoint.host,
                        "volume": (s.workspace == "clone").then(|| launch::volume_name(&s.name)),
                    }),
                },
            })
            .collect();
        sessions.sort_by(|a, b| a.handle.id.cmp(&b.handle.id));
        Ok(SessionList { sessions })
    }

    fn attach_info(&self, _ctx: &Ctx, req: HandleRequest) -> Result<AttachInfo, SdkError> {
        let name = name_of(&req.handle)?;
        let mut argv = vec!["docker".to_string()];
        if self.endpoint.host != "unix:///var/run/docker.sock" {
            argv.extend(["-H".to_string(), self.endpoint.host.clone()]);
        }
        argv.extend(
            [
                "exec",
                "-it",
                name,
                "tmux",
                "-S",
                launch::SOCKET,
                "attach-session",
                "-t",
                "=ao",
            ]
            .map(String::from),
        );
        Ok(AttachInfo {
            kind: "docker".into(),
            target: name.to_string(),
            web: serde_json::json!({
                "host": self.endpoint.host,
                "container": name,
                "socket": launch::SOCKET,
                "attachArgv": argv,
            }),
            argv,
        })
    }

    fn check(&self, ctx: &Ctx, _req: ()) -> Result<Checks, SdkError> {
        let host = &self.endpoint.host;
        let engine = match self
            .engine
            .run(ctx, "read the version", self.engine.docker().version())
        {
            Ok(v) => Check {
                name: "engine".into(),
                ok: true,
                detail: format!(
                    "Docker {} at {host} (Engine API {}, speaking {})",
                    v.version.unwrap_or_default(),
                    v.api_version.unwrap_or_default(),
                    self.engine.api
                ),
            },
            Err(e) => Check {
                name: "engine".into(),
                ok: false,
                detail: format!("{host}: {e}"),
            },
        };
        let image = &self.config.image;
        let image = match self.engine.run(
            ctx,
            "inspect image",
            self.engine.docker().inspect_image(image),
        ) {
            Ok(_) => Check {
                name: "image".into(),
                ok: true,
                detail: format!("{image} is on the engine"),
            },
            Err(SdkError::NotFound(_)) if self.config.pull == Pull::Missing => Check {
                name: "image".into(),
                ok: true,
                detail: format!("{image} is not on the engine yet; the first spawn pulls it"),
            },
            Err(SdkError::NotFound(_)) => Check {
                name: "image".into(),
                ok: false,
                detail: format!(
                    "{image} is not on the engine: build or load it, or set runtimeConfig.pull: missing"
                ),
            },
            Err(e) => Check {
                name: "image".into(),
                ok: false,
                detail: e.to_string(),
            },
        };
        Ok(Checks {
            checks: vec![engine, image],
        })
    }

    fn metrics(&self, ctx: &Ctx, req: HandleRequest) -> Result<Metrics, SdkError> {
        let name = name_of(&req.handle)?;
        let opts = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(false)
            .build();
        let stats = self.engine.within(ctx, "read stats", async {
            self.engine
                .docker()
                .stats(name, Some(opts))
                .next()
                .await
                .transpose()
        })?;
        let stats = stats
            .map_err(|e| engine::classify("read stats", e))?
            .ok_or_else(|| SdkError::NotFound(format!("container `{name}` is gone")))?;
        let created = req
            .handle
            .data
            .get("createdAtMs")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let now = ao_plugin_api::status_file::now_ms();
        Ok(Metrics {
            uptime_ms: if created > 0 {
                now.saturating_sub(created)
            } else {
                0
            },
            memory_mb: probe::memory_mb(&stats),
            cpu_percent: probe::cpu_percent(&stats),
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "runtime-docker",
    description: "Each session in its own Docker container, tmux inside; acknowledged message delivery over exec",
    components: [ runtime "docker" => DockerRuntime ],
}

//! runtime-k8s: each ao session as a Kubernetes pod.
//!
//! - [`kubeconfig`]: the cluster and credentials (a kubeconfig context or in-cluster), by
//!   reference; [`api`]: REST with a deadline, `Status` errors as kinds; [`exec`]: commands in
//!   a pod over the exec WebSocket (`v5.channel.k8s.io` first).
//! - [`manifest`]: the pod (restricted Pod Security, `activeDeadlineSeconds`, emptyDirs) and its
//!   Secret (the agent's environment, the hook shim), pure.
//! - `create` makes the Secret and the pod, waits for it to run, then copies the workspace (a
//!   git bundle of ao's worktree) and the session's files in by exec; the pod's launch script
//!   waits for them, then starts the agent in tmux (`sdk::container`).
//! - `probe` is one LIST by label per tick, plus one exec per running pod for the screen and the
//!   status file's end; an exited pod's screen is its log.
//! - Delivery, capture and dialog answers are runtime-tmux's code (`sdk::tmux`) carried by exec.
//! - `destroy` refuses to delete a pod whose workspace holds work on no remote: an emptyDir goes
//!   with its pod.

pub mod api;
pub mod config;
pub mod exec;
pub mod kubeconfig;
pub mod manifest;
mod probe;
pub mod tls;

pub use config::Config;

use ao_plugin_api::sdk::container;
use ao_plugin_api::sdk::tmux::{PANE_DEAD, TmuxDoor, TmuxPane, classify, last_screen_lines};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, answer, delivery, git::check_id};
use ao_plugin_api::slots::runtime::{
    self, AnswerOutcome, AnswerRequest, AttachInfo, Check, Checks, CreateRequest, GetOutputRequest,
    HandleRequest, IsAliveRequest, ListSessionsRequest, ListedSession, Liveness, Output,
    ProbeRequest, ProbeResponse, Runtime, RuntimeHandle, SendMessageRequest, SendOutcome,
    SessionList,
};
use api::Api;
use serde_json::json;
use std::time::{Duration, Instant};

/// The runtime.
pub struct K8sRuntime {
    config: Config,
    api: Api,
    sending: delivery::SessionLocks,
}

/// tmux commands carried into a pod by exec.
struct PodDoor<'a> {
    rt: &'a K8sRuntime,
    pod: &'a str,
    status_file: Option<&'a str>,
}

impl TmuxDoor for PodDoor<'_> {
    fn run(&self, ctx: &Ctx, args: &[&str], stdin: Option<&str>) -> Result<String, SdkError> {
        ctx.check()?;
        let mut argv: Vec<String> = Vec::new();
        if let Some(text) = stdin {
            argv.extend(container::stdin_prefix(text.len()));
        }
        argv.extend(["tmux", "-S", container::SOCKET].map(String::from));
        argv.extend(args.iter().map(|a| a.to_string()));
        let out = self
            .rt
            .exec(self.pod, &argv, stdin.map(str::as_bytes))
            .map_err(|e| match e {
                SdkError::NotFound(_) => SdkError::NotFound(format!("pod `{}` is gone", self.pod)),
                // The agent ended with its pod: the simulator says "pod not running", a real
                // API server "cannot exec into a container in a completed pod".
                SdkError::Unavailable(m)
                    if m.contains("not running") || m.contains("completed pod") =>
                {
                    SdkError::NotFound(format!("{}: {PANE_DEAD}", self.pod))
                }
                other => other,
            })?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(classify(&args.join(" "), out.first_error_line()))
        }
    }

    fn status_tail(&self, _ctx: &Ctx) -> Option<String> {
        let file = self.status_file?;
        let out = self
            .rt
            .exec(
                self.pod,
                &container::status_tail_argv(file, ao_plugin_api::status_file::REMOTE_TAIL),
                None,
            )
            .ok()?;
        out.success().then_some(out.stdout)
    }
}

fn name_of(handle: &RuntimeHandle) -> Result<&str, SdkError> {
    check_id("pod name", &handle.id)?;
    Ok(&handle.id)
}

impl K8sRuntime {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.command_timeout_ms)
    }

    fn pods_path(&self) -> String {
        format!("/api/v1/namespaces/{}/pods", self.api.namespace())
    }

    fn exec(
        &self,
        pod: &str,
        argv: &[String],
        stdin: Option<&[u8]>,
    ) -> Result<exec::ExecOutput, SdkError> {
        exec::exec(
            &self.api,
            pod,
            manifest::CONTAINER,
            argv,
            stdin,
            self.timeout(),
        )
    }

    fn door<'a>(&'a self, handle: &'a RuntimeHandle) -> Result<PodDoor<'a>, SdkError> {
        Ok(PodDoor {
            rt: self,
            pod: name_of(handle)?,
            status_file: container::status_file_of(handle),
        })
    }

    /// Every pod of ao's in the namespace (one LIST), by name.
    fn ours(&self) -> Result<std::collections::HashMap<String, serde_json::Value>, SdkError> {
        let list = self.api.get(&format!(
            "{}?labelSelector={}%3Dao",
            self.pods_path(),
            manifest::LABEL_MANAGED.replace('/', "%2F")
        ))?;
        Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["metadata"]["name"].as_str()?.to_string(), p.clone())))
            .collect())
    }

    /// Deletes the pod and its Secret; gone already is fine.
    fn remove(&self, name: &str) -> Result<(), SdkError> {
        let ns = self.api.namespace();
        let opts = json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 5});
        for path in [
            format!("/api/v1/namespaces/{ns}/pods/{name}"),
            format!("/api/v1/namespaces/{ns}/secrets/{name}"),
        ] {
            match self.api.delete(&path, Some(&opts)) {
                Ok(_) | Err(SdkError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Waits until the new pod runs; a pod that cannot start says why.
    fn wait_running(&self, ctx: &Ctx, name: &str) -> Result<(), SdkError> {
        let deadline = Instant::now() + Duration::from_millis(self.config.start_timeout_ms);
        loop {
            let pod = self.api.get(&format!("{}/{name}", self.pods_path()))?;
            let l = probe::liveness(Some(&pod));
            if pod["status"]["phase"] == "Running" {
                return Ok(());
            }
            if l.process_running == Some(false) {
                // A failed clone's words are in its own container's log.
                let container = if probe::init_failed(&pod) {
                    manifest::CLONE_CONTAINER
                } else {
                    manifest::CONTAINER
                };
                let log = self.log_of(name, container, 20).unwrap_or_default();
                let why = log
                    .lines()
                    .rev()
                    .find(|x| x.starts_with("ao:") || x.contains("fatal:"))
                    .map(|x| format!(": {}", x.trim()))
                    .unwrap_or_default();
                return Err(SdkError::Unavailable(format!(
                    "pod {name}: {}{why}",
                    l.detail
                )));
            }
            if Instant::now() > deadline {
                return Err(SdkError::Timeout(format!(
                    "pod {name} did not run within {} s ({}); see `kubectl describe pod {name}`",
                    self.config.start_timeout_ms / 1000,
                    l.detail
                )));
            }
            ctx.sleep(Duration::from_millis(200))?;
        }
    }

    fn log_tail(&self, name: &str, lines: u32) -> Result<String, SdkError> {
        self.log_of(name, manifest::CONTAINER, lines)
    }

    fn log_of(&self, name: &str, container: &str, lines: u32) -> Result<String, SdkError> {
        self.api.get_text(&format!(
            "{}/{name}/log?container={container}&tailLines={lines}",
            self.pods_path(),
        ))
    }

    /// What of the pod's workspace exists nowhere else, read in the pod.
    fn unpushed(&self, name: &str) -> Result<Option<String>, SdkError> {
        let argv = ["sh", "-c", container::UNPUSHED_CHECK].map(String::from);
        let out = self.exec(name, &argv, None)?;
        let mut text = out.stdout;
        text.push_str(&out.stderr);
        Ok(container::parse_unpushed(&text))
    }
}

impl Runtime for K8sRuntime {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        runtime::ATTACH_INFO,
        runtime::ANSWER_DIALOG,
        runtime::LIST_SESSIONS,
        runtime::CHECK,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        config.validate()?;
        let mut target = if config.in_cluster {
            kubeconfig::in_cluster()?
        } else {
            let path = config
                .kubeconfig
                .as_ref()
                .map(std::path::PathBuf::from)
                .or_else(kubeconfig::default_path)
                .ok_or_else(|| {
                    SdkError::InvalidConfig(
                        "no kubeconfig: set runtimeConfig.kubeconfig, KUBECONFIG or HOME".into(),
                    )
                })?;
            kubeconfig::load(&path, config.context.as_deref())?
        };
        if let Some(ns) = &config.namespace {
            target.namespace = ns.clone();
        }
        let api = Api::new(
            target,
            Duration::from_millis(config.command_timeout_ms.max(1000)),
        )?;
        Ok(Self {
            config,
            api,
            sending: delivery::SessionLocks::default(),
        })
    }

    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError> {
        let workspace = std::path::Path::new(&req.workspace_path);
        if !workspace.is_dir() {
            return Err(SdkError::NotFound(format!(
                "workspace {} does not exist",
                req.workspace_path
            )));
        }
        let seed = container::seed(ctx, workspace, self.config.clone.is_none())?;
        let clone = match &self.config.clone {
            Some(c) => Some(manifest::CloneFrom {
                url: c.url.clone().or(seed.origin.clone()).ok_or_else(|| {
                    SdkError::InvalidConfig(
                        "runtimeConfig.clone: the workspace has no `origin` remote; set runtimeConfig.clone.url".into(),
                    )
                })?,
                branch: seed.branch.clone(),
                head: seed.head.clone(),
            }),
            None => None,
        };
        let plan = manifest::plan(
            &self.config,
            &req,
            self.api.namespace(),
            &seed.env(),
            clone.as_ref(),
        )?;
        // The shim comes from the Secret and the directories are the pod's volumes; the files
        // are copied in.
        let mounted =
            |p: &std::path::Path| plan.mounts.iter().any(|m| p == std::path::Path::new(m));
        // Extracted by the pod's own user (`--no-same-owner`): no owner to set.
        let archive = container::archive(&req, true, Some(&seed), &mounted, None)?;
        let name = plan.name.clone();
        let ns = self.api.namespace().to_string();
        // A pod of this name that ended (a restore) gives way; a live one is a clash.
        if let Some(pod) = self.ours()?.get(&name) {
            let l = probe::liveness(Some(pod));
            if l.alive {
                return Err(SdkError::Conflict(format!(
                    "pod `{name}` already exists and runs"
                )));
            }
            self.remove(&name)?;
            let deadline = Instant::now() + self.timeout() * 3;
            while self.ours()?.contains_key(&name) && Instant::now() < deadline {
                ctx.sleep(Duration::from_millis(200))?;
            }
        }
        let made = self
            .api
            .post(&format!("/api/v1/namespaces/{ns}/secrets"), &plan.secret)
            .and_then(|_| self.api.post(&self.pods_path(), &plan.pod))
            .and_then(|_| self.wait_running(ctx, &name))
            .and_then(|()| {
                let mut argv = container::stdin_prefix(archive.len());
                argv.extend(
                    [
                        "tar",
                        "-x",
                        "--no-same-owner",
                        "--no-overwrite-dir",
                        "-f",
                        "-",
                        "-C",
                        "/",
                    ]
                    .map(String::from),
                );
                let out = self.exec(&name, &argv, Some(&archive))?;
                if out.success() {
                    Ok(())
                } else {
                    Err(SdkError::Unavailable(format!(
                        "copying the workspace into pod {name} failed: {}",
                        out.first_error_line()
                    )))
                }
            });
        if let Err(e) = made {
            // Nothing half-made stays.
            let _ = self.remove(&name);
            return Err(e);
        }
        // The agent keeps its records under its home inside: the host follows them there.
        let home = self
            .exec(&name, &container::home_argv(), None)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout.trim().to_string())
            .filter(|h| h.starts_with('/'));
        Ok(RuntimeHandle {
            id: name,
            runtime: "k8s".into(),
            data: json!({
                "server": self.api.target.server,
                "namespace": ns,
                "context": self.api.target.context,
                "workspace": {
                    "location": "container",
                    "path": container::CLONE_PATH,
                    "hostPath": req.workspace_path,
                },
                "home": home,
                "statusFile": req.env.get("AO_STATUS_FILE"),
                "createdAtMs": ao_plugin_api::status_file::now_ms(),
            }),
        })
    }

    fn destroy(&self, _ctx: &Ctx, req: HandleRequest) -> Result<(), SdkError> {
        let name = name_of(&req.handle)?;
        let running = self
            .ours()?
            .get(name)
            .is_some_and(|p| p["status"]["phase"] == "Running");
        // The workspace is an emptyDir: it goes with the pod, so its work must be elsewhere.
        if running && let Some(what) = self.unpushed(name)? {
            return Err(SdkError::Conflict(format!(
                "pod {name} holds work that is not pushed ({what}); push it from the session (`ao send`), or delete the pod yourself with `kubectl delete pod {name}` once it is safe"
            )));
        }
        self.remove(name)
    }

    fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Result<SendOutcome, SdkError> {
        let name = name_of(&req.handle)?;
        self.sending.one_at_a_time(name, || {
            let door = self.door(&req.handle)?;
            let pane = TmuxPane::new(&door, container::TARGET, name);
            delivery::deliver(ctx, &pane, &req.text, &req.delivery)
        })
    }

    fn answer_dialog(&self, ctx: &Ctx, req: AnswerRequest) -> Result<AnswerOutcome, SdkError> {
        let name = name_of(&req.handle)?;
        self.sending.one_at_a_time(name, || {
            let door = self.door(&req.handle)?;
            let pane = TmuxPane::new(&door, container::TARGET, name);
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
        let door = self.door(&req.handle)?;
        match TmuxPane::new(&door, container::TARGET, name).history(ctx, req.lines) {
            Ok(text) => Ok(Output { text }),
            // The agent exited: its final screen is the pod's log, while the pod exists.
            Err(SdkError::NotFound(_)) => {
                let lines = req.lines.clamp(1, 100_000);
                let text = self.log_tail(name, lines)?;
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
        let pods = self.ours()?;
        probe::probe(self, ctx, &pods, req)
    }

    fn list_sessions(&self, _ctx: &Ctx, req: ListSessionsRequest) -> Result<SessionList, SdkError> {
        if req.prefix.is_empty() {
            return Err(SdkError::InvalidParams(
                "an empty prefix would list pods that are not ao's".into(),
            ));
        }
        let mut sessions: Vec<ListedSession> = self
            .ours()?
            .into_iter()
            .filter(|(n, _)| n.starts_with(&req.prefix))
            .map(|(n, p)| ListedSession {
                alive: probe::liveness(Some(&p)).alive,
                handle: RuntimeHandle {
                    id: n,
                    runtime: "k8s".into(),
                    data: json!({"namespace": self.api.namespace()}),
                },
            })
            .collect();
        sessions.sort_by(|a, b| a.handle.id.cmp(&b.handle.id));
        Ok(SessionList { sessions })
    }

    fn attach_info(&self, _ctx: &Ctx, req: HandleRequest) -> Result<AttachInfo, SdkError> {
        let name = name_of(&req.handle)?;
        let mut argv = vec!["kubectl".to_string()];
        if let Some(c) = &self.api.target.context {
            argv.extend(["--context".into(), c.clone()]);
        }
        argv.extend(
            [
                "-n",
                self.api.namespace(),
                "exec",
                "-it",
                name,
                "-c",
                manifest::CONTAINER,
                "--",
                "tmux",
                "-S",
                container::SOCKET,
                "attach-session",
                "-t",
                "=ao",
            ]
            .map(String::from),
        );
        Ok(AttachInfo {
            kind: "k8s".into(),
            target: name.to_string(),
            web: json!({"namespace": self.api.namespace(), "pod": name, "attachArgv": argv}),
            argv,
        })
    }

    fn check(&self, _ctx: &Ctx, _req: ()) -> Result<Checks, SdkError> {
        let server = &self.api.target.server;
        let mut checks = Vec::new();
        match self.api.get("/version") {
            Ok(v) => checks.push(Check {
                name: "cluster".into(),
                ok: true,
                detail: format!(
                    "{server}: Kubernetes {}",
                    v["gitVersion"].as_str().unwrap_or("?")
                ),
            }),
            Err(e) => {
                checks.push(Check {
                    name: "cluster".into(),
                    ok: false,
                    detail: e.to_string(),
                });
                return Ok(Checks { checks });
            }
        }
        checks.push(match self.ours() {
            Ok(p) => Check {
                name: "namespace".into(),
                ok: true,
                detail: format!(
                    "{}: pods can be listed ({} of ao's)",
                    self.api.namespace(),
                    p.len()
                ),
            },
            Err(e) => Check {
                name: "namespace".into(),
                ok: false,
                detail: e.to_string(),
            },
        });
        Ok(Checks { checks })
    }
}

ao_plugin_api::export_plugin! {
    name: "runtime-k8s",
    description: "Each session as a Kubernetes pod, tmux inside; acknowledged message delivery over the exec WebSocket",
    components: [ runtime "k8s" => K8sRuntime ],
}

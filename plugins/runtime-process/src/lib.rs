//! `runtime/process`: each session is a direct child of the process that loaded this plugin —
//! the `ao start` daemon — on a pseudo-terminal of its own, with no tmux involved.
//!
//! What it does like tmux: argv launch without a shell, acknowledged delivery (same driver),
//! capture of the screen and its history (a terminal emulator reads the output), liveness of the
//! agent's process tree.
//!
//! What it cannot do, by construction:
//! - **No re-attach.** The terminal lives inside the daemon. When the daemon exits, the pty
//!   closes and the agent receives SIGHUP; a new daemon cannot reconnect to anything, so
//!   `ao session restore` starts the agent again (resuming its conversation when the agent
//!   supports it). Use tmux when sessions must outlive `ao`.
//! - **One owner.** Only the process holding the session can send to it or read its screen.
//!   Another process (a CLI call) holding the same handle sees liveness through the pid, and
//!   a clear error for anything else: commands go through the daemon.
//! - No human attach from a terminal; the dashboard's web terminal is the way to look in.

mod session;

use ao_plugin_api::sdk::procs::ProcessTable;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, command, delivery, git::check_id};
use ao_plugin_api::slots::runtime::{
    self, AnswerOutcome, AnswerRequest, AttachInfo, CreateRequest, GetOutputRequest, HandleRequest,
    IsAliveRequest, Liveness, Metrics, Output, Runtime, RuntimeHandle, SendMessageRequest,
    SendOutcome,
};
use schemars::JsonSchema;
use serde::Deserialize;
use session::Session;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Terminal width, in columns.
    #[serde(default = "default_width")]
    pub width: u16,
    /// Terminal height, in rows.
    #[serde(default = "default_height")]
    pub height: u16,
    /// How long an agent gets to exit after SIGTERM before SIGKILL.
    #[serde(default = "default_kill_grace_ms")]
    pub kill_grace_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            width: default_width(),
            height: default_height(),
            kill_grace_ms: default_kill_grace_ms(),
        }
    }
}

fn default_width() -> u16 {
    200
}
fn default_height() -> u16 {
    50
}
fn default_kill_grace_ms() -> u64 {
    5_000
}

/// The runtime.
pub struct ProcessRuntime {
    config: Config,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    sending: delivery::SessionLocks,
}

impl ProcessRuntime {
    fn session(&self, handle: &RuntimeHandle) -> Option<Arc<Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&handle.id)
            .cloned()
    }

    /// The session if this process owns it; a clear error otherwise.
    fn owned(&self, handle: &RuntimeHandle) -> Result<Arc<Session>, SdkError> {
        if let Some(s) = self.session(handle) {
            return Ok(s);
        }
        let owner = handle.data.get("ownerPid").and_then(|v| v.as_u64());
        Err(match owner {
            Some(pid) if u64::from(std::process::id()) != pid && pid_alive(pid) => {
                SdkError::Unavailable(format!(
                    "session `{}` runs inside the ao process {pid}; send to it through that \
                     process (the process runtime cannot re-attach)",
                    handle.id
                ))
            }
            _ => SdkError::NotFound(format!("process session `{}` is gone", handle.id)),
        })
    }
}

fn pid_alive(pid: u64) -> bool {
    // SAFETY: signal 0 only checks that the process exists; EPERM still means it exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Runtime for ProcessRuntime {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        runtime::ATTACH_INFO,
        runtime::METRICS,
        runtime::ANSWER_DIALOG,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        if config.width < 20 || config.height < 5 {
            return Err(SdkError::InvalidConfig(
                "width must be at least 20 and height at least 5".into(),
            ));
        }
        Ok(Self {
            config,
            sessions: Mutex::default(),
            sending: delivery::SessionLocks::default(),
        })
    }

    fn create(&self, _ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError> {
        check_id("session name", &req.runtime_name)?;
        if !Path::new(&req.workspace_path).is_dir() {
            return Err(SdkError::NotFound(format!(
                "workspace {} does not exist",
                req.workspace_path
            )));
        }
        for k in req.env.keys() {
            command::check_env_name(k).map_err(|e| {
                SdkError::InvalidParams(format!("invalid environment variable: {e}"))
            })?;
        }
        let program = req.argv.first().map(String::as_str).unwrap_or("");
        if command::find_program(program, req.env.get("PATH").map(String::as_str)).is_none() {
            return Err(SdkError::NotFound(format!(
                "`{program}` is not installed or not on the agent's PATH"
            )));
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = sessions.get(&req.runtime_name)
            && old.exit_status().is_none()
        {
            return Err(SdkError::Conflict(format!(
                "process session `{}` already exists",
                req.runtime_name
            )));
        }
        let session = Session::spawn(
            &req.argv,
            &req.workspace_path,
            &req.env,
            self.config.height,
            self.config.width,
        )?;
        let pid = session.pid;
        sessions.insert(req.runtime_name.clone(), session);
        Ok(RuntimeHandle {
            id: req.runtime_name,
            runtime: "process".into(),
            data: serde_json::json!({
                "pid": pid,
                "ownerPid": std::process::id(),
                "workspace": req.workspace_path,
            }),
        })
    }

    fn destroy(&self, _ctx: &Ctx, req: HandleRequest) -> Result<(), SdkError> {
        let removed = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&req.handle.id);
        if let Some(s) = removed {
            s.terminate(Duration::from_millis(self.config.kill_grace_ms));
        }
        Ok(())
    }

    fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Result<SendOutcome, SdkError> {
        let session = self.owned(&req.handle)?;
        self.sending.one_at_a_time(&req.handle.id, || {
            delivery::deliver(ctx, session.as_ref(), &req.text, &req.delivery)
        })
    }

    fn answer_dialog(&self, ctx: &Ctx, req: AnswerRequest) -> Result<AnswerOutcome, SdkError> {
        let session = self.owned(&req.handle)?;
        self.sending.one_at_a_time(&req.handle.id, || {
            ao_plugin_api::sdk::answer::answer(
                ctx,
                session.as_ref(),
                &req.choice,
                req.fingerprint.as_deref(),
                &req.screen,
            )
        })
    }

    fn get_output(&self, _ctx: &Ctx, req: GetOutputRequest) -> Result<Output, SdkError> {
        let session = self.owned(&req.handle)?;
        // Exit first, screen second: once it has exited, everything it wrote is readable.
        let exited = session.exit_status();
        let mut text = session.lines(req.lines.clamp(1, 100_000) as usize);
        if let Some(how) = exited {
            text.push_str(&format!("\n[process exited: {how}]"));
        }
        Ok(Output { text })
    }

    fn is_alive(&self, ctx: &Ctx, req: IsAliveRequest) -> Result<Liveness, SdkError> {
        let Some(session) = self.session(&req.handle) else {
            // Not ours: all we can know is whether its pid still runs.
            let pid = req.handle.data.get("pid").and_then(|v| v.as_u64());
            let alive = pid.is_some_and(pid_alive);
            return Ok(Liveness {
                files: Vec::new(),
                alive,
                session_exists: alive,
                process_running: Some(alive),
                detail: "checked by pid only: the session belongs to another ao process".into(),
                screen: None,
                status_tail: None,
            });
        };
        if let Some(how) = session.exit_status() {
            return Ok(Liveness {
                files: Vec::new(),
                alive: false,
                session_exists: true,
                process_running: Some(false),
                detail: format!("the agent exited ({how})"),
                screen: None,
                status_tail: None,
            });
        }
        if req.process_names.is_empty() {
            return Ok(Liveness {
                files: Vec::new(),
                alive: true,
                session_exists: true,
                process_running: None,
                detail: format!("pid {}", session.pid),
                screen: None,
                status_tail: None,
            });
        }
        let table = ProcessTable::snapshot(Some(ctx))?;
        let found = table.find_agent(session.pid, &req.process_names);
        Ok(Liveness {
            files: Vec::new(),
            alive: found.is_some(),
            session_exists: true,
            process_running: Some(found.is_some()),
            detail: match found {
                Some(p) => format!("pid {}", p.pid),
                None => format!(
                    "no `{}` process below pid {}",
                    req.process_names.join("`/`"),
                    session.pid
                ),
            },
            screen: None,
            status_tail: None,
        })
    }

    fn attach_info(&self, _ctx: &Ctx, req: HandleRequest) -> Result<AttachInfo, SdkError> {
        let pid = req.handle.data.get("pid").cloned().unwrap_or_default();
        Ok(AttachInfo {
            kind: "process".into(),
            target: req.handle.id.clone(),
            argv: vec![],
            web: serde_json::json!({ "pid": pid, "ownerPid": req.handle.data.get("ownerPid") }),
        })
    }

    fn metrics(&self, ctx: &Ctx, req: HandleRequest) -> Result<Metrics, SdkError> {
        let session = self.owned(&req.handle)?;
        let table = ProcessTable::snapshot(Some(ctx))?;
        Ok(Metrics {
            uptime_ms: session.started.elapsed().as_millis() as u64,
            memory_mb: Some(table.tree_rss_kib(session.pid) as f64 / 1024.0),
            cpu_percent: None,
        })
    }

    fn shutdown(&self) {
        let all: Vec<_> = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in all {
            s.terminate(Duration::from_millis(self.config.kill_grace_ms.min(2_000)));
        }
    }
}

ao_plugin_api::export_plugin! {
    name: "runtime-process",
    description: "Each session a child process on its own pty, owned by the ao daemon",
    components: [ runtime "process" => ProcessRuntime ],
}

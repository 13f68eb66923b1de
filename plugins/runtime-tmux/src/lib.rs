//! `runtime/tmux`: each ao session is a detached tmux session named `{hash}-{sessionId}`,
//! running the agent's argv directly (no shell), started in the workspace.
//!
//! - The launch (argv and environment) reaches tmux on stdin ([`launch`]), never on a command
//!   line `ps` would show.
//! - Targets are always exact (`=name:`): tmux otherwise matches prefixes, and `app-1` would
//!   find `app-10`.
//! - The pane stays after the agent exits (`remain-on-exit`), so its last screen can still be
//!   read and liveness can tell "session there, agent gone" from "session gone". On a tmux
//!   before 3.7 a pipe is open on the pane so the agent's last output is not dropped when it
//!   exits ([`tmux_sdk::DRAIN_PIPE`]).
//! - Messages are delivered with acknowledgement (see `ao_plugin_api::sdk::delivery`): pasted
//!   through a named tmux buffer loaded from stdin, never typed with `send-keys`.
//! - `probe` answers for every session with one `list-panes -a` and one `ps`, and when asked
//!   captures every screen in a few chained `capture-pane` calls ([`screens`]).

#[cfg(test)]
mod last_words_test;
mod launch;
mod screens;
mod terminal;
mod tmux;

use ao_plugin_api::sdk::procs::ProcessTable;
use ao_plugin_api::sdk::tmux as tmux_sdk;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, answer, command, delivery, git::check_id};
use ao_plugin_api::slots::runtime::{
    self, AnswerOutcome, AnswerRequest, AttachInfo, CreateRequest, GetOutputRequest, HandleRequest,
    IsAliveRequest, ListSessionsRequest, ListedSession, Liveness, Metrics, Output, ProbeRequest,
    ProbeResponse, Runtime, RuntimeHandle, SendMessageRequest, SendOutcome, SessionList,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The tmux server's socket path (`tmux -S`); default: the user's default tmux server.
    #[serde(default)]
    pub socket: Option<String>,
    /// Width of new sessions, in columns.
    #[serde(default = "default_width")]
    pub width: u16,
    /// Height of new sessions, in rows.
    #[serde(default = "default_height")]
    pub height: u16,
    /// Deadline of each tmux command.
    #[serde(default = "default_command_timeout_ms")]
    pub command_timeout_ms: u64,
}

fn default_width() -> u16 {
    200
}
fn default_height() -> u16 {
    50
}
fn default_command_timeout_ms() -> u64 {
    5_000
}

/// The runtime.
pub struct TmuxRuntime {
    config: Config,
    sending: delivery::SessionLocks,
    /// Whether this machine's tmux drops a pane's last output at exit (asked once).
    drops_last_output: std::sync::OnceLock<bool>,
}

/// One pane of a session, from `list-panes -a`.
#[derive(Debug, Clone)]
struct Pane {
    id: String,
    pid: u32,
    dead: bool,
    dead_status: Option<i32>,
    dead_signal: Option<i32>,
    created_s: u64,
}

impl TmuxRuntime {
    /// The server a handle lives on: the one recorded at creation, else the configured one.
    fn tmux_for(&self, handle: &RuntimeHandle) -> tmux::Tmux {
        let socket = handle
            .data
            .get("socket")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
            .or_else(|| self.config.socket.clone());
        tmux::Tmux::new(
            socket,
            Duration::from_millis(self.config.command_timeout_ms),
        )
    }

    fn default_tmux(&self) -> tmux::Tmux {
        tmux::Tmux::new(
            self.config.socket.clone(),
            Duration::from_millis(self.config.command_timeout_ms),
        )
    }

    /// Every pane of every session on one server; an absent server has no sessions.
    fn panes(ctx: &Ctx, tmux: &tmux::Tmux) -> Result<HashMap<String, Vec<Pane>>, SdkError> {
        let text = match tmux.run(
            ctx,
            &[
                "list-panes",
                "-a",
                "-F",
                "#{session_name}\t#{pane_pid}\t#{pane_dead}\t#{pane_dead_status}\t#{session_created}\t#{pane_id}\t#{pane_dead_signal}\t#{pid}",
            ],
        ) {
            Ok(t) => t,
            Err(e) if tmux::is_gone(&e) => return Ok(HashMap::new()),
            Err(e) => return Err(e),
        };
        let mut out: HashMap<String, Vec<Pane>> = HashMap::new();
        let mut unreaped = None;
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 8 {
                continue;
            }
            if f[2] == "1" && f[3].is_empty() && f[6].is_empty() {
                unreaped = f[7].parse::<u32>().ok();
            }
            out.entry(f[0].to_string()).or_default().push(Pane {
                id: f[5].to_string(),
                pid: f[1].parse().unwrap_or(0),
                dead: f[2] == "1",
                dead_status: f[3].parse().ok(),
                dead_signal: f[6].parse().ok(),
                created_s: f[4].parse().unwrap_or(0),
            });
        }
        // A dead pane without an exit status may be a lost SIGCHLD: the next probe reads it.
        if let Some(server) = unreaped {
            tmux::nudge_reaper(server);
        }
        Ok(out)
    }

    fn liveness(
        panes: Option<&Vec<Pane>>,
        names: &[String],
        procs: Option<&ProcessTable>,
    ) -> Liveness {
        let Some(panes) = panes else {
            return Liveness::gone("tmux session not found");
        };
        let live: Vec<&Pane> = panes.iter().filter(|p| !p.dead).collect();
        if live.is_empty() {
            let status = panes.iter().find_map(|p| p.dead_status);
            let signal = panes.iter().find_map(|p| p.dead_signal);
            return Liveness {
                files: Vec::new(),
                alive: false,
                session_exists: true,
                process_running: Some(false),
                detail: match (status, signal) {
                    (Some(s), _) => format!("the agent exited with status {s}"),
                    (None, Some(n)) => format!("the agent was killed by signal {n}"),
                    (None, None) => "the agent exited".into(),
                },
                screen: None,
                status_tail: None,
            };
        }
        match procs {
            None => Liveness {
                files: Vec::new(),
                alive: true,
                session_exists: true,
                process_running: None,
                detail: String::new(),
                screen: None,
                status_tail: None,
            },
            Some(table) => {
                let found = live.iter().find_map(|p| table.find_agent(p.pid, names));
                Liveness {
                    files: Vec::new(),
                    alive: found.is_some(),
                    session_exists: true,
                    process_running: Some(found.is_some()),
                    detail: match found {
                        Some(p) => format!("pid {}", p.pid),
                        None => format!("no `{}` process in the session", names.join("`/`")),
                    },
                    screen: None,
                    status_tail: None,
                }
            }
        }
    }
}

fn target(handle: &RuntimeHandle) -> Result<String, SdkError> {
    check_id("tmux session name", &handle.id)?;
    Ok(format!("={}:", handle.id))
}

impl Runtime for TmuxRuntime {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        runtime::ATTACH_INFO,
        runtime::METRICS,
        runtime::ANSWER_DIALOG,
        runtime::LIST_SESSIONS,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        if config.width < 20 || config.height < 5 {
            return Err(SdkError::InvalidConfig(
                "width must be at least 20 and height at least 5".into(),
            ));
        }
        Ok(Self {
            config,
            sending: delivery::SessionLocks::default(),
            drops_last_output: std::sync::OnceLock::new(),
        })
    }

    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError> {
        check_id("tmux session name", &req.runtime_name)?;
        let workspace = Path::new(&req.workspace_path);
        if !workspace.is_dir() {
            return Err(SdkError::NotFound(format!(
                "workspace {} does not exist",
                workspace.display()
            )));
        }
        let program = req.argv.first().map(String::as_str).unwrap_or("");
        if command::find_program(program, req.env.get("PATH").map(String::as_str)).is_none() {
            return Err(SdkError::NotFound(format!(
                "`{program}` is not installed or not on the agent's PATH"
            )));
        }
        let tmux = self.default_tmux();
        // tmux 3.3a exits 0 from a new-session whose socket it could not create.
        if let Some(dir) = tmux.socket().and_then(|s| Path::new(s).parent())
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            return Err(SdkError::InvalidConfig(format!(
                "the tmux socket's directory {} does not exist (runtimeConfig.socket)",
                dir.display()
            )));
        }
        if Self::panes(ctx, &tmux)?.contains_key(&req.runtime_name) {
            return Err(SdkError::Conflict(format!(
                "tmux session `{}` already exists",
                req.runtime_name
            )));
        }
        let scratch = req
            .scratch_dir
            .as_ref()
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let size = (self.config.width, self.config.height);
        let drain = *self.drops_last_output.get_or_init(|| {
            tmux.run(ctx, &["-V"])
                .map(|v| tmux_sdk::drops_last_output(&v))
                .unwrap_or(true)
        });
        let launch = launch::plan(
            &req.runtime_name,
            &req.argv,
            &req.env,
            size,
            &scratch,
            drain,
        )?;
        let name = req.runtime_name.as_str();
        // The workspace is the client's directory: new sessions start there.
        let started = tmux
            .run_in_stdin(ctx, workspace, &launch.commands, &launch::CLIENT_ARGS)
            .and_then(|_| {
                // Its exit status alone is no evidence (see the socket check above).
                if Self::panes(ctx, &tmux)?.contains_key(name) {
                    Ok(())
                } else {
                    Err(SdkError::Unavailable(format!(
                        "tmux said nothing went wrong, but session `{name}` does not exist"
                    )))
                }
            });
        if let Err(e) = started {
            launch.discard();
            let _ = tmux.run(ctx, &["kill-session", "-t", &format!("={name}")]);
            return Err(e);
        }
        let mut data = serde_json::json!({
            "workspace": req.workspace_path,
            "createdAtMs": ao_plugin_api::status_file::now_ms(),
        });
        if let Some(s) = tmux.socket() {
            data["socket"] = s.into();
        }
        Ok(RuntimeHandle {
            id: req.runtime_name,
            runtime: "tmux".into(),
            data,
        })
    }

    fn destroy(&self, ctx: &Ctx, req: HandleRequest) -> Result<(), SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let t = target(&req.handle)?;
        match tmux.run(ctx, &["kill-session", "-t", t.trim_end_matches(':')]) {
            Ok(_) => Ok(()),
            Err(e) if tmux::is_gone(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Result<SendOutcome, SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let target = target(&req.handle)?;
        self.sending.one_at_a_time(&req.handle.id, || {
            let term = terminal::TmuxTerminal::new(&tmux, &target, &req.handle.id);
            delivery::deliver(ctx, &term, &req.text, &req.delivery).map_err(|e| match e {
                SdkError::NotFound(m) if m.ends_with(terminal::PANE_DEAD) => SdkError::NotFound(m),
                SdkError::NotFound(_) => {
                    SdkError::NotFound(format!("tmux session `{}` is gone", req.handle.id))
                }
                other => other,
            })
        })
    }

    fn answer_dialog(&self, ctx: &Ctx, req: AnswerRequest) -> Result<AnswerOutcome, SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let target = target(&req.handle)?;
        self.sending.one_at_a_time(&req.handle.id, || {
            let term = terminal::TmuxTerminal::new(&tmux, &target, &req.handle.id);
            answer::answer(
                ctx,
                &term,
                &req.choice,
                req.fingerprint.as_deref(),
                &req.screen,
            )
        })
    }

    fn get_output(&self, ctx: &Ctx, req: GetOutputRequest) -> Result<Output, SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let target = target(&req.handle)?;
        let pane = terminal::TmuxTerminal::new(&tmux, &target, &req.handle.id);
        Ok(Output {
            text: pane.history(ctx, req.lines)?,
        })
    }

    fn is_alive(&self, ctx: &Ctx, req: IsAliveRequest) -> Result<Liveness, SdkError> {
        runtime::is_alive_by_probe(self, ctx, req)
    }

    fn probe(&self, ctx: &Ctx, req: ProbeRequest) -> Result<ProbeResponse, SdkError> {
        // One list-panes per server and one ps for the whole tick.
        let mut servers: BTreeMap<Option<String>, HashMap<String, Vec<Pane>>> = BTreeMap::new();
        for t in &req.targets {
            let tmux = self.tmux_for(&t.handle);
            let key = tmux.socket().map(str::to_owned);
            if let std::collections::btree_map::Entry::Vacant(slot) = servers.entry(key) {
                slot.insert(Self::panes(ctx, &tmux)?);
            }
        }
        let table = if req.targets.iter().any(|t| !t.process_names.is_empty()) {
            Some(ProcessTable::snapshot(Some(ctx))?)
        } else {
            None
        };
        // Screens: the first pane of each session, in a few chained calls per server.
        let mut screens: HashMap<String, String> = HashMap::new();
        if let Some(lines) = req.capture_lines {
            for (key, sessions) in &servers {
                let ids: Vec<(&str, bool)> = req
                    .targets
                    .iter()
                    .filter(|t| self.tmux_for(&t.handle).socket().map(str::to_owned) == *key)
                    .filter_map(|t| sessions.get(&t.handle.id)?.first())
                    .map(|p| (p.id.as_str(), p.dead))
                    .collect();
                let tmux = tmux::Tmux::new(
                    key.clone(),
                    Duration::from_millis(self.config.command_timeout_ms),
                );
                screens.extend(screens::capture(ctx, &tmux, &ids, lines.clamp(1, 500))?);
            }
        }
        let mut results = BTreeMap::new();
        for t in req.targets {
            let key = self.tmux_for(&t.handle).socket().map(str::to_owned);
            let panes = servers.get(&key).and_then(|s| s.get(&t.handle.id));
            let procs = table.as_ref().filter(|_| !t.process_names.is_empty());
            let mut l = Self::liveness(panes, &t.process_names, procs);
            l.screen = panes
                .and_then(|p| p.first())
                .and_then(|p| screens.remove(&p.id));
            results.insert(t.handle.id.clone(), l);
        }
        Ok(ProbeResponse { results })
    }

    fn list_sessions(&self, ctx: &Ctx, req: ListSessionsRequest) -> Result<SessionList, SdkError> {
        if req.prefix.is_empty() {
            return Err(SdkError::InvalidParams(
                "an empty prefix would list sessions that are not ao's".into(),
            ));
        }
        let tmux = self.default_tmux();
        let mut sessions: Vec<ListedSession> = Self::panes(ctx, &tmux)?
            .into_iter()
            .filter(|(name, _)| name.starts_with(&req.prefix))
            .map(|(name, panes)| {
                let mut data = serde_json::json!({});
                if let Some(s) = tmux.socket() {
                    data["socket"] = s.into();
                }
                ListedSession {
                    alive: panes.iter().any(|p| !p.dead),
                    handle: RuntimeHandle {
                        id: name,
                        runtime: "tmux".into(),
                        data,
                    },
                }
            })
            .collect();
        sessions.sort_by(|a, b| a.handle.id.cmp(&b.handle.id));
        Ok(SessionList { sessions })
    }

    fn attach_info(&self, _ctx: &Ctx, req: HandleRequest) -> Result<AttachInfo, SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let t = target(&req.handle)?;
        let session = t.trim_end_matches(':');
        Ok(AttachInfo {
            kind: "tmux".into(),
            target: req.handle.id.clone(),
            argv: tmux.argv(&["attach-session", "-t", session]),
            web: serde_json::json!({
                "socket": tmux.socket(),
                "session": req.handle.id,
                "attachArgv": tmux.argv(&["attach-session", "-t", session]),
            }),
        })
    }

    fn metrics(&self, ctx: &Ctx, req: HandleRequest) -> Result<Metrics, SdkError> {
        let tmux = self.tmux_for(&req.handle);
        let panes = Self::panes(ctx, &tmux)?;
        let Some(panes) = panes.get(&req.handle.id) else {
            return Err(SdkError::NotFound(format!(
                "tmux session `{}` does not exist",
                req.handle.id
            )));
        };
        let now_s = ao_plugin_api::status_file::now_ms() / 1000;
        let created = panes.iter().map(|p| p.created_s).min().unwrap_or(now_s);
        let table = ProcessTable::snapshot(Some(ctx))?;
        let kib: u64 = panes
            .iter()
            .filter(|p| !p.dead)
            .map(|p| table.tree_rss_kib(p.pid))
            .sum();
        Ok(Metrics {
            uptime_ms: now_s.saturating_sub(created) * 1000,
            memory_mb: Some(kib as f64 / 1024.0),
            cpu_percent: None,
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "runtime-tmux",
    description: "Each session in its own tmux session; acknowledged message delivery",
    components: [ runtime "tmux" => TmuxRuntime ],
}

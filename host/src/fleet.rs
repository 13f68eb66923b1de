//! The fleet: the config, the store and configured plugin instances, and the operations on
//! sessions built from them (spawn, send, kill, restore, cleanup). The CLI commands, the daemon's
//! lifecycle engine and `ao demo` all go through here, so each operation exists once.

pub mod answer;
pub mod current;
pub mod interrupt;
pub mod journal;
pub mod kill;
pub mod launch;
pub mod leftovers;
pub mod orchestrator;
pub mod send;
pub mod spawn;

use crate::Error;
use crate::config::{Config, Project};
use crate::plugins::slots::{
    AgentClient, NotifierClient, RuntimeClient, ScmClient, TerminalClient, TrackerClient,
    WorkspaceClient,
};
use crate::plugins::{CallOptions, ComponentHandle, Registry};
use crate::store::ProjectStore;
use crate::store::events::{EventLog, EventRecord};
use ao_plugin_api::slots::agent::ScreenRules;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Events files rotate at this size, keeping this many old generations.
const EVENTS_MAX_BYTES: u64 = 16 << 20;
const EVENTS_KEEP: u32 = 3;

/// Everything an operation on sessions needs.
pub struct Fleet {
    /// The validated config.
    pub config: Config,
    /// `~/.agent-orchestrator`.
    pub data_dir: PathBuf,
    /// The `ao` executable agents' hooks run.
    pub ao_exe: PathBuf,
    registry: Arc<Registry>,
    /// Plugin instances by component and config, shared with every reconfigured fleet: an
    /// instance whose settings did not change keeps running across a config reload.
    handles: Arc<tokio::sync::Mutex<HashMap<String, Arc<ComponentHandle>>>>,
    /// Each agent's screen grammar, asked once per (project, agent).
    screen_rules: std::sync::Mutex<HashMap<String, Option<ScreenRules>>>,
    /// Set by the command layer on Ctrl-C/SIGTERM: a spawn in progress stops and undoes.
    pub interrupt: interrupt::Interrupt,
}

impl Fleet {
    /// A fleet over loaded plugins.
    pub fn new(config: Config, registry: Registry, data_dir: PathBuf, ao_exe: PathBuf) -> Fleet {
        Fleet {
            config,
            data_dir,
            ao_exe,
            registry: Arc::new(registry),
            handles: Arc::default(),
            screen_rules: std::sync::Mutex::new(HashMap::new()),
            interrupt: interrupt::Interrupt::default(),
        }
    }

    /// The same plugins and instances under a new config (the daemon's reload).
    pub fn reconfigured(&self, config: Config) -> Fleet {
        Fleet {
            config,
            data_dir: self.data_dir.clone(),
            ao_exe: self.ao_exe.clone(),
            registry: self.registry.clone(),
            handles: self.handles.clone(),
            screen_rules: std::sync::Mutex::new(HashMap::new()),
            interrupt: self.interrupt.clone(),
        }
    }

    /// The loaded plugins.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A project by id.
    pub fn project(&self, id: &str) -> Result<&Project, Error> {
        self.config.projects.get(id).ok_or_else(|| {
            let ids = self.config.projects.keys().map(String::as_str);
            Error::Invalid(format!(
                "no project `{id}` in {}{}",
                self.config.file.display(),
                crate::error::did_you_mean(id, ids)
            ))
        })
    }

    /// The project a session id belongs to (by its prefix), if any.
    pub fn project_of(&self, session_id: &str) -> Option<&Project> {
        let (prefix, _) = session_id.rsplit_once('-')?;
        self.config
            .projects
            .values()
            .find(|p| p.session_prefix == prefix)
    }

    /// A project's store.
    pub fn store(&self, project: &str) -> ProjectStore {
        ProjectStore::new(&self.data_dir, &self.config.hash, project)
    }

    /// A project's event log.
    pub fn events(&self, project: &str) -> EventLog {
        EventLog::new(
            self.store(project).events_file(),
            EVENTS_MAX_BYTES,
            EVENTS_KEEP,
        )
    }

    /// Appends an event to a project's log; a failure to log is reported, never fatal.
    pub fn log_event(&self, project: &str, record: &EventRecord) {
        if let Err(e) = self.events(project).append(record) {
            tracing::warn!("could not log event {}: {e}", record.kind);
        }
    }

    /// The status file a session's agent hooks append to.
    pub fn status_file(&self, project: &str, session: &str) -> PathBuf {
        self.store(project)
            .status_dir()
            .join(format!("{session}.jsonl"))
    }

    async fn handle(
        &self,
        id: &str,
        config: &Value,
        timeout: Duration,
    ) -> Result<Arc<ComponentHandle>, Error> {
        let key = format!("{id}\n{config}");
        let mut handles = self.handles.lock().await;
        if let Some(h) = handles.get(&key) {
            return Ok(h.clone());
        }
        let opts = CallOptions {
            timeout,
            concurrency: 16,
            ..CallOptions::default()
        };
        let h = self.registry.instantiate(id, config, opts).await?;
        handles.insert(key, h.clone());
        Ok(h)
    }

    /// The runtime plugin `name` with the project's runtime settings.
    pub async fn runtime(&self, p: &Project, name: &str) -> Result<RuntimeClient, Error> {
        let config = if name == p.runtime {
            p.runtime_config.clone()
        } else {
            Value::Object(Default::default())
        };
        Ok(RuntimeClient(
            self.handle(&format!("runtime/{name}"), &config, Duration::from_secs(60))
                .await?,
        ))
    }

    /// The agent plugin `name` with the project's agent settings.
    pub async fn agent(&self, p: &Project, name: &str) -> Result<AgentClient, Error> {
        let config = if name == p.agent {
            p.agent_config.clone()
        } else {
            Value::Object(Default::default())
        };
        Ok(AgentClient(
            self.handle(&format!("agent/{name}"), &config, Duration::from_secs(30))
                .await?,
        ))
    }

    /// The screen grammar of agent `name` (`None` when its plugin has none, or cannot say):
    /// delivery refuses at its dialogs with it, and the tick reads its screens with it.
    pub async fn screen_rules(&self, p: &Project, name: &str) -> Option<ScreenRules> {
        let key = format!("{}\n{name}", p.id);
        if let Some(r) = self
            .screen_rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return r.clone();
        }
        let agent = self.agent(p, name).await.ok()?;
        let rules = if agent.implements(ao_plugin_api::slots::agent::SCREEN_RULES) {
            match agent.screen_rules(&Value::Object(Default::default())).await {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!("agent/{name} screen_rules: {e}");
                    return None;
                }
            }
        } else {
            None
        };
        self.screen_rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, rules.clone());
        rules
    }

    /// The project's workspace plugin (post-create steps may take minutes).
    pub async fn workspace(&self, p: &Project) -> Result<WorkspaceClient, Error> {
        Ok(WorkspaceClient(
            self.handle(
                &format!("workspace/{}", p.workspace),
                &p.workspace_config,
                Duration::from_secs(15 * 60),
            )
            .await?,
        ))
    }

    /// The project's tracker, if it has one.
    pub async fn tracker(&self, p: &Project) -> Result<Option<TrackerClient>, Error> {
        let Some(t) = &p.tracker else { return Ok(None) };
        let h = self
            .handle(
                &format!("tracker/{}", t.plugin),
                &t.config,
                Duration::from_secs(60),
            )
            .await?;
        Ok(Some(TrackerClient(h)))
    }

    /// The project's SCM, if it has one.
    pub async fn scm(&self, p: &Project) -> Result<Option<ScmClient>, Error> {
        let Some(s) = &p.scm else { return Ok(None) };
        let h = self
            .handle(
                &format!("scm/{}", s.plugin),
                &s.config,
                Duration::from_secs(120),
            )
            .await?;
        Ok(Some(ScmClient(h)))
    }

    /// A notifier by alias (a `notifiers` entry, else a plugin of that name with no config).
    pub async fn notifier(&self, alias: &str, timeout: Duration) -> Result<NotifierClient, Error> {
        let (plugin, config) = match self.config.notifiers.get(alias) {
            Some(i) => (i.plugin.clone(), i.config.clone()),
            None => (alias.to_string(), Value::Object(Default::default())),
        };
        Ok(NotifierClient(
            self.handle(&format!("notifier/{plugin}"), &config, timeout)
                .await?,
        ))
    }

    /// A terminal plugin by name, with its `terminals.<name>` settings.
    pub async fn terminal(&self, name: &str) -> Result<TerminalClient, Error> {
        let config = self
            .config
            .terminals
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        Ok(TerminalClient(
            self.handle(
                &format!("terminal/{name}"),
                &config,
                Duration::from_secs(30),
            )
            .await?,
        ))
    }

    /// Stops every instance (plugins get `shutdown`).
    pub async fn shutdown(&self) {
        let handles: Vec<_> = self.handles.lock().await.drain().map(|(_, h)| h).collect();
        for h in handles {
            h.shutdown().await;
        }
    }

    /// The argv prefix that runs this `ao`.
    pub fn ao_command(&self) -> Vec<String> {
        vec![self.ao_exe.display().to_string()]
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

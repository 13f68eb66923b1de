//! `agent/codex`: OpenAI's Codex CLI as an ao agent.
//!
//! - **Launch** passes the system prompt as `developer_instructions` and installs Codex's
//!   `notify` program (`ao hook … agent-turn-complete`) with `-c` overrides on the command line,
//!   so the user's `~/.codex/config.toml` is never edited.
//! - **Activity**: the hook record (turn complete), the rollout's newest event
//!   (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`), and the screen (approval prompts,
//!   which Codex reports to no hook).
//! - **Session info**: the thread id, first task and model from the rollout's head, the latest
//!   message and the cumulative token count from its tail; no full read, ever.
//! - **Resume**: `codex resume <thread id>` with the same flags and instructions.

mod launch;
mod rollout;
mod screen;
mod trust;

use ao_plugin_api::sdk::agent::{self, pricing::Price, pricing::PriceTable};
use ao_plugin_api::sdk::git::Git;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::agent::{
    self as slot, Activity, ActivityRequest, Agent, DetectActivityRequest, DetectedActivity,
    Inside, LaunchRequest, LaunchSpec, RestoreRequest, ScreenRules, SessionFilesRequest,
    SessionInfo, SessionInfoRequest, SetupHooksRequest, SetupHooksResponse,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

pub use screen::detect;

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The `codex` executable (a name looked up in PATH, or a path).
    #[serde(default)]
    pub binary: Option<String>,
    /// Codex's home (default: `$CODEX_HOME`, else `~/.codex`).
    #[serde(default)]
    pub codex_home: Option<String>,
    /// Reasoning effort for reasoning models (`low`, `medium`, `high`).
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Model prices in USD per million tokens, by model-name prefix, over the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

/// The agent.
pub struct Codex {
    config: Config,
    prices: PriceTable,
    /// Rollout file per workspace, once found (discovery reads file heads; do it once).
    found: Mutex<HashMap<String, PathBuf>>,
}

impl Codex {
    fn binary(&self) -> &str {
        self.config.binary.as_deref().unwrap_or("codex")
    }

    fn home(&self) -> Option<PathBuf> {
        self.config
            .codex_home
            .clone()
            .or_else(|| std::env::var("CODEX_HOME").ok().filter(|d| !d.is_empty()))
            .map(PathBuf::from)
            .or_else(|| agent::home().map(|h| h.join(".codex")))
    }

    /// The session's rollout: by its known thread id, else the newest started in the
    /// workspace since the session began. Never by the status file's newest thread: the TUI's
    /// hidden title turn runs as a thread of its own and its notify records that id too.
    /// Codex's home and the workspace, for a session here or one in a container.
    fn view(&self, workspace: &str, inside: Option<&Inside>) -> Option<agent::View> {
        agent::view(
            inside,
            self.config.codex_home.as_deref(),
            self.home(),
            ".codex",
            workspace,
        )
    }

    fn rollout(
        &self,
        workspace: &str,
        inside: Option<&Inside>,
        id: Option<&str>,
        since_ms: Option<u64>,
    ) -> Option<PathBuf> {
        let v = self.view(workspace, inside)?;
        let id = id.map(str::to_owned);
        // By home and workspace: every container's workspace is `/workspace`.
        let key = format!("{}\n{}", v.dir.display(), v.workspace);
        let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = found
            .get(&key)
            .filter(|p| p.is_file() && id.as_deref().is_none_or(|id| rollout::file_has_id(p, id)))
        {
            return Some(p.clone());
        }
        let path = rollout::locate(&v.dir, &v.workspace, id.as_deref(), since_ms)?;
        found.insert(key, path.clone());
        Some(path)
    }
}

impl Agent for Codex {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        slot::RESTORE_COMMAND,
        slot::SETUP_WORKSPACE_HOOKS,
        slot::SCREEN_RULES,
        slot::SESSION_FILES,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self {
            prices: PriceTable::new(config.prices.clone()),
            config,
            found: Mutex::default(),
        })
    }

    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        launch::launch(self.binary(), &self.config, &req)
    }

    fn activity(&self, _ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        let rollout = self.rollout(
            &req.workspace_path,
            req.inside.as_ref(),
            req.agent_session_id.as_deref(),
            req.created_at_ms,
        );
        let signal = rollout.as_deref().and_then(rollout::activity_signal);
        // A notify record counts only for the session's own thread (the title turn's does not);
        // before the rollout names the thread, no notify record can be attributed.
        let keep = |r: &ao_plugin_api::status_file::StatusRecord| match &r.session {
            None => true,
            Some(thread) => rollout
                .as_deref()
                .is_some_and(|p| rollout::file_has_id(p, thread)),
        };
        Ok(agent::activity_where(&req, signal, screen::classify, keep))
    }

    fn screen_rules(&self, _ctx: &Ctx, _req: serde_json::Value) -> Result<ScreenRules, SdkError> {
        Ok(screen::rules())
    }

    /// In a container: the rollouts under Codex's home there (the session's own, by time).
    fn session_files(&self, _ctx: &Ctx, req: SessionFilesRequest) -> Result<Vec<String>, SdkError> {
        let v = self
            .view("", Some(&req.inside))
            .ok_or_else(|| SdkError::Unavailable("no Codex home".into()))?;
        Ok(vec![v.dir_inside.join("sessions").display().to_string()])
    }

    fn detect_activity(
        &self,
        _ctx: &Ctx,
        req: DetectActivityRequest,
    ) -> Result<DetectedActivity, SdkError> {
        Ok(DetectedActivity {
            state: detect(&req.screen),
        })
    }

    fn session_info(&self, _ctx: &Ctx, req: SessionInfoRequest) -> Result<SessionInfo, SdkError> {
        let Some(path) = self.rollout(
            &req.workspace_path,
            req.inside.as_ref(),
            req.agent_session_id.as_deref(),
            req.created_at_ms,
        ) else {
            return Ok(SessionInfo {
                agent_session_id: req.agent_session_id,
                ..SessionInfo::default()
            });
        };
        rollout::session_info(&path, &self.prices)
            .map_err(|e| SdkError::Unavailable(format!("cannot read {}: {e}", path.display())))
    }

    fn restore_command(
        &self,
        _ctx: &Ctx,
        req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        let id = req.agent_session_id.clone().or_else(|| {
            let p = self.rollout(&req.launch.workspace_path, None, None, None)?;
            rollout::session_info(&p, &self.prices)
                .ok()?
                .agent_session_id
        });
        match id {
            Some(id) => launch::resume(self.binary(), &self.config, &req.launch, &id).map(Some),
            None => Ok(None),
        }
    }

    /// Codex's hook (`notify`) travels on its command line (see `launch`); nothing to write in
    /// the workspace.
    fn setup_workspace_hooks(
        &self,
        ctx: &Ctx,
        req: SetupHooksRequest,
    ) -> Result<SetupHooksResponse, SdkError> {
        // No hook files (its `notify` goes on the command line); what a new workspace needs
        // is trust, or Codex stops at "Folder access".
        let Some(file) = trust::config_file() else {
            return Ok(SetupHooksResponse::default());
        };
        let ws = std::path::PathBuf::from(&req.workspace_path);
        let mut paths = vec![ws.clone()];
        if let Ok(common) = Git::new(&ws).common_dir(ctx)
            && let Some(root) = common.parent()
        {
            paths.insert(0, root.to_path_buf());
        }
        Ok(SetupHooksResponse {
            changed: trust::trust(&file, &paths)?,
            files: vec![file.display().to_string()],
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "agent-codex",
    description: "OpenAI Codex CLI: launch/resume argv, notify hook, rollout activity and cost",
    components: [ agent "codex" => Codex ],
}

//! `agent/claude-code`: Anthropic's Claude Code CLI as an ao agent.
//!
//! - **Launch** fixes the conversation id (`--session-id`), so the transcript is known exactly
//!   (`<config dir>/projects/<slug>/<id>.jsonl`) instead of guessed as "the newest file" (two
//!   conversations in one directory fooled upstream), and `--resume <id>` continues it with the
//!   same system prompt.
//! - **Hooks** in the workspace's `.claude/settings.local.json` run `ao hook` on the events
//!   that change what the agent is doing (see [`hooks`]); the user's own hooks stay.
//! - **Trust**: the workspace is pre-trusted in Claude's user config ([`trust`]), so a new
//!   worktree never stops at the folder-trust dialog (whose default since 2.1.332 is "No, exit").
//! - **Screen**: one grammar ([`screen::rules`]) for the detector and for delivery, which
//!   refuses to type while a dialog is up.
//! - **Activity** layers the hook record, the transcript's newest entry and the screen.
//! - **Session info** reads the transcript's head (first task) and tail (latest message,
//!   model), and follows the file forwards for tokens and cost, reading each byte once.

mod hooks;
mod launch;
mod screen;
mod transcript;
mod trust;

use ao_plugin_api::sdk::agent::{self, pricing::Price, pricing::PriceTable};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::agent::{
    self as slot, Activity, ActivityRequest, Agent, DetectActivityRequest, DetectedActivity,
    Inside, LaunchRequest, LaunchSpec, RestoreRequest, ScreenRules, SessionFilesRequest,
    SessionInfo, SessionInfoRequest, SetupHooksRequest, SetupHooksResponse,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use screen::detect;

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The `claude` executable (a name looked up in PATH, or a path).
    #[serde(default)]
    pub binary: Option<String>,
    /// Claude Code's config directory (default: `$CLAUDE_CONFIG_DIR`, else `~/.claude`).
    #[serde(default)]
    pub config_dir: Option<String>,
    /// Model prices in USD per million tokens, by model-name prefix, over the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

/// The agent.
pub struct ClaudeCode {
    config: Config,
    prices: PriceTable,
    costs: transcript::CostCache,
}

impl ClaudeCode {
    fn binary(&self) -> &str {
        self.config.binary.as_deref().unwrap_or("claude")
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.config
            .config_dir
            .clone()
            .or_else(|| {
                std::env::var("CLAUDE_CONFIG_DIR")
                    .ok()
                    .filter(|d| !d.is_empty())
            })
            .map(PathBuf::from)
            .or_else(|| agent::home().map(|h| h.join(".claude")))
    }

    /// Claude's config dir and the workspace, for a session here or one in a container.
    fn view(&self, workspace: &str, inside: Option<&Inside>) -> Option<agent::View> {
        agent::view(
            inside,
            self.config.config_dir.as_deref(),
            self.config_dir(),
            ".claude",
            workspace,
        )
    }

    fn transcript(
        &self,
        workspace: &str,
        inside: Option<&Inside>,
        id: Option<&str>,
    ) -> Option<PathBuf> {
        let v = self.view(workspace, inside)?;
        transcript::locate(&v.dir, &v.workspace, id)
    }
}

impl Agent for ClaudeCode {
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
            costs: Default::default(),
        })
    }

    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        launch::launch(self.binary(), &req)
    }

    fn activity(&self, _ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        let id = agent::conversation_id_in(req.agent_session_id.as_deref(), req.status());
        let signal = self
            .transcript(&req.workspace_path, req.inside.as_ref(), id.as_deref())
            .and_then(|t| transcript::activity_signal(&t));
        Ok(agent::activity(&req, signal, screen::classify))
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
        let id = agent::conversation_id_in(req.agent_session_id.as_deref(), req.status());
        let Some(path) = self.transcript(&req.workspace_path, req.inside.as_ref(), id.as_deref())
        else {
            return Ok(SessionInfo {
                agent_session_id: id,
                ..SessionInfo::default()
            });
        };
        transcript::session_info(&path, &self.costs, &self.prices)
            .map_err(|e| SdkError::Unavailable(format!("cannot read {}: {e}", path.display())))
    }

    fn restore_command(
        &self,
        _ctx: &Ctx,
        req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        let id = req.agent_session_id.clone().or_else(|| {
            self.transcript(&req.launch.workspace_path, None, None)
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        });
        match id {
            Some(id) => launch::resume(self.binary(), &req.launch, &id).map(Some),
            None => Ok(None),
        }
    }

    fn screen_rules(&self, _ctx: &Ctx, _req: serde_json::Value) -> Result<ScreenRules, SdkError> {
        Ok(screen::rules())
    }

    /// In a container: the workspace's transcript directory under Claude's config dir there.
    fn session_files(&self, _ctx: &Ctx, req: SessionFilesRequest) -> Result<Vec<String>, SdkError> {
        let v = self
            .view("", Some(&req.inside))
            .ok_or_else(|| SdkError::Unavailable("no config directory".into()))?;
        let dir = v
            .dir_inside
            .join("projects")
            .join(transcript::slug(&v.workspace));
        Ok(vec![dir.display().to_string()])
    }

    fn setup_workspace_hooks(
        &self,
        ctx: &Ctx,
        req: SetupHooksRequest,
    ) -> Result<SetupHooksResponse, SdkError> {
        let mut out = hooks::install(ctx, &req)?;
        // Without trust, 2.1.332 stops at "No, exit" in every new worktree.
        let file = match &self.config.config_dir {
            Some(d) => Some(PathBuf::from(d).join(".claude.json")),
            None => trust::config_file(),
        };
        if let Some(file) = file {
            out.changed |= trust::trust(&file, std::path::Path::new(&req.workspace_path))?;
            out.files.push(file.display().to_string());
        }
        Ok(out)
    }
}

ao_plugin_api::export_plugin! {
    name: "agent-claude-code",
    description: "Claude Code: launch/resume argv, settings hooks, activity, transcript cost",
    components: [ agent "claude-code" => ClaudeCode ],
}

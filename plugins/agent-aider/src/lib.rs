//! `agent/aider`: Aider as an ao agent.
//!
//! - **Launch**: interactive `aider` (its `--message` would exit after one answer), so the
//!   task prompt is sent after launch; the system prompt is a read-only context file
//!   (`--read`), Aider's way for conventions; `--no-gitignore` keeps Aider from editing the
//!   repository's `.gitignore` (ao excludes its files locally instead).
//! - **Hook**: `--notifications-command` runs `ao hook --state ready` whenever Aider waits for
//!   input after a reply.
//! - **Activity**: the hook record, the chat history's last block
//!   (`.aider.chat.history.md`: `####` lines are the user's, `>` lines Aider's own output), and
//!   the screen (Aider's `(Y)es/(N)o` questions reach no hook).
//! - **Cost**: the `Tokens: … Cost: $x message` lines Aider logs after each reply, summed, the
//!   file read once (followed between calls). Resume: `--restore-chat-history`.

mod history;

use ao_plugin_api::sdk::agent::screen::{self, Seen};
use ao_plugin_api::sdk::agent::{self, shell_join};
use ao_plugin_api::sdk::git::Git;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::agent::{
    self as slot, Activity, ActivityRequest, ActivityState, Agent, DetectActivityRequest,
    DetectedActivity, DialogRule, Inside, LaunchRequest, LaunchSpec, PermissionMode,
    PromptDelivery, RestoreRequest, ScreenRules, SessionFilesRequest, SessionInfo,
    SessionInfoRequest, SetupHooksRequest, SetupHooksResponse,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The `aider` executable (a name looked up in PATH, or a path).
    #[serde(default)]
    pub binary: Option<String>,
}

/// The agent.
pub struct Aider {
    config: Config,
    costs: history::CostCache,
}

/// Aider's screen grammar. It is a line REPL: its yes/no questions are the last line while
/// pending (an answered one scrolls up with its answer), and the `<mode>>` prompt is the last
/// line when it waits for a message; delivery refuses at a question, where typed text is lost
/// ("Please answer with one of: yes, no").
pub fn rules() -> ScreenRules {
    let ask = |marker: &str| DialogRule::new(marker, "yes_no", "yes_no");
    ScreenRules {
        dialogs: vec![
            ask("(Y)es/(N)o"),
            ask("Run shell command?"),
            ask("to the chat?"),
            ask("Allow creation of"),
        ],
        working: vec!["Waiting for ".into(), "Retrying in".into()],
        errors: vec![
            "litellm.AuthenticationError".into(),
            "litellm.APIError".into(),
            "litellm.RateLimitError".into(),
            "Not set".into(),
        ],
        message_prefixes: Vec::new(),
        prompt_prefixes: [
            "diff multi>",
            "diff>",
            "whole>",
            "udiff>",
            "architect>",
            "ask>",
            "code>",
            "editor-diff>",
            "> ",
        ]
        .map(String::from)
        .to_vec(),
        ready: Vec::new(),
        tail: 3,
        prompt_within: 1,
    }
}

/// What a capture shows, with the question or the error line.
pub fn classify(screen: &str) -> Option<Seen> {
    screen::classify(screen, &rules())
}

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    classify(screen).map(|s| s.state)
}

impl Aider {
    fn argv(&self, req: &LaunchRequest) -> Vec<String> {
        let mut argv = vec![self.config.binary.clone().unwrap_or_else(|| "aider".into())];
        argv.extend(
            [
                "--no-check-update",
                "--no-show-release-notes",
                "--no-gitignore",
            ]
            .map(String::from),
        );
        if matches!(
            req.permissions,
            PermissionMode::Skip | PermissionMode::AutoEdit
        ) {
            argv.push("--yes-always".into());
        }
        if let Some(model) = &req.model {
            argv.extend(["--model".into(), model.clone()]);
        }
        if let Some(file) = &req.system_prompt_file {
            argv.extend(["--read".into(), file.clone()]);
        }
        if let (Some(status), false) = (&req.status_file, req.ao_command.is_empty()) {
            let mut hook = req.ao_command.clone();
            hook.extend(
                [
                    "hook",
                    "--agent",
                    "aider",
                    "--state",
                    "ready",
                    "--status-file",
                    status,
                    "notification",
                ]
                .map(String::from),
            );
            // Aider runs this through a shell; every word is quoted.
            argv.extend([
                "--notifications".into(),
                "--notifications-command".into(),
                shell_join(&hook),
            ]);
        }
        argv.extend(req.extra_args.iter().cloned());
        argv
    }

    fn spec(&self, req: &LaunchRequest, argv: Vec<String>) -> LaunchSpec {
        let env = agent::launch_env(req);
        LaunchSpec {
            argv,
            env,
            prompt_delivery: PromptDelivery::PostLaunch,
            process_names: vec!["aider".into()],
            agent_session_id: None,
        }
    }
}

/// The chat history of a workspace here, or the host's copy of the one in a container.
fn history_file(workspace: &str, inside: Option<&Inside>) -> std::path::PathBuf {
    match inside {
        Some(i) => i.local(&Path::new(&i.workspace).join(history::FILE)),
        None => Path::new(workspace).join(history::FILE),
    }
}

impl Agent for Aider {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        slot::RESTORE_COMMAND,
        slot::SETUP_WORKSPACE_HOOKS,
        slot::SCREEN_RULES,
        slot::SESSION_FILES,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self {
            config,
            costs: Default::default(),
        })
    }

    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        Ok(self.spec(&req, self.argv(&req)))
    }

    fn activity(&self, _ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        let signal =
            history::activity_signal(&history_file(&req.workspace_path, req.inside.as_ref()));
        // Aider's notification fires, and its prompt comes back, at every return to the
        // prompt: after a turn that failed too (seen: seconds after litellm gave up on a 529).
        // The history says how the turn ended, and a new turn writes the user's line there
        // first; so while it ends on an error, neither a later "waiting" notification nor the
        // prompt on screen is news. A dialog or an error on screen still is.
        let failed_at = signal
            .as_ref()
            .filter(|s| s.state == ActivityState::Blocked)
            .map(|s| s.at_ms);
        // The history's time is its file's: a notification written just before Aider's last
        // write to it is the same moment (it would otherwise win the tie, being a hook).
        let keep = |r: &ao_plugin_api::status_file::StatusRecord| {
            !(r.state == ActivityState::Ready
                && failed_at.is_some_and(|t| r.at_ms + agent::resolve::TIE_MS >= t))
        };
        let seen = |screen: &str| {
            classify(screen).filter(|s| !(s.state == ActivityState::Ready && failed_at.is_some()))
        };
        Ok(agent::activity_where(&req, signal, seen, keep))
    }

    fn screen_rules(&self, _ctx: &Ctx, _req: serde_json::Value) -> Result<ScreenRules, SdkError> {
        Ok(rules())
    }

    /// In a container: the chat history in the workspace there.
    fn session_files(&self, _ctx: &Ctx, req: SessionFilesRequest) -> Result<Vec<String>, SdkError> {
        let file = Path::new(&req.inside.workspace).join(history::FILE);
        Ok(vec![file.display().to_string()])
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
        let path = history_file(&req.workspace_path, req.inside.as_ref());
        if !path.is_file() {
            return Ok(SessionInfo::default());
        }
        history::session_info(&path, &self.costs)
            .map_err(|e| SdkError::Unavailable(format!("cannot read {}: {e}", path.display())))
    }

    /// Aider has no conversation id; its chat history file is the conversation.
    fn restore_command(
        &self,
        _ctx: &Ctx,
        req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        let mut argv = self.argv(&req.launch);
        argv.push("--restore-chat-history".into());
        let mut spec = self.spec(&req.launch, argv);
        spec.prompt_delivery = PromptDelivery::Inline;
        Ok(Some(spec))
    }

    /// The hook travels on the command line; here Aider's files are kept out of `git status`.
    fn setup_workspace_hooks(
        &self,
        ctx: &Ctx,
        req: SetupHooksRequest,
    ) -> Result<SetupHooksResponse, SdkError> {
        let changed = Git::new(&req.workspace_path).exclude_locally(ctx, &[".aider*"])?;
        Ok(SetupHooksResponse {
            changed,
            files: vec![],
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "agent-aider",
    description: "Aider: launch argv, notifications hook, chat-history activity and cost",
    components: [ agent "aider" => Aider ],
}

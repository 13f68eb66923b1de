//! `agent/opencode`: OpenCode as an ao agent.
//!
//! - **Launch**: `opencode --prompt <task>` in the workspace; the system prompt reaches it as
//!   an `instructions` entry of a generated config file (`OPENCODE_CONFIG`), merged by
//!   OpenCode over the user's own config; `--auto` when permissions are skipped.
//! - **Hook**: an event plugin beside the session's status file, named by a `file://` entry in
//!   `plugin` of the same generated config, runs `ao hook` (argv, no shell) on OpenCode's
//!   events: busy/idle, permission asked/replied, errors, tool calls. It records OpenCode's
//!   session id, which `--session <id>` resumes. Nothing goes into the workspace: a project
//!   plugin (`.opencode/plugins/`) makes OpenCode npm-install `@opencode-ai/plugin` into every
//!   new workspace before it starts (5–50 s, and the network), where a plugin named in the
//!   config costs about a second once OpenCode's own config directory has its packages.
//! - **Activity**: the hook record, then the screen. OpenCode keeps its sessions in its own
//!   database; its CLI (`opencode session list`, `opencode export`) is too slow to run every
//!   tick, so it is used for session info only.

use ao_plugin_api::sdk::agent::screen::{self, Seen};
use ao_plugin_api::sdk::agent::{self, one_line, write_if_changed};
use ao_plugin_api::sdk::command::Command;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::agent::{
    self as slot, Activity, ActivityRequest, ActivityState, Agent, Cost, DetectActivityRequest,
    DetectedActivity, DialogRule, LaunchRequest, LaunchSpec, PermissionMode, PromptDelivery,
    RestoreRequest, ScreenRules, SessionInfo, SessionInfoRequest, SetupHooksRequest,
    SetupHooksResponse,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The `opencode` executable (a name looked up in PATH, or a path).
    #[serde(default)]
    pub binary: Option<String>,
    /// The OpenCode agent to run (`--agent`).
    #[serde(default)]
    pub agent: Option<String>,
}

/// The agent.
pub struct OpenCode {
    config: Config,
}

/// Where an older ao put the hook plugin in a workspace; removed when found, since its mere
/// presence makes OpenCode install packages into the workspace at every start.
pub const LEGACY_PLUGIN_FILE: &str = ".opencode/plugins/ao-status.js";

/// The hook plugin of the session whose status file is `status_file`.
pub fn plugin_path(status_file: &str) -> String {
    format!("{status_file}.opencode.js")
}

/// `file://` URL of an absolute path, every byte outside `[A-Za-z0-9/._~-]` percent-encoded.
pub fn file_url(path: &str) -> String {
    let mut out = String::from("file://");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/._~-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// OpenCode's screen grammar (1.18.33, seen in tmux): its permission panel offers three
/// options on one line, the selected one shown by colour alone (answered with Left/Right and
/// Enter); a running turn shows `esc interrupt`; the composer has no prompt character, so a
/// ready agent is known by its `ctrl+p commands` footer.
pub fn rules() -> ScreenRules {
    ScreenRules {
        dialogs: vec![DialogRule {
            marker: "Permission required".into(),
            kind: "permission".into(),
            answer: "select_lr".into(),
            options: ["Allow once", "Allow always", "Reject"]
                .map(String::from)
                .to_vec(),
        }],
        working: vec!["esc interrupt".into(), "esc to interrupt".into()],
        errors: Vec::new(),
        message_prefixes: Vec::new(),
        prompt_prefixes: Vec::new(),
        ready: vec!["ctrl+p commands".into()],
        tail: 30,
        prompt_within: 0,
    }
}

/// What a capture shows, with the dialog on it.
pub fn classify(screen: &str) -> Option<Seen> {
    screen::classify(screen, &rules())
}

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    classify(screen).map(|s| s.state)
}

/// How the hook plugin's source begins.
const PLUGIN_HEADER: &str = "// Installed by ao:";

/// The hook plugin's source for one session.
pub fn plugin_source(ao: &[String], status_file: &str) -> String {
    include_str!("status.js")
        .replace("__AO__", &serde_json::to_string(ao).unwrap_or_default())
        .replace(
            "__STATUS_FILE__",
            &serde_json::to_string(status_file).unwrap_or_default(),
        )
}

/// Sums an `opencode export` document: the assistant messages' tokens and cost.
pub fn export_cost(doc: &Value) -> (Cost, Option<String>) {
    let mut cost = Cost {
        usd: Some(0.0),
        ..Cost::default()
    };
    let mut model = None;
    for m in doc["messages"].as_array().into_iter().flatten() {
        let info = &m["info"];
        if info["role"] != "assistant" {
            continue;
        }
        let t = &info["tokens"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        cost.input_tokens += n(&t["input"]);
        cost.output_tokens += n(&t["output"]) + n(&t["reasoning"]);
        cost.cache_read_tokens += n(&t["cache"]["read"]);
        cost.cache_write_tokens += n(&t["cache"]["write"]);
        if let (Some(u), Some(c)) = (cost.usd.as_mut(), info["cost"].as_f64()) {
            *u += c;
        }
        model = info["modelID"].as_str().map(str::to_owned).or(model);
    }
    (cost, model)
}

impl OpenCode {
    fn binary(&self) -> String {
        self.config
            .binary
            .clone()
            .unwrap_or_else(|| "opencode".into())
    }

    fn spec(&self, req: &LaunchRequest, session: Option<&str>) -> Result<LaunchSpec, SdkError> {
        let mut argv = vec![self.binary()];
        if let Some(id) = session {
            argv.extend(["--session".into(), id.to_owned()]);
        }
        if let Some(model) = &req.model {
            argv.extend(["--model".into(), model.clone()]);
        }
        if let Some(a) = &self.config.agent {
            argv.extend(["--agent".into(), a.clone()]);
        }
        if req.permissions == PermissionMode::Skip {
            argv.push("--auto".into());
        }
        argv.extend(req.extra_args.iter().cloned());
        if session.is_none()
            && let Some(p) = req.prompt.as_deref().filter(|p| !p.trim().is_empty())
        {
            argv.extend(["--prompt".into(), p.to_owned()]);
        }
        let mut env = agent::launch_env(req);
        // One generated config, merged by OpenCode over the user's: the system prompt as
        // instructions, the hook plugin by URL.
        let mut body = serde_json::json!({"$schema": "https://opencode.ai/config.json"});
        if let Some(file) = &req.system_prompt_file {
            body["instructions"] = serde_json::json!([file]);
        }
        if let Some(status) = req
            .status_file
            .as_ref()
            .filter(|_| !req.ao_command.is_empty())
        {
            let plugin = plugin_path(status);
            write_if_changed(
                Path::new(&plugin),
                plugin_source(&req.ao_command, status).as_bytes(),
            )
            .map_err(|e| SdkError::Internal(format!("cannot write {plugin}: {e}")))?;
            body["plugin"] = serde_json::json!([file_url(&plugin)]);
        }
        let config = req
            .status_file
            .as_ref()
            .or(req.system_prompt_file.as_ref())
            .map(|f| format!("{f}.opencode.json"));
        if let Some(config) = config.filter(|_| body.as_object().is_some_and(|o| o.len() > 1)) {
            write_if_changed(Path::new(&config), format!("{body:#}\n").as_bytes())
                .map_err(|e| SdkError::Internal(format!("cannot write {config}: {e}")))?;
            env.insert("OPENCODE_CONFIG".into(), config);
        }
        Ok(LaunchSpec {
            argv,
            env,
            prompt_delivery: PromptDelivery::Inline,
            process_names: vec!["opencode".into()],
            agent_session_id: session.map(str::to_owned),
        })
    }

    fn cli_json(&self, ctx: &Ctx, cwd: &str, args: &[&str]) -> Result<Value, SdkError> {
        let out = Command::new(self.binary())
            .args(args)
            .cwd(cwd)
            .timeout(Duration::from_secs(15))
            .run(Some(ctx))?;
        if !out.success() {
            return Err(SdkError::Unavailable(format!(
                "opencode {} failed: {}",
                args.join(" "),
                out.first_error_line()
            )));
        }
        serde_json::from_str(out.stdout.trim()).map_err(|e| {
            SdkError::Unavailable(format!("opencode {}: not JSON: {e}", args.join(" ")))
        })
    }
}

impl Agent for OpenCode {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        slot::RESTORE_COMMAND,
        slot::SETUP_WORKSPACE_HOOKS,
        slot::SCREEN_RULES,
    ];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self { config })
    }

    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        self.spec(&req, None)
    }

    fn activity(&self, _ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        Ok(agent::activity(&req, None, classify))
    }

    fn screen_rules(&self, _ctx: &Ctx, _req: Value) -> Result<ScreenRules, SdkError> {
        Ok(rules())
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

    fn session_info(&self, ctx: &Ctx, req: SessionInfoRequest) -> Result<SessionInfo, SdkError> {
        let id = agent::conversation_id_in(req.agent_session_id.as_deref(), req.status());
        let Some(id) = id else {
            return Ok(SessionInfo::default());
        };
        if !id.starts_with("ses_")
            || !id[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(SdkError::InvalidParams(format!(
                "OpenCode session id {id:?} is malformed"
            )));
        }
        let doc = self.cli_json(ctx, &req.workspace_path, &["export", &id])?;
        let (cost, model) = export_cost(&doc);
        let title = doc["info"]["title"].as_str().map(|t| one_line(t, 200));
        let first = doc["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["info"]["role"] == "user");
        let task = first.and_then(|m| {
            m["parts"]
                .as_array()?
                .iter()
                .find(|p| p["type"] == "text")?["text"]
                .as_str()
                .map(|t| one_line(t, 200))
        });
        let latest = doc["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter(|m| m["info"]["role"] == "assistant")
            .find_map(|m| {
                m["parts"]
                    .as_array()?
                    .iter()
                    .rev()
                    .find(|p| p["type"] == "text")?["text"]
                    .as_str()
                    .map(|t| one_line(t, 200))
            });
        Ok(SessionInfo {
            agent_session_id: Some(id),
            summary_is_fallback: title.is_none() && task.is_some(),
            summary: title.or_else(|| task.clone()),
            task,
            latest,
            model,
            cost: Some(cost),
            transcript: None,
        })
    }

    fn restore_command(
        &self,
        _ctx: &Ctx,
        req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        let id = agent::conversation_id(
            req.agent_session_id.as_deref(),
            req.launch.status_file.as_deref(),
        );
        match id {
            Some(id) => self.spec(&req.launch, Some(&id)).map(Some),
            None => Ok(None),
        }
    }

    fn setup_workspace_hooks(
        &self,
        _ctx: &Ctx,
        req: SetupHooksRequest,
    ) -> Result<SetupHooksResponse, SdkError> {
        // The hook plugin travels in the launch's config; only an older ao's copy in the
        // workspace is undone (never a file of the user's: ours start with our header).
        let old = Path::new(&req.workspace_path).join(LEGACY_PLUGIN_FILE);
        let ours = std::fs::read_to_string(&old).is_ok_and(|t| t.starts_with(PLUGIN_HEADER));
        if ours {
            std::fs::remove_file(&old)
                .map_err(|e| SdkError::Internal(format!("cannot remove {}: {e}", old.display())))?;
        }
        Ok(SetupHooksResponse {
            changed: ours,
            files: Vec::new(),
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "agent-opencode",
    description: "OpenCode: launch/resume argv, event-plugin hook, session export cost",
    components: [ agent "opencode" => OpenCode ],
}

//! Agent: the adapter for one AI coding CLI (Claude Code, Codex, Aider, OpenCode).
//!
//! Activity comes from layered signals, best first: the agent's own hooks writing to a status
//! file, its transcript, and screen text captured through the runtime. Every answer says which
//! signal produced it, so the lifecycle engine can prefer fresh, strong evidence.

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// [`LaunchRequest`] → [`LaunchSpec`].
pub const LAUNCH: &str = "launch";
/// [`ActivityRequest`] → `Option<Activity>` (`None`: no evidence at all yet).
pub const ACTIVITY: &str = "activity";
/// [`DetectActivityRequest`] → [`DetectedActivity`]: classify a screen capture.
pub const DETECT_ACTIVITY: &str = "detect_activity";
/// [`SessionInfoRequest`] → [`SessionInfo`].
pub const SESSION_INFO: &str = "session_info";
/// [`RestoreRequest`] → `Option<LaunchSpec>` (optional): continue the agent's own conversation.
pub const RESTORE_COMMAND: &str = "restore_command";
/// [`SetupHooksRequest`] → [`SetupHooksResponse`] (optional).
pub const SETUP_WORKSPACE_HOOKS: &str = "setup_workspace_hooks";
/// [`SessionFilesRequest`] → `Vec<String>` (optional, protocol 1.3): the files or directories
/// inside a session that keeps its own files (a container, a pod) which the agent's records are
/// read from (its transcripts); the host brings them over and passes [`Inside::root`].
pub const SESSION_FILES: &str = "session_files";
/// `{}` → [`ScreenRules`] (optional): how this agent's screen shows dialogs, work, errors and
/// its input line, so a runtime's delivery can refuse to type into a dialog.
pub const SCREEN_RULES: &str = "screen_rules";

/// How permission prompts are handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionMode {
    /// The agent's own default: it asks.
    #[default]
    Default,
    /// Never ask (the orchestrator agent, trusted sandboxes).
    Skip,
    /// Edits are allowed without asking; commands still ask.
    AutoEdit,
    /// Only suggest; never act without approval.
    Suggest,
}

/// When the task prompt reaches the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptDelivery {
    /// In the launch argv.
    #[default]
    Inline,
    /// Sent as a message once the agent is ready.
    PostLaunch,
}

/// Everything an agent needs to start in a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchRequest {
    /// The ao session id.
    pub session_id: String,
    /// The project id.
    pub project_id: String,
    /// Where it works.
    pub workspace_path: String,
    /// The tracker issue, if any.
    #[serde(default)]
    pub issue_id: Option<String>,
    /// The task prompt.
    #[serde(default)]
    pub prompt: Option<String>,
    /// A file holding the system prompt (preferred over inlining it).
    #[serde(default)]
    pub system_prompt_file: Option<String>,
    /// Permission handling.
    #[serde(default)]
    pub permissions: PermissionMode,
    /// Model override.
    #[serde(default)]
    pub model: Option<String>,
    /// The per-session status file the agent's hooks append to.
    #[serde(default)]
    pub status_file: Option<String>,
    /// Extra arguments from config, appended verbatim.
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// The argv prefix that runs `ao` (the host's own executable), for hooks that the agent
    /// takes on its command line (Codex `notify`, Aider's notifications command).
    #[serde(default)]
    pub ao_command: Vec<String>,
}

/// How to start (or resume) the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchSpec {
    /// The argument vector.
    pub argv: Vec<String>,
    /// Environment to add.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// When the prompt is delivered.
    #[serde(default)]
    pub prompt_delivery: PromptDelivery,
    /// Names of the agent's process, for liveness checks.
    #[serde(default)]
    pub process_names: Vec<String>,
    /// The agent's conversation id, when the launch fixes it (Claude Code `--session-id`):
    /// the host stores it for resume.
    #[serde(default)]
    pub agent_session_id: Option<String>,
}

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityState {
    /// Working: thinking, editing, running tools.
    Active,
    /// Finished a turn and waiting for the next message.
    Ready,
    /// Ready for longer than the idle threshold.
    Idle,
    /// Asking the human a question or for a permission.
    WaitingInput,
    /// Stopped by an error it cannot get past.
    Blocked,
    /// The process is gone.
    Exited,
}

/// Which signal produced an activity answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// The agent's own hooks (strongest).
    Hook,
    /// The agent's transcript file.
    Transcript,
    /// Screen text through the runtime (weakest).
    Screen,
    /// Process table.
    Process,
    /// `ao report` by the agent.
    SelfReport,
}

/// One kind of dialog an agent shows: while `marker` is on screen, the agent waits for the
/// human and nothing may be typed into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DialogRule {
    /// Text that identifies the dialog (case-insensitive, within the screen's tail).
    pub marker: String,
    /// What it asks for: `permission`, `trust`, `api_key`, `yes_no`, `bypass`, `modal`.
    pub kind: String,
    /// How a choice is entered: `digit` (the digit selects and confirms), `select_enter` (the
    /// digit selects, Enter confirms), `letter` (the option's own `(y)` key), `yes_no` (`y` or
    /// `n` then Enter).
    #[serde(default = "default_answer")]
    pub answer: String,
    /// The option labels, when the dialog lays them out on one line with nothing but colour
    /// to mark the selected one (OpenCode: `Allow once   Allow always   Reject`); the
    /// selection is then read from a styled capture and moved with Left/Right (`select_lr`).
    #[serde(default)]
    pub options: Vec<String>,
}

fn default_answer() -> String {
    "select_enter".into()
}

impl DialogRule {
    /// A dialog known by `marker`, of `kind`, answered by `answer` (see the fields).
    pub fn new(marker: &str, kind: &str, answer: &str) -> Self {
        Self {
            marker: marker.into(),
            kind: kind.into(),
            answer: answer.into(),
            options: Vec::new(),
        }
    }
}

/// How an agent's screen reads: the one description its activity detector and every runtime's
/// delivery share (`sdk::agent::screen`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ScreenRules {
    /// Dialogs, most specific first.
    pub dialogs: Vec<DialogRule>,
    /// Markers of a running turn (`esc to interrupt`).
    pub working: Vec<String>,
    /// Markers of an API error when it is the latest message (`API Error:`).
    pub errors: Vec<String>,
    /// How a conversation entry's first line starts (`● `, `✻ `): an error counts only when
    /// it is the newest entry.
    pub message_prefixes: Vec<String>,
    /// How the input line starts (`❯`, `›`, `diff>`), after any box border.
    pub prompt_prefixes: Vec<String>,
    /// Markers of an agent waiting at its composer, for agents whose input line has no prompt
    /// character (OpenCode's `ctrl+p commands` footer); checked after `working`.
    pub ready: Vec<String>,
    /// Lines from the bottom that are looked at (0: 25).
    pub tail: u32,
    /// The input line shows a ready agent only this close to the bottom (non-blank lines,
    /// 0: anywhere in the tail): in a line-based REPL the submitted line stays above the output.
    pub prompt_within: u32,
}

/// A dialog as it stands on screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialog {
    /// The rule's kind.
    pub kind: String,
    /// The question with its context (the command, the file), on one line.
    pub question: String,
    /// The choices offered, by number (`1. Yes`), in order.
    #[serde(default)]
    pub options: Vec<String>,
    /// How a choice is entered (the rule's `answer`).
    pub answer: String,
    /// A short hash of the question and options, so an answer can check it is answering the
    /// dialog the human saw.
    pub fingerprint: String,
    /// The option the selection mark (`❯`, `›`) is on, 1-based, when one is marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<u32>,
}

/// Where a session that keeps its own files (a container, a pod) has them (protocol 1.3): the
/// paths the agent sees inside, and where the host keeps its copy of what
/// [`SESSION_FILES`] named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inside {
    /// The workspace's path inside the session.
    pub workspace: String,
    /// The agent's home directory inside the session.
    pub home: String,
    /// The host's copy: the session's `/a/b` is `{root}/a/b` (what was brought over so far).
    pub root: String,
}

impl Inside {
    /// Where the host holds the session's `path` (absolute inside the session).
    pub fn local(&self, path: &std::path::Path) -> std::path::PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        std::path::Path::new(&self.root).join(rel)
    }
}

/// Ask which of a session's files hold the agent's records (protocol 1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFilesRequest {
    /// The ao session id.
    pub session_id: String,
    /// Where the session keeps its files.
    pub inside: Inside,
    /// The agent's session id, when known.
    #[serde(default)]
    pub agent_session_id: Option<String>,
    /// The end of the status file (hooks record the conversation id there).
    #[serde(default)]
    pub status_tail: Option<String>,
    /// When the ao session was created.
    #[serde(default)]
    pub created_at_ms: Option<u64>,
}

/// Ask what the agent is doing now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRequest {
    /// The ao session id.
    pub session_id: String,
    /// Its workspace.
    pub workspace_path: String,
    /// The hook status file, when hooks were installed.
    #[serde(default)]
    pub status_file: Option<String>,
    /// The end of the status file as the runtime read it inside the session (protocol 1.2):
    /// when given, it is read instead of `status_file`, which is not on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_tail: Option<String>,
    /// The session keeps its own files (protocol 1.3): the agent's records are read from the
    /// host's copy, at the paths inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<Inside>,
    /// The agent's own session id, when known.
    #[serde(default)]
    pub agent_session_id: Option<String>,
    /// A recent screen capture, when the host has one.
    #[serde(default)]
    pub screen: Option<String>,
    /// When `screen` was captured (default: now).
    #[serde(default)]
    pub screen_at_ms: Option<u64>,
    /// When the ao session was created (bounds transcript discovery).
    #[serde(default)]
    pub created_at_ms: Option<u64>,
    /// Whether the runtime saw the agent process.
    #[serde(default)]
    pub process_running: Option<bool>,
    /// Ready for longer than this counts as idle.
    #[serde(default)]
    pub idle_threshold_ms: Option<u64>,
    /// Now, as the host sees it (keeps plugins deterministic in tests).
    #[serde(default)]
    pub now_ms: Option<u64>,
}

/// An activity answer with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// The state.
    pub state: ActivityState,
    /// Which signal said so.
    pub source: ActivitySource,
    /// When that signal was produced.
    #[serde(default)]
    pub at_ms: Option<u64>,
    /// Free text (the question asked, the tool running).
    #[serde(default)]
    pub detail: Option<String>,
    /// The dialog on screen, when the state is `waiting_input` because of one: its options
    /// and fingerprint let a human answer it from anywhere (`ao answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialog: Option<Dialog>,
}

/// Classify a screen capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectActivityRequest {
    /// The captured text.
    pub screen: String,
}

/// A screen classification; `None` when the screen says nothing conclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedActivity {
    /// The state, if recognisable.
    pub state: Option<ActivityState>,
}

/// Ask for the agent's own session facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfoRequest {
    /// The ao session id.
    pub session_id: String,
    /// Its workspace.
    pub workspace_path: String,
    /// The agent's session id, when already known.
    #[serde(default)]
    pub agent_session_id: Option<String>,
    /// The hook status file (hooks record the agent's conversation id there).
    #[serde(default)]
    pub status_file: Option<String>,
    /// The end of the status file read inside the session (protocol 1.2); see
    /// [`ActivityRequest::status_tail`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_tail: Option<String>,
    /// See [`ActivityRequest::inside`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inside: Option<Inside>,
    /// When the ao session was created (bounds transcript discovery).
    #[serde(default)]
    pub created_at_ms: Option<u64>,
}

/// Token use and its price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Estimated price in US dollars.
    #[serde(default)]
    pub usd: Option<f64>,
}

/// What the agent's own records say about the session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The agent's conversation id, for resume.
    #[serde(default)]
    pub agent_session_id: Option<String>,
    /// A one-line summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// True when the summary is only the first user message.
    #[serde(default)]
    pub summary_is_fallback: bool,
    /// The first task the agent was given, on one line.
    #[serde(default)]
    pub task: Option<String>,
    /// The agent's latest message, on one line.
    #[serde(default)]
    pub latest: Option<String>,
    /// The model in use.
    #[serde(default)]
    pub model: Option<String>,
    /// The transcript the facts were read from.
    #[serde(default)]
    pub transcript: Option<String>,
    /// Tokens and price.
    #[serde(default)]
    pub cost: Option<Cost>,
}

/// Ask how to continue an earlier conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// The launch parameters, as for a fresh start.
    pub launch: LaunchRequest,
    /// The agent's conversation id.
    #[serde(default)]
    pub agent_session_id: Option<String>,
}

/// Install the agent's native hooks in a workspace so it reports its own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupHooksRequest {
    /// The workspace.
    pub workspace_path: String,
    /// The ao session id.
    pub session_id: String,
    /// Where the hooks append their records.
    pub status_file: String,
    /// The argv prefix that runs `ao hook` (the host's own executable path and flags).
    pub ao_command: Vec<String>,
}

/// What hook installation changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SetupHooksResponse {
    /// False when everything was already in place.
    pub changed: bool,
    /// Files written.
    #[serde(default)]
    pub files: Vec<String>,
}

/// An agent plugin.
pub trait Agent: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// The argv and environment that start the agent.
    fn launch(&self, ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError>;
    /// The agent's current activity, from the freshest signal available; `None` when there is
    /// no evidence yet (see `sdk::agent::resolve`).
    fn activity(&self, ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError>;
    /// Classifies a screen capture (the weakest signal, used as a fallback).
    fn detect_activity(
        &self,
        ctx: &Ctx,
        req: DetectActivityRequest,
    ) -> Result<DetectedActivity, SdkError>;
    /// Summary, agent session id and cost.
    fn session_info(&self, ctx: &Ctx, req: SessionInfoRequest) -> Result<SessionInfo, SdkError>;

    /// The argv that resumes the conversation; `None` means "launch fresh" (optional).
    fn restore_command(
        &self,
        _ctx: &Ctx,
        _req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        Err(super::unsupported(RESTORE_COMMAND))
    }
    /// Installs the agent's hooks in the workspace, idempotently (optional).
    fn setup_workspace_hooks(
        &self,
        _ctx: &Ctx,
        _req: SetupHooksRequest,
    ) -> Result<SetupHooksResponse, SdkError> {
        Err(super::unsupported(SETUP_WORKSPACE_HOOKS))
    }
    /// How the agent's screen reads (optional; without it delivery relies on hooks and on
    /// the text visibly leaving the input).
    fn screen_rules(&self, _ctx: &Ctx, _req: serde_json::Value) -> Result<ScreenRules, SdkError> {
        Err(super::unsupported(SCREEN_RULES))
    }
    /// The files inside a session that keeps its own, which hold the agent's records
    /// (optional, protocol 1.3): paths of files, or of directories whose files are followed.
    fn session_files(
        &self,
        _ctx: &Ctx,
        _req: SessionFilesRequest,
    ) -> Result<Vec<String>, SdkError> {
        Err(super::unsupported(SESSION_FILES))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Agent, trait: Agent,
    required: [
        LAUNCH => launch, ACTIVITY => activity, DETECT_ACTIVITY => detect_activity,
        SESSION_INFO => session_info,
    ],
    optional: [
        RESTORE_COMMAND => restore_command, SETUP_WORKSPACE_HOOKS => setup_workspace_hooks,
        SCREEN_RULES => screen_rules, SESSION_FILES => session_files,
    ],
}

impl ActivityRequest {
    /// Where the status records are: the runtime's tail when it brought one, else the file.
    pub fn status(&self) -> Option<crate::status_file::Source<'_>> {
        crate::status_file::Source::of(self.status_tail.as_deref(), self.status_file.as_deref())
    }
}

impl SessionInfoRequest {
    /// Where the status records are: the runtime's tail when it brought one, else the file.
    pub fn status(&self) -> Option<crate::status_file::Source<'_>> {
        crate::status_file::Source::of(self.status_tail.as_deref(), self.status_file.as_deref())
    }
}

//! Runtime: where a session runs (tmux, a child process, later containers and pods).
//!
//! The runtime reports where its workspace lives and how to attach, so nothing in the host
//! assumes a session is a local process (DESIGN §7).

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `CreateRequest` → [`RuntimeHandle`].
pub const CREATE: &str = "create";
/// `HandleRequest` → `()`. Idempotent: destroying a gone session succeeds.
pub const DESTROY: &str = "destroy";
/// [`SendMessageRequest`] → [`SendOutcome`].
pub const SEND_MESSAGE: &str = "send_message";
/// [`GetOutputRequest`] → [`Output`].
pub const GET_OUTPUT: &str = "get_output";
/// [`IsAliveRequest`] → [`Liveness`].
pub const IS_ALIVE: &str = "is_alive";
/// [`ProbeRequest`] → [`ProbeResponse`]: every session of a tick in one call.
pub const PROBE: &str = "probe";
/// `HandleRequest` → [`AttachInfo`] (optional).
pub const ATTACH_INFO: &str = "attach_info";
/// `HandleRequest` → [`Metrics`] (optional).
pub const METRICS: &str = "metrics";
/// [`AnswerRequest`] → [`AnswerOutcome`] (optional): answer the dialog on screen with the
/// human's choice, after checking it is the dialog the human saw.
pub const ANSWER_DIALOG: &str = "answer_dialog";
/// [`ListSessionsRequest`] → [`SessionList`] (optional): the runtime's sessions whose names
/// start with a prefix, so the host can find those no session file owns.
pub const LIST_SESSIONS: &str = "list_sessions";
/// `()` → [`Checks`] (optional, protocol 1.1): the state of the runtime's backend as `ao doctor`
/// shows it (an engine reachable and its version, an image present).
pub const CHECK: &str = "check";

/// An opaque reference to a running session, persisted in the session's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeHandle {
    /// The runtime's own name for the session (e.g. the tmux session name).
    pub id: String,
    /// The runtime plugin that owns it (`tmux`).
    pub runtime: String,
    /// Anything else the runtime needs later.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl RuntimeHandle {
    /// The workspace and home directory inside a session that keeps its own files (protocol
    /// 1.3): a runtime whose sessions do not see the host's disk as theirs records them in
    /// `data.workspace.path` and `data.home`, and the host then follows the agent's records
    /// inside ([`Mirror`]).
    pub fn inside(&self) -> Option<(&str, &str)> {
        let home = self.data.get("home")?.as_str()?;
        let workspace = self.data.get("workspace")?.get("path")?.as_str()?;
        (home.starts_with('/') && workspace.starts_with('/')).then_some((workspace, home))
    }
}

/// Start a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The ao session id (`app-3`).
    pub session_id: String,
    /// Globally unique runtime name, `{hash}-{sessionId}`.
    pub runtime_name: String,
    /// Where the agent works.
    pub workspace_path: String,
    /// The agent's launch command as an argument vector; never a shell string.
    pub argv: Vec<String>,
    /// Environment for the agent (`AO_SESSION`, `AO_PROJECT`, `AO_DATA_DIR`, the agent's own).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A directory the runtime may write helper files (launch scripts) into.
    #[serde(default)]
    pub scratch_dir: Option<String>,
    /// Host files the session reads at the same path (protocol 1.2): its system prompt, the
    /// helper files its agent plugin wrote beside the status file. A runtime whose sessions see
    /// the host's disk ignores it; one that keeps the session's files elsewhere copies them in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Host files put at another path inside (protocol 1.3): on a restore, the host's copy of
    /// the agent's records from the session's earlier container or pod, so its conversation
    /// resumes in a new one. A runtime whose sessions see the host's disk ignores it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<FileCopy>,
}

/// A host file and where it goes inside a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCopy {
    /// The file on the host.
    pub host: String,
    /// Its absolute path inside.
    pub path: String,
}

/// A request about one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandleRequest {
    /// The session.
    pub handle: RuntimeHandle,
}

/// How hard to try before a message counts as not delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryOptions {
    /// How long to wait for the agent to be ready for input.
    pub ready_timeout_ms: u64,
    /// How long the screen must stay unchanged to count as ready, without a hook signal.
    pub stable_ms: u64,
    /// How long to wait for evidence that the agent started working after Enter.
    pub ack_timeout_ms: u64,
    /// Extra Enter presses before giving up.
    pub max_enter_retries: u32,
    /// A file the agent's hooks append state records to; `ready`/`active` there are the best
    /// evidence of readiness and acknowledgement.
    pub status_file: Option<String>,
    /// The agent's screen grammar: with it, delivery refuses while a dialog is on screen and
    /// reads the input line for evidence that the text was submitted.
    pub screen: Option<crate::slots::agent::ScreenRules>,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            ready_timeout_ms: 30_000,
            stable_ms: 1_500,
            ack_timeout_ms: 10_000,
            max_enter_retries: 3,
            status_file: None,
            screen: None,
        }
    }
}

/// Deliver a message to the agent's input, with acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// The session.
    pub handle: RuntimeHandle,
    /// The text, possibly multi-line. Pasted verbatim, never interpreted by a shell.
    pub text: String,
    /// Retry and timing policy.
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

/// What happened to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendOutcome {
    /// True only when the agent was seen to start working on it.
    pub acknowledged: bool,
    /// Enter presses used.
    pub attempts: u32,
    /// What was observed (`hook: UserPromptSubmit`, `the text left the input line`), or why it
    /// was not acknowledged.
    pub evidence: String,
    /// Set when nothing was typed because the agent is showing a dialog: the human must answer
    /// it (`ao answer`), and a message would have answered it for them.
    #[serde(default)]
    pub dialog: Option<crate::slots::agent::Dialog>,
}

/// A human's answer to the dialog on a session's screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerRequest {
    /// The session.
    pub handle: RuntimeHandle,
    /// The option: its number (`2`), the start of its label (`yes`), or `y`/`n`.
    pub choice: String,
    /// The fingerprint of the dialog the human saw; another dialog on screen is not answered.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The agent's screen grammar (how its dialogs look and take an answer).
    pub screen: crate::slots::agent::ScreenRules,
}

/// What happened to an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerOutcome {
    /// True only when the dialog was seen to close (or give way to another) after the keys.
    pub answered: bool,
    /// What was done and seen, or why nothing was.
    pub evidence: String,
    /// The dialog that was on screen.
    #[serde(default)]
    pub dialog: Option<crate::slots::agent::Dialog>,
}

/// Read the last lines of the session's screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOutputRequest {
    /// The session.
    pub handle: RuntimeHandle,
    /// How many lines from the bottom.
    pub lines: u32,
}

/// Screen text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The captured text, lines joined with `\n`.
    pub text: String,
}

/// Is the session there and is its agent process running?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsAliveRequest {
    /// The session.
    pub handle: RuntimeHandle,
    /// Names of the agent's process (`claude`, `codex`); empty means "any process".
    #[serde(default)]
    pub process_names: Vec<String>,
    /// Files inside the session to bring to the host (protocol 1.3): its agent's transcripts,
    /// for a session that keeps its own files. A runtime whose sessions use the host's disk
    /// ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Mirror>,
}

/// Which of a session's files the host follows, and how much of each it holds already: the
/// runtime sends what was appended since (protocol 1.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mirror {
    /// Absolute paths inside the session: files, or directories whose files (a few levels
    /// down) are followed.
    pub roots: Vec<String>,
    /// Bytes the host holds of each file, by path; a file not named is read from its start.
    #[serde(default)]
    pub have: BTreeMap<String, u64>,
    /// Only files changed at or after this time (ms since the epoch): a session's own.
    #[serde(default)]
    pub since_ms: Option<u64>,
}

/// Bytes of a followed file, read inside the session (protocol 1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileChunk {
    /// Its absolute path inside the session.
    pub path: String,
    /// Its size when it was read.
    pub size: u64,
    /// Where `data` starts: the host's bytes up to there are kept; 0 with a host copy that is
    /// longer means the file was replaced, and the copy starts again.
    pub offset: u64,
    /// The bytes, base64 (standard alphabet); at most the probe's `mirror_bytes`.
    pub data_b64: String,
}

/// The runtime's view of one session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    /// Session exists and (when asked) the agent process runs.
    pub alive: bool,
    /// The runtime session itself exists.
    pub session_exists: bool,
    /// Whether an agent process was found, when that was checked.
    #[serde(default)]
    pub process_running: Option<bool>,
    /// Free text for logs.
    #[serde(default)]
    pub detail: String,
    /// The visible screen's last lines, when the probe asked for them and the session exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<String>,
    /// The end of the session's status file as read inside the session (protocol 1.2), when the
    /// probe asked for it and the session keeps its own files (a container, a pod). `None`
    /// means the host's file is the one to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_tail: Option<String>,
    /// What the target's [`Mirror`] asked for and the runtime read (protocol 1.3): new bytes of
    /// each file that grew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileChunk>,
}

/// Probe many sessions at once (one tick).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeRequest {
    /// The sessions to check.
    pub targets: Vec<IsAliveRequest>,
    /// Also capture each live session's screen, this many lines from the bottom: the host
    /// reads every screen each tick (dialogs and errors reach no hook), so a runtime should
    /// fetch them in bulk, not one process per session.
    #[serde(default)]
    pub capture_lines: Option<u32>,
    /// Also read the last this many bytes of the status file of each session that keeps its
    /// files inside the runtime (protocol 1.2), into [`Liveness::status_tail`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_tail_bytes: Option<u32>,
    /// The most bytes of one followed file a probe returns (protocol 1.3; default 256 KiB): a
    /// long transcript arrives over several ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_bytes: Option<u32>,
}

/// Results keyed by `RuntimeHandle::id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResponse {
    /// One entry per target.
    pub results: BTreeMap<String, Liveness>,
}

/// List the runtime's sessions named `{prefix}…` (the host's prefix for one config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSessionsRequest {
    /// The name prefix; never empty, so a runtime never lists what is not ao's.
    pub prefix: String,
}

/// One runtime session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedSession {
    /// A handle `destroy` accepts.
    pub handle: RuntimeHandle,
    /// Its process still runs (false: only its last screen is left).
    pub alive: bool,
}

/// The sessions found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    /// In name order.
    pub sessions: Vec<ListedSession>,
}

/// What a runtime says about its backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    /// One line each, in the order to show them.
    pub checks: Vec<Check>,
}

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked (`engine`, `image`).
    pub name: String,
    /// Whether it is usable.
    pub ok: bool,
    /// What was found, or what to fix.
    pub detail: String,
}

/// How a human or a terminal plugin attaches to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachInfo {
    /// `tmux`, `process`, `docker`, `ssh`, `web`.
    pub kind: String,
    /// The runtime's target name.
    pub target: String,
    /// An argv that attaches from a terminal (`["tmux", "attach", "-t", name]`).
    #[serde(default)]
    pub argv: Vec<String>,
    /// What a web terminal needs, runtime-specific.
    #[serde(default)]
    pub web: serde_json::Value,
}

/// Resource use of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Time since start.
    pub uptime_ms: u64,
    /// Resident memory.
    #[serde(default)]
    pub memory_mb: Option<f64>,
    /// Recent CPU use.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
}

impl Liveness {
    /// A session the runtime does not have, with why.
    pub fn gone(detail: impl Into<String>) -> Self {
        Self {
            alive: false,
            session_exists: false,
            process_running: None,
            detail: detail.into(),
            screen: None,
            status_tail: None,
            files: Vec::new(),
        }
    }
}

/// `is_alive` for a runtime whose `probe` is its batch call: one target, through it; a session
/// the answer leaves out is [`Liveness::gone`].
pub fn is_alive_by_probe<R: Runtime>(
    rt: &R,
    ctx: &Ctx,
    req: IsAliveRequest,
) -> Result<Liveness, SdkError> {
    let mut out = rt.probe(
        ctx,
        ProbeRequest {
            targets: vec![req],
            capture_lines: None,
            status_tail_bytes: None,
            mirror_bytes: None,
        },
    )?;
    Ok(out
        .results
        .pop_first()
        .map(|(_, l)| l)
        .unwrap_or_else(|| Liveness::gone("not in the runtime's answer")))
}

/// A runtime plugin. Required methods first; optional ones have default bodies and must be named
/// in [`Runtime::IMPLEMENTS`] when overridden.
pub trait Runtime: Sized + Send + Sync + 'static {
    /// The component's config, decoded from the user's YAML (as JSON).
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides (e.g. `&[runtime::ATTACH_INFO]`).
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component. Called once per instance; do not block for long.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Starts a session running `argv` in the workspace.
    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError>;
    /// Stops the session. Succeeds if it is already gone.
    fn destroy(&self, ctx: &Ctx, req: HandleRequest) -> Result<(), SdkError>;
    /// Delivers a message and reports whether the agent acknowledged it.
    fn send_message(&self, ctx: &Ctx, req: SendMessageRequest) -> Result<SendOutcome, SdkError>;
    /// Captures recent output.
    fn get_output(&self, ctx: &Ctx, req: GetOutputRequest) -> Result<Output, SdkError>;
    /// Checks one session.
    fn is_alive(&self, ctx: &Ctx, req: IsAliveRequest) -> Result<Liveness, SdkError>;

    /// Checks many sessions. The default asks one by one; runtimes whose backend can answer for
    /// all sessions at once (tmux `list-panes -a`) should override it.
    fn probe(&self, ctx: &Ctx, req: ProbeRequest) -> Result<ProbeResponse, SdkError> {
        let mut results = BTreeMap::new();
        for target in req.targets {
            ctx.check()?;
            let id = target.handle.id.clone();
            let handle = target.handle.clone();
            let mut l = self.is_alive(ctx, target)?;
            if let Some(lines) = req.capture_lines.filter(|_| l.session_exists) {
                l.screen = self
                    .get_output(ctx, GetOutputRequest { handle, lines })
                    .ok()
                    .map(|o| o.text);
            }
            results.insert(id, l);
        }
        Ok(ProbeResponse { results })
    }
    /// How to attach (optional).
    fn attach_info(&self, _ctx: &Ctx, _req: HandleRequest) -> Result<AttachInfo, SdkError> {
        Err(super::unsupported(ATTACH_INFO))
    }
    /// Resource use (optional).
    fn metrics(&self, _ctx: &Ctx, _req: HandleRequest) -> Result<Metrics, SdkError> {
        Err(super::unsupported(METRICS))
    }
    /// Answers the dialog on screen (optional; `sdk::delivery::answer` holds the policy).
    fn answer_dialog(&self, _ctx: &Ctx, _req: AnswerRequest) -> Result<AnswerOutcome, SdkError> {
        Err(super::unsupported(ANSWER_DIALOG))
    }
    /// The runtime's sessions under a name prefix (optional).
    fn list_sessions(
        &self,
        _ctx: &Ctx,
        _req: ListSessionsRequest,
    ) -> Result<SessionList, SdkError> {
        Err(super::unsupported(LIST_SESSIONS))
    }
    /// The backend's state for `ao doctor` (optional).
    fn check(&self, _ctx: &Ctx, _req: ()) -> Result<Checks, SdkError> {
        Err(super::unsupported(CHECK))
    }
    /// Stops background work before the host drops the instance.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Runtime, trait: Runtime,
    required: [
        CREATE => create, DESTROY => destroy, SEND_MESSAGE => send_message,
        GET_OUTPUT => get_output, IS_ALIVE => is_alive, PROBE => probe,
    ],
    optional: [
        ATTACH_INFO => attach_info, METRICS => metrics, ANSWER_DIALOG => answer_dialog,
        LIST_SESSIONS => list_sessions, CHECK => check,
    ],
}

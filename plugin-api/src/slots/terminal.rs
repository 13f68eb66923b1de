//! Terminal: lets a human look in on sessions (web dashboard terminal, iTerm2 tabs).

use crate::sdk::{Ctx, HostHandle, SdkError};
use crate::slots::runtime::AttachInfo;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// [`OpenSessionRequest`] → [`Opened`].
pub const OPEN_SESSION: &str = "open_session";
/// [`OpenAllRequest`] → [`Opened`].
pub const OPEN_ALL: &str = "open_all";
/// [`OpenSessionRequest`] → [`IsOpen`] (optional).
pub const IS_SESSION_OPEN: &str = "is_session_open";

/// A session as a terminal needs to see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// The ao session id.
    pub session_id: String,
    /// The project.
    pub project_id: String,
    /// How to attach, from the runtime.
    #[serde(default)]
    pub attach: Option<AttachInfo>,
    /// The dashboard's page for this session (with its token).
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

/// Open one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSessionRequest {
    /// The session.
    pub session: SessionView,
}

/// Open every session of a fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAllRequest {
    /// The sessions.
    pub sessions: Vec<SessionView>,
    /// The dashboard's fleet page.
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

/// What was opened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    /// How many views were opened (reused ones count).
    pub opened: u32,
    /// Free text.
    #[serde(default)]
    pub detail: String,
}

/// Whether a view is open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsOpen {
    /// The answer.
    pub open: bool,
}

/// A terminal plugin.
pub trait Terminal: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Opens (or focuses) a view of one session.
    fn open_session(&self, ctx: &Ctx, req: OpenSessionRequest) -> Result<Opened, SdkError>;
    /// Opens views of many sessions.
    fn open_all(&self, ctx: &Ctx, req: OpenAllRequest) -> Result<Opened, SdkError>;

    /// Whether a view of the session is already open (optional).
    fn is_session_open(&self, _ctx: &Ctx, _req: OpenSessionRequest) -> Result<IsOpen, SdkError> {
        Err(super::unsupported(IS_SESSION_OPEN))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Terminal, trait: Terminal,
    required: [OPEN_SESSION => open_session, OPEN_ALL => open_all],
    optional: [IS_SESSION_OPEN => is_session_open],
}

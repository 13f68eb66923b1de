//! Notifier: the main channel to the human ("push, not pull").

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// [`NotifyRequest`] → [`NotifyOutcome`].
pub const NOTIFY: &str = "notify";
/// [`NotifyWithActionsRequest`] → [`NotifyOutcome`] (optional).
pub const NOTIFY_WITH_ACTIONS: &str = "notify_with_actions";
/// [`PostRequest`] → [`NotifyOutcome`] (optional): a free message, e.g. a thread reply.
pub const POST: &str = "post";
/// `()` → `()` (optional): check credentials and reachability for `ao doctor`.
pub const TEST_CONNECTION: &str = "test_connection";

/// How urgently a human should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Stuck, needs input, errored: look now.
    Urgent,
    /// A decision is waiting (approved and green, merged).
    Action,
    /// Something failed that may still fix itself.
    Warning,
    /// For the record.
    Info,
}

/// One thing to tell the human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The event type (`ci.failing`, `session.needs_input`, …).
    pub event_type: String,
    /// Priority.
    pub priority: Priority,
    /// Short title.
    pub title: String,
    /// The message.
    pub message: String,
    /// The session it is about.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// The PR.
    #[serde(default)]
    pub pr_url: Option<String>,
    /// Where to look (dashboard page).
    #[serde(default)]
    pub url: Option<String>,
    /// When the event happened.
    pub timestamp_ms: u64,
    /// Event-specific structured data.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Deliver a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyRequest {
    /// What to say.
    pub notification: Notification,
}

/// A button or link offered with a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyAction {
    /// Button text.
    pub label: String,
    /// A link to open.
    #[serde(default)]
    pub url: Option<String>,
    /// An ao endpoint to call back.
    #[serde(default)]
    pub callback: Option<String>,
}

/// Deliver a notification with actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyWithActionsRequest {
    /// What to say.
    pub notification: Notification,
    /// What the human can do.
    pub actions: Vec<NotifyAction>,
}

/// A free-form message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostRequest {
    /// The text.
    pub message: String,
    /// The session it belongs to (for threading).
    #[serde(default)]
    pub session_id: Option<String>,
    /// The project.
    #[serde(default)]
    pub project_id: Option<String>,
    /// A channel override.
    #[serde(default)]
    pub channel: Option<String>,
}

/// What delivery produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifyOutcome {
    /// The remote id of the message, when the service returns one.
    #[serde(default)]
    pub id: Option<String>,
    /// Delivery attempts used.
    #[serde(default)]
    pub attempts: u32,
}

/// A notifier plugin.
pub trait Notifier: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Delivers a notification. Return an error if it was not delivered.
    fn notify(&self, ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError>;

    /// Delivers with actions (optional).
    fn notify_with_actions(
        &self,
        _ctx: &Ctx,
        _req: NotifyWithActionsRequest,
    ) -> Result<NotifyOutcome, SdkError> {
        Err(super::unsupported(NOTIFY_WITH_ACTIONS))
    }
    /// Posts a free message (optional).
    fn post(&self, _ctx: &Ctx, _req: PostRequest) -> Result<NotifyOutcome, SdkError> {
        Err(super::unsupported(POST))
    }
    /// Checks credentials and reachability (optional).
    fn test_connection(&self, _ctx: &Ctx, _req: ()) -> Result<(), SdkError> {
        Err(super::unsupported(TEST_CONNECTION))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Notifier, trait: Notifier,
    required: [NOTIFY => notify],
    optional: [
        NOTIFY_WITH_ACTIONS => notify_with_actions, POST => post,
        TEST_CONNECTION => test_connection,
    ],
}

//! Tracker: issues (GitHub Issues, Linear).

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// [`IssueRequest`] → [`Issue`].
pub const GET_ISSUE: &str = "get_issue";
/// [`IssueRequest`] → [`Completed`].
pub const IS_COMPLETED: &str = "is_completed";
/// [`IssueRequest`] → [`Url`].
pub const ISSUE_URL: &str = "issue_url";
/// [`IssueRequest`] → [`BranchName`].
pub const BRANCH_NAME: &str = "branch_name";
/// [`IssueRequest`] → [`PromptContext`].
pub const PROMPT_CONTEXT: &str = "prompt_context";
/// [`ListIssuesRequest`] → [`IssueList`] (optional).
pub const LIST_ISSUES: &str = "list_issues";
/// [`UpdateIssueRequest`] → `()` (optional).
pub const UPDATE_ISSUE: &str = "update_issue";
/// [`CreateIssueRequest`] → [`Issue`] (optional).
pub const CREATE_ISSUE: &str = "create_issue";

/// Which project's tracker to ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRef {
    /// The ao project id.
    pub project_id: String,
    /// The tracker's name for it (`owner/repo` for GitHub, a team key for Linear).
    pub repo: String,
}

/// A request about one issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueRequest {
    /// The project.
    pub project: ProjectRef,
    /// The issue id as the user wrote it (`42`, `#42`, `ENG-7`).
    pub issue_id: String,
}

/// An issue's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    /// Open.
    Open,
    /// Being worked on.
    InProgress,
    /// Done.
    Closed,
    /// Won't be done.
    Cancelled,
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueComment {
    /// Who wrote it.
    pub author: String,
    /// What it says (untrusted).
    pub body: String,
    /// When.
    #[serde(default)]
    pub created_at_ms: Option<u64>,
}

/// An issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Its id.
    pub id: String,
    /// Title (untrusted).
    pub title: String,
    /// Body (untrusted).
    #[serde(default)]
    pub body: String,
    /// Link.
    pub url: String,
    /// State.
    pub state: IssueState,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Priority, tracker-specific.
    #[serde(default)]
    pub priority: Option<String>,
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<IssueComment>,
    /// A branch the tracker suggests.
    #[serde(default)]
    pub branch_name: Option<String>,
}

/// Whether an issue is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completed {
    /// The answer.
    pub completed: bool,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Url {
    /// The URL.
    pub url: String,
}

/// A branch name for an issue (`feat/42-fix-login`); the host validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchName {
    /// The name.
    pub branch: String,
}

/// Issue context for the agent's prompt (untrusted; the host fences it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptContext {
    /// Markdown.
    pub text: String,
}

/// Which issues to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueFilters {
    /// `open`, `closed` or `all`.
    #[serde(default)]
    pub state: Option<String>,
    /// All of these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Assigned to.
    #[serde(default)]
    pub assignee: Option<String>,
    /// At most this many.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// List issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListIssuesRequest {
    /// The project.
    pub project: ProjectRef,
    /// Filters.
    #[serde(default)]
    pub filters: IssueFilters,
}

/// Issues found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueList {
    /// Each one.
    pub issues: Vec<Issue>,
}

/// Changes to an issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueUpdate {
    /// New state.
    #[serde(default)]
    pub state: Option<IssueState>,
    /// Labels to add.
    #[serde(default)]
    pub add_labels: Vec<String>,
    /// Labels to remove.
    #[serde(default)]
    pub remove_labels: Vec<String>,
    /// New assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// A comment to post.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Update an issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateIssueRequest {
    /// The project.
    pub project: ProjectRef,
    /// The issue.
    pub issue_id: String,
    /// The changes.
    pub update: IssueUpdate,
}

/// Create an issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateIssueRequest {
    /// The project.
    pub project: ProjectRef,
    /// Title.
    pub title: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<String>,
}

/// A tracker plugin.
pub trait Tracker: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Fetches an issue with its comments. `NOT_FOUND` when it does not exist.
    fn get_issue(&self, ctx: &Ctx, req: IssueRequest) -> Result<Issue, SdkError>;
    /// Whether the issue is closed or cancelled.
    fn is_completed(&self, ctx: &Ctx, req: IssueRequest) -> Result<Completed, SdkError>;
    /// The issue's URL.
    fn issue_url(&self, ctx: &Ctx, req: IssueRequest) -> Result<Url, SdkError>;
    /// The branch a session for this issue should use.
    fn branch_name(&self, ctx: &Ctx, req: IssueRequest) -> Result<BranchName, SdkError>;
    /// Issue context for the prompt.
    fn prompt_context(&self, ctx: &Ctx, req: IssueRequest) -> Result<PromptContext, SdkError>;

    /// Lists issues (optional; backlog spawning).
    fn list_issues(&self, _ctx: &Ctx, _req: ListIssuesRequest) -> Result<IssueList, SdkError> {
        Err(super::unsupported(LIST_ISSUES))
    }
    /// Changes labels, state, assignee, or comments (optional).
    fn update_issue(&self, _ctx: &Ctx, _req: UpdateIssueRequest) -> Result<(), SdkError> {
        Err(super::unsupported(UPDATE_ISSUE))
    }
    /// Creates an issue (optional).
    fn create_issue(&self, _ctx: &Ctx, _req: CreateIssueRequest) -> Result<Issue, SdkError> {
        Err(super::unsupported(CREATE_ISSUE))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Tracker, trait: Tracker,
    required: [
        GET_ISSUE => get_issue, IS_COMPLETED => is_completed, ISSUE_URL => issue_url,
        BRANCH_NAME => branch_name, PROMPT_CONTEXT => prompt_context,
    ],
    optional: [
        LIST_ISSUES => list_issues, UPDATE_ISSUE => update_issue, CREATE_ISSUE => create_issue,
    ],
}

//! Workspace: how a session gets its own copy of the code (git worktree, full clone).
//!
//! A workspace plugin only ever deletes what lives under its own root, and never work that was
//! not pushed anywhere unless forced.

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// [`CreateRequest`] → [`WorkspaceInfo`].
pub const CREATE: &str = "create";
/// [`DestroyRequest`] → [`DestroyOutcome`].
pub const DESTROY: &str = "destroy";
/// [`ListRequest`] → [`WorkspaceList`].
pub const LIST: &str = "list";
/// [`PathRequest`] → [`Exists`].
pub const EXISTS: &str = "exists";
/// [`CreateRequest`] → [`WorkspaceInfo`] (optional): re-create for an existing branch.
pub const RESTORE: &str = "restore";

/// One post-create command. An argv, run without a shell; `shell: true` makes `argv[0]` a
/// script for `sh -c`, which the host logs as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCreateCommand {
    /// The argument vector.
    pub argv: Vec<String>,
    /// Run through a shell (explicit opt-in).
    #[serde(default)]
    pub shell: bool,
    /// Give up after this long.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// Steps after the workspace exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostCreate {
    /// Paths (relative to the project checkout) to symlink into the workspace.
    #[serde(default)]
    pub symlinks: Vec<String>,
    /// Commands to run in the workspace, in order.
    #[serde(default)]
    pub commands: Vec<PostCreateCommand>,
}

/// Make a workspace for a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The project id.
    pub project_id: String,
    /// The ao session id; the workspace is `{root}/{session_id}`.
    pub session_id: String,
    /// The project's checkout.
    pub repo_path: String,
    /// The directory this plugin owns for this project.
    pub root: String,
    /// The session's branch (validated by the host against git's ref rules).
    pub branch: String,
    /// What to branch from.
    pub base_branch: String,
    /// Post-create steps.
    #[serde(default)]
    pub post_create: PostCreate,
}

/// A workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// Its path.
    pub path: String,
    /// Its branch.
    pub branch: String,
    /// The ao session id.
    pub session_id: String,
    /// The project id.
    pub project_id: String,
    /// The commit checked out.
    #[serde(default)]
    pub head: Option<String>,
    /// This create made the branch (it existed neither locally nor as a remote branch's copy
    /// before): a spawn that fails after it may ask destroy to delete it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created_branch: bool,
}

/// Remove a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestroyRequest {
    /// The workspace path.
    pub path: String,
    /// The plugin's root; paths outside it are refused.
    pub root: String,
    /// The project's checkout.
    pub repo_path: String,
    /// Remove even with unpushed commits.
    #[serde(default)]
    pub force: bool,
    /// Also delete this branch, but only while it still points at `head`: a branch the same
    /// failed spawn made, holding nothing new. Plugins that do not know it keep the branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_branch: Option<BranchAt>,
}

/// A branch and the commit it was made at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchAt {
    /// The branch name.
    pub name: String,
    /// The commit it pointed at when made.
    pub head: String,
}

/// What destroy did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestroyOutcome {
    /// False when there was nothing to remove.
    pub removed: bool,
    /// Free text.
    #[serde(default)]
    pub detail: String,
}

/// List a project's workspaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRequest {
    /// The project id.
    pub project_id: String,
    /// The plugin's root for the project.
    pub root: String,
    /// The project's checkout.
    pub repo_path: String,
}

/// Workspaces found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceList {
    /// Each one.
    pub workspaces: Vec<WorkspaceInfo>,
}

/// A request about one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathRequest {
    /// The workspace path.
    pub path: String,
}

/// Whether a workspace exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exists {
    /// The answer.
    pub exists: bool,
}

/// A workspace plugin.
pub trait Workspace: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Creates the workspace and runs post-create steps. On failure, leaves nothing behind.
    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError>;
    /// Removes a workspace under `root`.
    fn destroy(&self, ctx: &Ctx, req: DestroyRequest) -> Result<DestroyOutcome, SdkError>;
    /// Lists workspaces under `root`.
    fn list(&self, ctx: &Ctx, req: ListRequest) -> Result<WorkspaceList, SdkError>;
    /// Whether a workspace exists.
    fn exists(&self, ctx: &Ctx, req: PathRequest) -> Result<Exists, SdkError>;

    /// Re-creates a missing workspace for an existing branch (optional).
    fn restore(&self, _ctx: &Ctx, _req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        Err(super::unsupported(RESTORE))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Workspace, trait: Workspace,
    required: [CREATE => create, DESTROY => destroy, LIST => list, EXISTS => exists],
    optional: [RESTORE => restore],
}

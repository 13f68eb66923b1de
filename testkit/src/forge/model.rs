//! The simulated forge's records. Field meanings follow GitHub's REST and GraphQL docs; the
//! JSON shapes are built in `rest_json` and `graphql`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A repository, backed by a real bare git repository.
#[derive(Debug, Clone)]
pub struct Repo {
    /// GitHub's numeric id: it survives renames (`/repositories/{id}`).
    pub id: u64,
    /// `owner`.
    pub owner: String,
    /// `name`.
    pub name: String,
    /// The bare repository.
    pub git_dir: PathBuf,
    /// `main` unless told otherwise.
    pub default_branch: String,
    /// Private repositories are invisible (404) to tokens without the `repo` scope.
    pub private: bool,
    /// Issues and pull requests share one number space, as on GitHub.
    pub items: BTreeMap<u64, Item>,
    /// Check runs of every commit.
    pub check_runs: Vec<CheckRun>,
    /// Check runs queued on every new PR head, as a CI workflow on `pull_request` would be.
    pub checks_on_push: Vec<String>,
    /// Commit statuses, oldest first (the combined status keeps the latest per context).
    pub statuses: Vec<CommitStatus>,
    /// Branch protection by branch name.
    pub protection: BTreeMap<String, Protection>,
    /// Last number handed out.
    pub last_number: u64,
}

impl Repo {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// A user or a bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Login (`octocat`, `github-actions[bot]`).
    pub login: String,
    /// Bots are `Bot` in GraphQL and `"type": "Bot"` in REST.
    pub is_bot: bool,
}

impl Actor {
    /// An actor from a login; a `[bot]` suffix makes it a bot.
    pub fn from_login(login: &str) -> Self {
        Self {
            login: login.to_string(),
            is_bot: login.ends_with("[bot]"),
        }
    }
}

/// A comment on an issue or PR conversation.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Global id.
    pub id: u64,
    /// Who wrote it.
    pub author: Actor,
    /// Text.
    pub body: String,
    /// Seconds since the epoch.
    pub created_at: u64,
}

/// `open` / `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Open.
    Open,
    /// Closed (or merged, for a PR).
    Closed,
}

/// An issue, or a pull request when `pull` is set.
#[derive(Debug, Clone)]
pub struct Item {
    /// Global id.
    pub id: u64,
    /// Number in the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// State.
    pub state: ItemState,
    /// `completed`, `not_planned`, `reopened` or none.
    pub state_reason: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// Assignee logins.
    pub assignees: Vec<String>,
    /// Author.
    pub author: Actor,
    /// Conversation comments.
    pub comments: Vec<Comment>,
    /// Seconds since the epoch.
    pub created_at: u64,
    /// Bumped by every change, as GitHub's `updated_at`.
    pub updated_at: u64,
    /// When closed.
    pub closed_at: Option<u64>,
    /// Changes with every update, even within one second of `updated_at` (feeds ETags).
    pub rev: u64,
    /// Pull request parts.
    pub pull: Option<Pull>,
}

static REV: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Item {
    /// Records a change: a new `updated_at` and revision.
    pub(crate) fn touch(&mut self) {
        self.updated_at = super::world::now();
        self.rev = REV.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What makes an item a pull request.
#[derive(Debug, Clone)]
pub struct Pull {
    /// Head branch (in the same repository).
    pub head: String,
    /// Base branch.
    pub base: String,
    /// The head commit last seen in the bare repository.
    pub head_sha: String,
    /// Draft.
    pub draft: bool,
    /// When merged.
    pub merged_at: Option<u64>,
    /// The commit the merge made.
    pub merge_commit_sha: Option<String>,
    /// Forces `mergeable` (tests: "not computed yet", "conflicting").
    pub mergeable_override: Option<Mergeable>,
    /// Reviews, oldest first.
    pub reviews: Vec<Review>,
    /// Review threads, oldest first.
    pub threads: Vec<Thread>,
}

/// GraphQL `MergeableState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mergeable {
    /// Can merge.
    Mergeable,
    /// Conflicts.
    Conflicting,
    /// Not computed yet.
    Unknown,
}

/// GraphQL `PullRequestReviewState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewState {
    /// Approved.
    Approved,
    /// Changes requested.
    ChangesRequested,
    /// Comment only.
    Commented,
    /// Dismissed.
    Dismissed,
}

/// A submitted review.
#[derive(Debug, Clone)]
pub struct Review {
    /// Global id.
    pub id: u64,
    /// Reviewer.
    pub author: Actor,
    /// Verdict.
    pub state: ReviewState,
    /// Summary text.
    pub body: String,
    /// The head commit it reviewed.
    pub commit_id: String,
    /// Seconds since the epoch.
    pub submitted_at: u64,
}

/// A review thread on a line of the diff.
#[derive(Debug, Clone)]
pub struct Thread {
    /// Global id.
    pub id: u64,
    /// File.
    pub path: String,
    /// Line.
    pub line: Option<u64>,
    /// Resolved.
    pub resolved: bool,
    /// Comments, the first one opens the thread.
    pub comments: Vec<Comment>,
}

/// `queued` / `in_progress` / `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Queued.
    Queued,
    /// Running.
    InProgress,
    /// Done (see the conclusion).
    Completed,
}

/// A check run (for GitHub Actions, its id is also the job id).
#[derive(Debug, Clone)]
pub struct CheckRun {
    /// Global id.
    pub id: u64,
    /// The commit.
    pub head_sha: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: RunStatus,
    /// `success`, `failure`, `timed_out`, `cancelled`, `neutral`, `skipped`, `action_required`.
    pub conclusion: Option<String>,
    /// Seconds since the epoch.
    pub started_at: Option<u64>,
    /// Seconds since the epoch.
    pub completed_at: Option<u64>,
    /// The job's log, served by the Actions job-logs endpoint.
    pub log: Option<String>,
}

/// A commit status.
#[derive(Debug, Clone)]
pub struct CommitStatus {
    /// Global id.
    pub id: u64,
    /// The commit.
    pub sha: String,
    /// Context (its name).
    pub context: String,
    /// `error`, `failure`, `pending`, `success`.
    pub state: String,
    /// Link.
    pub target_url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Seconds since the epoch.
    pub created_at: u64,
}

/// Branch protection: what a merge into the branch requires.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Protection {
    /// Contexts (check run names or status contexts) that must succeed.
    pub required_checks: Vec<String>,
    /// The head must contain the base ("require branches to be up to date").
    pub strict: bool,
    /// Approving reviews required.
    pub required_approvals: u32,
}

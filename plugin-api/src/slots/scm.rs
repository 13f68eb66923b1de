//! SCM: pull requests, CI and reviews (GitHub).
//!
//! The lifecycle engine asks everything it needs for a tick in one [`ENRICH_BATCH`] call, so API
//! cost grows with what changed, not with the number of sessions.

use crate::sdk::{Ctx, HostHandle, SdkError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// [`DetectPrRequest`] → [`DetectedPr`].
pub const DETECT_PR: &str = "detect_pr";
/// [`EnrichBatchRequest`] → [`EnrichBatchResponse`].
pub const ENRICH_BATCH: &str = "enrich_batch";
/// [`CiLogsRequest`] → [`CiLogs`].
pub const CI_LOGS: &str = "ci_logs";
/// [`MergeRequest`] → [`MergeOutcome`].
pub const MERGE: &str = "merge";
/// [`PrRequest`] → [`PrInfo`] (optional): a number or URL to a PR.
pub const RESOLVE_PR: &str = "resolve_pr";
/// [`PrRequest`] → `()` (optional).
pub const CLOSE_PR: &str = "close_pr";
/// [`WebhookRequest`] → [`WebhookVerdict`] (optional).
pub const VERIFY_WEBHOOK: &str = "verify_webhook";
/// [`WebhookRequest`] → [`ParsedWebhook`] (optional).
pub const PARSE_WEBHOOK: &str = "parse_webhook";
/// `()` → [`RateLimitStatus`] (optional).
pub const RATE_LIMIT: &str = "rate_limit";

/// Identifies a pull request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PrKey {
    /// `owner/name`.
    pub repo: String,
    /// The PR number.
    pub number: u64,
}

impl PrKey {
    /// `owner/name#number`, the key of [`EnrichBatchResponse::prs`].
    pub fn key(&self) -> String {
        format!("{}#{}", self.repo, self.number)
    }
}

/// Static facts about a PR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrInfo {
    /// Which PR.
    #[serde(flatten)]
    pub key: PrKey,
    /// Link.
    pub url: String,
    /// Title (untrusted).
    pub title: String,
    /// Head branch.
    pub branch: String,
    /// Base branch.
    pub base_branch: String,
    /// Draft.
    #[serde(default)]
    pub is_draft: bool,
}

/// Find the PR whose head is a branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectPrRequest {
    /// `owner/name`.
    pub repo: String,
    /// The session's branch.
    pub branch: String,
}

/// The PR found, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedPr {
    /// `None` when the branch has no PR yet.
    pub pr: Option<PrInfo>,
}

/// A request about one PR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrRequest {
    /// `owner/name`.
    pub repo: String,
    /// A number, `#n` or a URL.
    pub reference: String,
}

/// PR state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    /// Open.
    Open,
    /// Merged.
    Merged,
    /// Closed without merging.
    Closed,
}

/// Combined CI state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiStatus {
    /// Something still runs.
    Pending,
    /// Everything passed.
    Passing,
    /// Something failed.
    Failing,
    /// No checks at all.
    None,
}

/// One check's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Queued.
    Pending,
    /// Running.
    Running,
    /// Succeeded.
    Passed,
    /// Failed, timed out or needs action.
    Failed,
    /// Skipped or neutral.
    Skipped,
    /// Cancelled.
    Cancelled,
}

/// One CI check (a check run or a commit status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiCheck {
    /// Name.
    pub name: String,
    /// State.
    pub status: CheckStatus,
    /// The forge's raw conclusion (`failure`, `timed_out`, …).
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Link to the run.
    #[serde(default)]
    pub url: Option<String>,
    /// `check_run` or `status`.
    #[serde(default)]
    pub kind: String,
    /// The forge's id, for fetching logs.
    #[serde(default)]
    pub id: Option<String>,
    /// Start.
    #[serde(default)]
    pub started_at_ms: Option<u64>,
    /// End.
    #[serde(default)]
    pub completed_at_ms: Option<u64>,
}

/// CI for the head commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiRollup {
    /// Combined state.
    pub status: CiStatus,
    /// Every check.
    #[serde(default)]
    pub checks: Vec<CiCheck>,
}

/// Review decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Approved.
    Approved,
    /// Changes requested.
    ChangesRequested,
    /// A review is required and missing.
    ReviewRequired,
    /// No review rules apply.
    None,
}

/// An unresolved review comment (the first comment of a thread, with its place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewComment {
    /// Comment id.
    pub id: String,
    /// Thread id.
    #[serde(default)]
    pub thread_id: Option<String>,
    /// Author login.
    pub author: String,
    /// Text (untrusted).
    pub body: String,
    /// File.
    #[serde(default)]
    pub path: Option<String>,
    /// Line.
    #[serde(default)]
    pub line: Option<u64>,
    /// Resolved.
    #[serde(default)]
    pub is_resolved: bool,
    /// Written by a bot.
    #[serde(default)]
    pub is_bot: bool,
    /// Link.
    #[serde(default)]
    pub url: Option<String>,
    /// When.
    #[serde(default)]
    pub created_at_ms: Option<u64>,
}

/// Mergeability as the forge computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mergeable {
    /// Can merge.
    Mergeable,
    /// Conflicts with the base.
    Conflicting,
    /// Not computed yet.
    Unknown,
}

/// Everything the lifecycle engine needs about one PR, in one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrFacts {
    /// Static facts.
    pub info: PrInfo,
    /// State.
    pub state: PrState,
    /// Head commit.
    pub head_sha: String,
    /// Mergeability.
    pub mergeable: Mergeable,
    /// The forge's merge state (`clean`, `blocked`, `behind`, `dirty`, …).
    #[serde(default)]
    pub merge_state_status: Option<String>,
    /// Head is behind base.
    #[serde(default)]
    pub is_behind: bool,
    /// Review decision.
    pub review_decision: ReviewDecision,
    /// Unresolved review threads.
    #[serde(default)]
    pub unresolved_threads: Vec<ReviewComment>,
    /// CI.
    pub ci: CiRollup,
    /// Lines added.
    #[serde(default)]
    pub additions: u64,
    /// Lines removed.
    #[serde(default)]
    pub deletions: u64,
    /// Why it cannot merge, in words.
    #[serde(default)]
    pub blockers: Vec<String>,
    /// Last change on the forge.
    #[serde(default)]
    pub updated_at_ms: Option<u64>,
}

/// Enrich every PR of a tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrichBatchRequest {
    /// The PRs to look at.
    pub prs: Vec<PrKey>,
    /// Branches without a known PR, by repo, so their PRs can be detected in the same batch.
    #[serde(default)]
    pub branches: BTreeMap<String, Vec<String>>,
}

/// Facts for the PRs that could be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnrichBatchResponse {
    /// Keyed by [`PrKey::key`]. A PR missing here was not readable this tick (see `errors`).
    pub prs: BTreeMap<String, PrFacts>,
    /// PRs found for the requested branches: `repo` → branch → PR.
    #[serde(default)]
    pub detected: BTreeMap<String, BTreeMap<String, PrInfo>>,
    /// Repos whose PR list did not change since the last tick (answered from cache).
    #[serde(default)]
    pub unchanged_repos: Vec<String>,
    /// Per-PR or per-repo failures, keyed like `prs` or by repo.
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

/// Fetch log excerpts of failed checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiLogsRequest {
    /// `owner/name`.
    pub repo: String,
    /// The failed checks.
    pub checks: Vec<CiCheck>,
    /// Cap per excerpt.
    pub max_bytes: u64,
}

/// The end of a failed job's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiLogExcerpt {
    /// Which check.
    pub check_name: String,
    /// Link.
    #[serde(default)]
    pub url: Option<String>,
    /// The excerpt (untrusted).
    pub text: String,
    /// Whether it was cut.
    pub truncated: bool,
}

/// Log excerpts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiLogs {
    /// One per check that had a readable log.
    pub excerpts: Vec<CiLogExcerpt>,
}

/// How to merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    /// A merge commit.
    Merge,
    /// Squash.
    #[default]
    Squash,
    /// Rebase.
    Rebase,
}

/// Merge a PR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequest {
    /// Which PR.
    pub pr: PrKey,
    /// How.
    #[serde(default)]
    pub method: MergeMethod,
    /// Refuse if the head moved since the facts were read.
    #[serde(default)]
    pub expected_head_sha: Option<String>,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeOutcome {
    /// Whether it merged.
    pub merged: bool,
    /// The merge commit.
    #[serde(default)]
    pub sha: Option<String>,
    /// The forge's words, especially when refused.
    #[serde(default)]
    pub message: String,
}

/// An incoming webhook delivery, as the host received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// Headers, lower-cased names.
    pub headers: BTreeMap<String, String>,
    /// The raw body.
    pub body: String,
}

/// Whether a delivery is authentic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookVerdict {
    /// Signature checked out.
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub reason: Option<String>,
    /// The delivery id.
    #[serde(default)]
    pub delivery_id: Option<String>,
    /// The event type.
    #[serde(default)]
    pub event_type: Option<String>,
}

/// What a delivery is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `pull_request`, `ci`, `review`, `comment`, `push`, `unknown`.
    pub kind: String,
    /// The forge's action.
    #[serde(default)]
    pub action: Option<String>,
    /// `owner/name`.
    #[serde(default)]
    pub repo: Option<String>,
    /// PR number.
    #[serde(default)]
    pub pr_number: Option<u64>,
    /// Branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Commit.
    #[serde(default)]
    pub sha: Option<String>,
}

/// A parsed delivery; `None` for deliveries that concern no session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedWebhook {
    /// The event.
    pub event: Option<WebhookEvent>,
}

/// One API budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Allowed per window.
    pub limit: u64,
    /// Left.
    pub remaining: u64,
    /// When the window resets.
    pub reset_at_ms: u64,
}

/// The plugin's view of its API budget, for `ao doctor` and the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitStatus {
    /// REST budget.
    #[serde(default)]
    pub rest: Option<Budget>,
    /// GraphQL budget.
    #[serde(default)]
    pub graphql: Option<Budget>,
    /// Requests sent since start.
    #[serde(default)]
    pub requests: u64,
    /// Requests that counted against a budget (not 304s).
    #[serde(default)]
    pub charged_requests: u64,
    /// The server has no API rate limit at all (GitHub Enterprise with rate limiting off):
    /// `rest` and `graphql` are then `None` because there is nothing to spend.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlimited: bool,
}

/// An SCM plugin.
pub trait Scm: Sized + Send + Sync + 'static {
    /// The component's config.
    type Config: DeserializeOwned + JsonSchema;
    /// Optional methods this implementation overrides.
    const IMPLEMENTS: &'static [&'static str] = &[];

    /// Builds the component.
    fn new(config: Self::Config, host: &HostHandle) -> Result<Self, SdkError>;
    /// Finds the PR for a branch.
    fn detect_pr(&self, ctx: &Ctx, req: DetectPrRequest) -> Result<DetectedPr, SdkError>;
    /// Facts about many PRs in as few requests as possible.
    fn enrich_batch(
        &self,
        ctx: &Ctx,
        req: EnrichBatchRequest,
    ) -> Result<EnrichBatchResponse, SdkError>;
    /// Bounded log excerpts of failed checks.
    fn ci_logs(&self, ctx: &Ctx, req: CiLogsRequest) -> Result<CiLogs, SdkError>;
    /// Merges, or says why not.
    fn merge(&self, ctx: &Ctx, req: MergeRequest) -> Result<MergeOutcome, SdkError>;

    /// Resolves a number or URL to a PR (optional).
    fn resolve_pr(&self, _ctx: &Ctx, _req: PrRequest) -> Result<PrInfo, SdkError> {
        Err(super::unsupported(RESOLVE_PR))
    }
    /// Closes a PR without merging (optional).
    fn close_pr(&self, _ctx: &Ctx, _req: PrRequest) -> Result<(), SdkError> {
        Err(super::unsupported(CLOSE_PR))
    }
    /// Checks a webhook's signature (optional).
    fn verify_webhook(&self, _ctx: &Ctx, _req: WebhookRequest) -> Result<WebhookVerdict, SdkError> {
        Err(super::unsupported(VERIFY_WEBHOOK))
    }
    /// Says what a webhook is about (optional).
    fn parse_webhook(&self, _ctx: &Ctx, _req: WebhookRequest) -> Result<ParsedWebhook, SdkError> {
        Err(super::unsupported(PARSE_WEBHOOK))
    }
    /// Reports API budget use (optional).
    fn rate_limit(&self, _ctx: &Ctx, _req: ()) -> Result<RateLimitStatus, SdkError> {
        Err(super::unsupported(RATE_LIMIT))
    }
    /// Stops background work.
    fn shutdown(&self) {}
}

crate::__slot_adapter! {
    slot: crate::manifest::Slot::Scm, trait: Scm,
    required: [
        DETECT_PR => detect_pr, ENRICH_BATCH => enrich_batch, CI_LOGS => ci_logs, MERGE => merge,
    ],
    optional: [
        RESOLVE_PR => resolve_pr, CLOSE_PR => close_pr, VERIFY_WEBHOOK => verify_webhook,
        PARSE_WEBHOOK => parse_webhook, RATE_LIMIT => rate_limit,
    ],
}

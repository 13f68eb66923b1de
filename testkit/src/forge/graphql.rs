//! The GraphQL endpoint: the subset of GitHub's public schema the plugin queries, with its
//! type, field, enum and argument names, executed by async-graphql (so queries are parsed and
//! validated against the schema as GitHub would) over the same state as REST.

use super::model::{self, Actor, Item, ItemState, ReviewState, RunStatus};
use super::rest_json::iso;
use super::server::App;
use super::world::{Context as CiContext, World};
use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Enum, Error, ErrorExtensions, ID, Interface, Object,
    Result, Schema, SimpleObject, Union,
};

/// The schema type.
pub(crate) type SimSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub(crate) fn schema() -> SimSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription).finish()
}

/// The cost of the running query, for `rateLimit { cost }`.
pub(crate) struct QueryCost(pub(crate) u64);

fn app<'a>(ctx: &'a Context<'_>) -> &'a App {
    ctx.data_unchecked::<App>()
}

fn with_world<T>(ctx: &Context<'_>, f: impl FnOnce(&World) -> T) -> T {
    let w = app(ctx).world();
    f(&w)
}

// GitHub's custom scalars, so field types carry GitHub's scalar names.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct DateTime(String);
async_graphql::scalar!(DateTime, "DateTime");
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Uri(String);
async_graphql::scalar!(Uri, "URI");
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct GitObjectId(String);
async_graphql::scalar!(GitObjectId, "GitObjectID");

fn dt(secs: u64) -> DateTime {
    DateTime(iso(secs))
}

/// Page arguments of a connection, checked as GitHub checks them.
struct Page {
    first: Option<i32>,
    last: Option<i32>,
    after: Option<String>,
    before: Option<String>,
}

impl Page {
    fn slice<T: Clone>(&self, what: &str, all: Vec<T>) -> Result<Conn<T>> {
        let n = match (self.first, self.last) {
            (None, None) => {
                return Err(Error::new(format!(
                    "You must provide a `first` or `last` value to properly paginate the `{what}` connection."
                )));
            }
            (Some(_), Some(_)) => {
                return Err(Error::new(format!(
                    "Passing both `first` and `last` to paginate the `{what}` connection is not supported."
                )));
            }
            (Some(n), None) | (None, Some(n)) => n,
        };
        if !(0..=100).contains(&n) {
            return Err(Error::new(format!(
                "Requesting {n} records on the `{what}` connection exceeds the `{}` limit of 100 records.",
                if self.first.is_some() {
                    "first"
                } else {
                    "last"
                }
            )));
        }
        let cursor = |c: &Option<String>| -> Result<Option<usize>> {
            c.as_deref()
                .map(|c| {
                    c.strip_prefix("cursor:")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| {
                            Error::new(format!("`{c}` does not appear to be a valid cursor."))
                        })
                })
                .transpose()
        };
        let lo = cursor(&self.after)?.map_or(0, |a| a + 1);
        let hi = cursor(&self.before)?.unwrap_or(all.len()).min(all.len());
        let (lo, hi) = (lo.min(hi), hi);
        let n = n as usize;
        let (start, end) = if self.first.is_some() {
            (lo, (lo + n).min(hi))
        } else {
            (hi.saturating_sub(n).max(lo), hi)
        };
        Ok(Conn {
            total: all.len(),
            start,
            has_prev: start > 0,
            has_next: end < all.len(),
            items: all[start..end].to_vec(),
        })
    }
}

struct Conn<T> {
    items: Vec<T>,
    start: usize,
    total: usize,
    has_next: bool,
    has_prev: bool,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        pub(crate) struct $conn(Conn<$node>);

        #[Object]
        impl $conn {
            async fn nodes(&self) -> Vec<Option<$node>> {
                self.0.items.iter().cloned().map(Some).collect()
            }
            async fn edges(&self) -> Vec<Option<$edge>> {
                self.0
                    .items
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        Some($edge {
                            cursor: format!("cursor:{}", self.0.start + i),
                            node: n.clone(),
                        })
                    })
                    .collect()
            }
            async fn page_info(&self) -> PageInfo {
                let n = self.0.items.len();
                PageInfo {
                    has_next_page: self.0.has_next,
                    has_previous_page: self.0.has_prev,
                    start_cursor: (n > 0).then(|| format!("cursor:{}", self.0.start)),
                    end_cursor: (n > 0).then(|| format!("cursor:{}", self.0.start + n - 1)),
                }
            }
            async fn total_count(&self) -> i32 {
                self.0.total as i32
            }
        }

        pub(crate) struct $edge {
            cursor: String,
            node: $node,
        }

        #[Object]
        impl $edge {
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            async fn node(&self) -> Option<$node> {
                Some(self.node.clone())
            }
        }
    };
}

connection!(PullRequestConnection, PullRequestEdge, PullRequest);
connection!(
    PullRequestCommitConnection,
    PullRequestCommitEdge,
    PullRequestCommit
);
connection!(
    StatusCheckRollupContextConnection,
    StatusCheckRollupContextEdge,
    StatusCheckRollupContext
);
connection!(
    PullRequestReviewThreadConnection,
    PullRequestReviewThreadEdge,
    PullRequestReviewThread
);
connection!(
    PullRequestReviewCommentConnection,
    PullRequestReviewCommentEdge,
    PullRequestReviewComment
);
connection!(
    PullRequestReviewConnection,
    PullRequestReviewEdge,
    PullRequestReview
);

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum PullRequestState {
    Open,
    Closed,
    Merged,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum MergeableState {
    Mergeable,
    Conflicting,
    Unknown,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum MergeStateStatus {
    Behind,
    Blocked,
    Clean,
    Dirty,
    Draft,
    HasHooks,
    Unknown,
    Unstable,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum PullRequestReviewDecision {
    ChangesRequested,
    Approved,
    ReviewRequired,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum StatusState {
    Error,
    Expected,
    Failure,
    Pending,
    Success,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum CheckStatusState {
    Requested,
    Queued,
    InProgress,
    Completed,
    Waiting,
    Pending,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum CheckConclusionState {
    ActionRequired,
    TimedOut,
    Cancelled,
    Failure,
    Success,
    Neutral,
    Skipped,
    StartupFailure,
    Stale,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum PullRequestReviewState {
    Pending,
    Commented,
    Approved,
    ChangesRequested,
    Dismissed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum IssueOrderField {
    CreatedAt,
    UpdatedAt,
    Comments,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum OrderDirection {
    Asc,
    Desc,
}

#[derive(async_graphql::InputObject)]
struct IssueOrder {
    field: IssueOrderField,
    direction: OrderDirection,
}

fn status_state(s: &str) -> StatusState {
    match s {
        "SUCCESS" => StatusState::Success,
        "FAILURE" => StatusState::Failure,
        "ERROR" => StatusState::Error,
        "EXPECTED" => StatusState::Expected,
        _ => StatusState::Pending,
    }
}

#[derive(Clone)]
pub(crate) struct User {
    login: String,
}

#[Object]
impl User {
    async fn login(&self) -> String {
        self.login.clone()
    }
}

#[derive(Clone)]
pub(crate) struct Bot {
    login: String,
}

#[Object]
impl Bot {
    async fn login(&self) -> String {
        self.login.clone()
    }
}

#[derive(Interface, Clone)]
#[graphql(field(name = "login", ty = "String"))]
pub(crate) enum ActorIface {
    User(User),
    Bot(Bot),
}

fn actor(a: &Actor) -> ActorIface {
    if a.is_bot {
        // GraphQL shows a bot's login without the `[bot]` suffix REST shows.
        ActorIface::Bot(Bot {
            login: a.login.trim_end_matches("[bot]").to_string(),
        })
    } else {
        ActorIface::User(User {
            login: a.login.clone(),
        })
    }
}

#[derive(SimpleObject)]
struct RepositoryOwner {
    login: String,
}

/// The root query.
pub(crate) struct Query;

#[Object]
impl Query {
    async fn repository(
        &self,
        ctx: &Context<'_>,
        owner: String,
        name: String,
        #[graphql(default = true)] follow_renames: bool,
    ) -> Result<Option<Repository>> {
        let mut full = format!("{owner}/{name}");
        let mut w = app(ctx).world();
        if follow_renames
            && !w.repos.contains_key(&full)
            && let Some(now) = w.moved.get(&full).and_then(|id| w.full_name_of(*id))
        {
            full = now;
        }
        let scopes = ctx.data_unchecked::<Scopes>();
        match w.repos.get(&full) {
            Some(r) if !r.private || scopes.0.iter().any(|s| s == "repo") => {
                w.sync(&full);
                Ok(Some(Repository { full }))
            }
            _ => Err(Error::new(format!(
                "Could not resolve to a Repository with the name '{full}'."
            ))
            .extend_with(|_, e| e.set("type", "NOT_FOUND"))),
        }
    }

    async fn rate_limit(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] _dry_run: bool,
    ) -> RateLimit {
        let cost = ctx.data_unchecked::<QueryCost>().0;
        with_world(ctx, |w| RateLimit {
            cost: cost as i32,
            limit: w.graphql.limit as i32,
            node_count: 0,
            remaining: w.graphql.remaining() as i32,
            reset_at: dt(w.graphql.reset_at),
            used: w.graphql.used as i32,
        })
    }
}

/// The caller's token scopes.
pub(crate) struct Scopes(pub(crate) Vec<String>);

#[derive(SimpleObject)]
#[graphql(rename_fields = "camelCase")]
struct RateLimit {
    cost: i32,
    limit: i32,
    node_count: i32,
    remaining: i32,
    reset_at: DateTime,
    used: i32,
}

pub(crate) struct Repository {
    full: String,
}

#[Object]
impl Repository {
    async fn name(&self) -> String {
        self.full.split_once('/').map_or("", |(_, n)| n).to_string()
    }

    async fn owner(&self) -> RepositoryOwner {
        RepositoryOwner {
            login: self.full.split_once('/').map_or("", |(o, _)| o).to_string(),
        }
    }

    async fn name_with_owner(&self) -> &str {
        &self.full
    }

    async fn pull_request(&self, ctx: &Context<'_>, number: i32) -> Result<Option<PullRequest>> {
        with_world(ctx, |w| {
            let item = w
                .repos
                .get(&self.full)
                .and_then(|r| r.items.get(&(number as u64)))
                .filter(|i| i.pull.is_some());
            match item {
                Some(i) => Ok(Some(PullRequest {
                    full: self.full.clone(),
                    item: i.clone(),
                })),
                None => Err(Error::new(format!(
                    "Could not resolve to a PullRequest with the number of {number}."
                ))
                .extend_with(|_, e| e.set("type", "NOT_FOUND"))),
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn pull_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
        head_ref_name: Option<String>,
        base_ref_name: Option<String>,
        states: Option<Vec<PullRequestState>>,
        order_by: Option<IssueOrder>,
    ) -> Result<PullRequestConnection> {
        let mut all: Vec<PullRequest> = with_world(ctx, |w| {
            w.repos
                .get(&self.full)
                .map(|r| {
                    r.items
                        .values()
                        .filter(|i| i.pull.is_some())
                        .map(|i| PullRequest {
                            full: self.full.clone(),
                            item: i.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        all.retain(|p| {
            let pull = p.item.pull.as_ref().expect("a pull");
            head_ref_name.as_ref().is_none_or(|h| pull.head == *h)
                && base_ref_name.as_ref().is_none_or(|b| pull.base == *b)
                && states.as_ref().is_none_or(|s| s.contains(&p.pr_state()))
        });
        if let Some(o) = &order_by {
            match o.field {
                IssueOrderField::UpdatedAt => {
                    all.sort_by_key(|p| (p.item.updated_at, p.item.number))
                }
                IssueOrderField::Comments => all.sort_by_key(|p| p.item.comments.len()),
                IssueOrderField::CreatedAt => all.sort_by_key(|p| p.item.number),
            }
            if o.direction == OrderDirection::Desc {
                all.reverse();
            }
        }
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(PullRequestConnection(page.slice("pullRequests", all)?))
    }
}

#[derive(Clone)]
pub(crate) struct PullRequest {
    full: String,
    item: Item,
}

impl PullRequest {
    fn pull(&self) -> &model::Pull {
        self.item.pull.as_ref().expect("a pull")
    }

    fn pr_state(&self) -> PullRequestState {
        match (self.item.state, self.pull().merged_at) {
            (ItemState::Open, _) => PullRequestState::Open,
            (ItemState::Closed, Some(_)) => PullRequestState::Merged,
            (ItemState::Closed, None) => PullRequestState::Closed,
        }
    }

    fn view(&self, ctx: &Context<'_>) -> super::world::PullView {
        with_world(ctx, |w| {
            let repo = w.repos.get(&self.full).expect("resolved repo");
            w.view(repo, &self.item)
        })
    }
}

#[Object]
impl PullRequest {
    async fn id(&self) -> ID {
        ID(format!("PR_{}", self.item.id))
    }
    async fn database_id(&self) -> i32 {
        self.item.id as i32
    }
    async fn number(&self) -> i32 {
        self.item.number as i32
    }
    async fn title(&self) -> &str {
        &self.item.title
    }
    async fn body(&self) -> &str {
        &self.item.body
    }
    async fn url(&self, ctx: &Context<'_>) -> Uri {
        let base = with_world(ctx, |w| w.base_url.clone());
        Uri(format!("{base}/{}/pull/{}", self.full, self.item.number))
    }
    async fn state(&self) -> PullRequestState {
        self.pr_state()
    }
    async fn closed(&self) -> bool {
        self.item.state == ItemState::Closed
    }
    async fn merged(&self) -> bool {
        self.pull().merged_at.is_some()
    }
    async fn is_draft(&self) -> bool {
        self.pull().draft
    }
    async fn created_at(&self) -> DateTime {
        dt(self.item.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        dt(self.item.updated_at)
    }
    async fn merged_at(&self) -> Option<DateTime> {
        self.pull().merged_at.map(dt)
    }
    async fn head_ref_name(&self) -> &str {
        &self.pull().head
    }
    async fn base_ref_name(&self) -> &str {
        &self.pull().base
    }
    async fn head_ref_oid(&self) -> GitObjectId {
        GitObjectId(self.pull().head_sha.clone())
    }
    async fn author(&self) -> Option<ActorIface> {
        Some(actor(&self.item.author))
    }
    async fn additions(&self, ctx: &Context<'_>) -> i32 {
        self.view(ctx).additions as i32
    }
    async fn deletions(&self, ctx: &Context<'_>) -> i32 {
        self.view(ctx).deletions as i32
    }
    async fn mergeable(&self, ctx: &Context<'_>) -> MergeableState {
        if self.item.state != ItemState::Open {
            return MergeableState::Unknown;
        }
        match self.view(ctx).mergeable {
            model::Mergeable::Mergeable => MergeableState::Mergeable,
            model::Mergeable::Conflicting => MergeableState::Conflicting,
            model::Mergeable::Unknown => MergeableState::Unknown,
        }
    }
    async fn merge_state_status(&self, ctx: &Context<'_>) -> MergeStateStatus {
        match self.view(ctx).merge_state_status {
            "BEHIND" => MergeStateStatus::Behind,
            "BLOCKED" => MergeStateStatus::Blocked,
            "CLEAN" => MergeStateStatus::Clean,
            "DIRTY" => MergeStateStatus::Dirty,
            "DRAFT" => MergeStateStatus::Draft,
            "UNSTABLE" => MergeStateStatus::Unstable,
            "HAS_HOOKS" => MergeStateStatus::HasHooks,
            _ => MergeStateStatus::Unknown,
        }
    }
    async fn review_decision(&self, ctx: &Context<'_>) -> Option<PullRequestReviewDecision> {
        match self.view(ctx).review_decision {
            Some("APPROVED") => Some(PullRequestReviewDecision::Approved),
            Some("CHANGES_REQUESTED") => Some(PullRequestReviewDecision::ChangesRequested),
            Some("REVIEW_REQUIRED") => Some(PullRequestReviewDecision::ReviewRequired),
            _ => None,
        }
    }
    async fn commits(
        &self,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<PullRequestCommitConnection> {
        // Only the head commit is modelled: it is what the rollup and reviews are about.
        let head = PullRequestCommit {
            commit: Commit {
                full: self.full.clone(),
                oid: self.pull().head_sha.clone(),
            },
        };
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(PullRequestCommitConnection(
            page.slice("commits", vec![head])?,
        ))
    }
    async fn review_threads(
        &self,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<PullRequestReviewThreadConnection> {
        let head = self.pull().head_sha.clone();
        let all = self
            .pull()
            .threads
            .iter()
            .map(|t| PullRequestReviewThread {
                thread: t.clone(),
                url: format!("{}/pull/{}", self.full, self.item.number),
                _head: head.clone(),
            })
            .collect();
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(PullRequestReviewThreadConnection(
            page.slice("reviewThreads", all)?,
        ))
    }
    async fn reviews(
        &self,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
        states: Option<Vec<PullRequestReviewState>>,
    ) -> Result<PullRequestReviewConnection> {
        let all = self
            .pull()
            .reviews
            .iter()
            .map(|r| PullRequestReview { review: r.clone() })
            .filter(|r| {
                states
                    .as_ref()
                    .is_none_or(|s| s.contains(&r.review_state()))
            })
            .collect();
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(PullRequestReviewConnection(page.slice("reviews", all)?))
    }
}

#[derive(Clone)]
pub(crate) struct PullRequestCommit {
    commit: Commit,
}

#[Object]
impl PullRequestCommit {
    async fn commit(&self) -> Commit {
        self.commit.clone()
    }
}

#[derive(Clone)]
pub(crate) struct Commit {
    full: String,
    oid: String,
}

#[Object]
impl Commit {
    async fn oid(&self) -> GitObjectId {
        GitObjectId(self.oid.clone())
    }
    async fn status_check_rollup(&self, ctx: &Context<'_>) -> Option<StatusCheckRollup> {
        let contexts = with_world(ctx, |w| {
            w.repos
                .get(&self.full)
                .map(|r| w.contexts(r, &self.oid))
                .unwrap_or_default()
        });
        let state = World::rollup_state(&contexts)?;
        let base = with_world(ctx, |w| w.base_url.clone());
        Some(StatusCheckRollup {
            state: status_state(state),
            contexts: contexts
                .into_iter()
                .map(|c| match c {
                    CiContext::Run(r) => StatusCheckRollupContext::CheckRun(CheckRun {
                        details: format!("{base}/{}/actions/runs/{}/job/{}", self.full, r.id, r.id),
                        run: r,
                    }),
                    CiContext::Status(s) => {
                        StatusCheckRollupContext::StatusContext(StatusContext { status: s })
                    }
                })
                .collect(),
        })
    }
}

pub(crate) struct StatusCheckRollup {
    state: StatusState,
    contexts: Vec<StatusCheckRollupContext>,
}

#[Object]
impl StatusCheckRollup {
    async fn state(&self) -> StatusState {
        self.state
    }
    async fn contexts(
        &self,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<StatusCheckRollupContextConnection> {
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(StatusCheckRollupContextConnection(
            page.slice("contexts", self.contexts.clone())?,
        ))
    }
}

#[derive(Union, Clone)]
pub(crate) enum StatusCheckRollupContext {
    CheckRun(CheckRun),
    StatusContext(StatusContext),
}

#[derive(Clone)]
pub(crate) struct CheckRun {
    run: model::CheckRun,
    details: String,
}

#[Object]
impl CheckRun {
    async fn id(&self) -> ID {
        ID(format!("CR_{}", self.run.id))
    }
    async fn database_id(&self) -> i32 {
        self.run.id as i32
    }
    async fn name(&self) -> &str {
        &self.run.name
    }
    async fn status(&self) -> CheckStatusState {
        match self.run.status {
            RunStatus::Queued => CheckStatusState::Queued,
            RunStatus::InProgress => CheckStatusState::InProgress,
            RunStatus::Completed => CheckStatusState::Completed,
        }
    }
    async fn conclusion(&self) -> Option<CheckConclusionState> {
        Some(match self.run.conclusion.as_deref()? {
            "success" => CheckConclusionState::Success,
            "failure" => CheckConclusionState::Failure,
            "timed_out" => CheckConclusionState::TimedOut,
            "cancelled" => CheckConclusionState::Cancelled,
            "neutral" => CheckConclusionState::Neutral,
            "skipped" => CheckConclusionState::Skipped,
            "action_required" => CheckConclusionState::ActionRequired,
            "stale" => CheckConclusionState::Stale,
            _ => CheckConclusionState::StartupFailure,
        })
    }
    async fn details_url(&self) -> Option<Uri> {
        Some(Uri(self.details.clone()))
    }
    async fn url(&self) -> Uri {
        Uri(self.details.clone())
    }
    async fn started_at(&self) -> Option<DateTime> {
        self.run.started_at.map(dt)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.run.completed_at.map(dt)
    }
}

#[derive(Clone)]
pub(crate) struct StatusContext {
    status: model::CommitStatus,
}

#[Object]
impl StatusContext {
    async fn id(&self) -> ID {
        ID(format!("SC_{}", self.status.id))
    }
    async fn context(&self) -> &str {
        &self.status.context
    }
    async fn state(&self) -> StatusState {
        status_state(&self.status.state.to_uppercase())
    }
    async fn target_url(&self) -> Option<Uri> {
        self.status.target_url.clone().map(Uri)
    }
    async fn description(&self) -> Option<&str> {
        self.status.description.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        dt(self.status.created_at)
    }
}

#[derive(Clone)]
pub(crate) struct PullRequestReviewThread {
    thread: model::Thread,
    url: String,
    _head: String,
}

#[Object]
impl PullRequestReviewThread {
    async fn id(&self) -> ID {
        ID(format!("PRRT_{}", self.thread.id))
    }
    async fn is_resolved(&self) -> bool {
        self.thread.resolved
    }
    async fn is_outdated(&self) -> bool {
        false
    }
    async fn path(&self) -> &str {
        &self.thread.path
    }
    async fn line(&self) -> Option<i32> {
        self.thread.line.map(|l| l as i32)
    }
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<PullRequestReviewCommentConnection> {
        let base = with_world(ctx, |w| w.base_url.clone());
        let all = self
            .thread
            .comments
            .iter()
            .map(|c| PullRequestReviewComment {
                comment: c.clone(),
                path: self.thread.path.clone(),
                line: self.thread.line,
                url: format!("{base}/{}#discussion_r{}", self.url, c.id),
            })
            .collect();
        let page = Page {
            first,
            last,
            after,
            before,
        };
        Ok(PullRequestReviewCommentConnection(
            page.slice("comments", all)?,
        ))
    }
}

#[derive(Clone)]
pub(crate) struct PullRequestReviewComment {
    comment: model::Comment,
    path: String,
    line: Option<u64>,
    url: String,
}

#[Object]
impl PullRequestReviewComment {
    async fn id(&self) -> ID {
        ID(format!("PRRC_{}", self.comment.id))
    }
    async fn database_id(&self) -> i32 {
        self.comment.id as i32
    }
    async fn author(&self) -> Option<ActorIface> {
        Some(actor(&self.comment.author))
    }
    async fn body(&self) -> &str {
        &self.comment.body
    }
    async fn url(&self) -> Uri {
        Uri(self.url.clone())
    }
    async fn created_at(&self) -> DateTime {
        dt(self.comment.created_at)
    }
    async fn path(&self) -> &str {
        &self.path
    }
    async fn line(&self) -> Option<i32> {
        self.line.map(|l| l as i32)
    }
}

#[derive(Clone)]
pub(crate) struct PullRequestReview {
    review: model::Review,
}

impl PullRequestReview {
    fn review_state(&self) -> PullRequestReviewState {
        match self.review.state {
            ReviewState::Approved => PullRequestReviewState::Approved,
            ReviewState::ChangesRequested => PullRequestReviewState::ChangesRequested,
            ReviewState::Commented => PullRequestReviewState::Commented,
            ReviewState::Dismissed => PullRequestReviewState::Dismissed,
        }
    }
}

#[Object]
impl PullRequestReview {
    async fn id(&self) -> ID {
        ID(format!("PRR_{}", self.review.id))
    }
    async fn author(&self) -> Option<ActorIface> {
        Some(actor(&self.review.author))
    }
    async fn state(&self) -> PullRequestReviewState {
        self.review_state()
    }
    async fn body(&self) -> &str {
        &self.review.body
    }
    async fn submitted_at(&self) -> Option<DateTime> {
        Some(dt(self.review.submitted_at))
    }
}

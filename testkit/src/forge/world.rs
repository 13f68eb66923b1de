//! The forge's state and every change a request or a test can make to it.

use super::git::{self, GitCache, Method};
use super::model::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Seconds since the epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An answer GitHub would give instead of a result: status and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// GitHub's `message`.
    pub message: String,
}

pub(crate) fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// One API budget window (`core` for REST, `graphql` for points).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Budget {
    /// Allowed per window.
    pub limit: u64,
    /// Used in this window.
    pub used: u64,
    /// When the window resets, seconds since the epoch.
    pub reset_at: u64,
}

impl Budget {
    fn new(limit: u64) -> Self {
        Self {
            limit,
            used: 0,
            reset_at: now() + 3600,
        }
    }

    /// Starts a new window when the old one is over.
    pub(crate) fn roll(&mut self) {
        if now() >= self.reset_at {
            self.used = 0;
            self.reset_at = now() + 3600;
        }
    }

    /// What is left.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// What the forge has served, for benchmarks and cost assertions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Every API request (REST and GraphQL), whatever the answer.
    pub requests: u64,
    /// Requests that counted against the REST budget (not 304s, not errors GitHub does not
    /// charge).
    pub charged: u64,
    /// `304 Not Modified` answers.
    pub not_modified: u64,
    /// GraphQL queries answered.
    pub graphql_queries: u64,
    /// GraphQL points charged (GitHub's cost formula).
    pub graphql_points: u64,
    /// Requests by `METHOD route`.
    pub by_route: BTreeMap<String, u64>,
}

/// Faults a test scripts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    /// The next `n` requests get a secondary rate limit answer: (n, retry-after s, status).
    pub(crate) secondary: Option<(u32, u64, u16)>,
    /// The next `n` requests get a 500.
    pub(crate) server_errors: u32,
    /// The next request is redirected: (status, Location).
    pub(crate) redirect: Option<(u16, String)>,
}

/// A pull request to open.
#[derive(Debug, Clone, Copy)]
pub struct NewPull<'a> {
    /// Head branch.
    pub head: &'a str,
    /// Base branch.
    pub base: &'a str,
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// Draft.
    pub draft: bool,
    /// Author login.
    pub author: &'a str,
}

impl<'a> NewPull<'a> {
    /// A ready-for-review PR from `head` into `main` by `octocat`.
    pub fn new(head: &'a str, title: &'a str) -> Self {
        Self {
            head,
            base: "main",
            title,
            body: "",
            draft: false,
            author: "octocat",
        }
    }
}

/// The whole simulated forge.
pub struct World {
    pub(crate) root: PathBuf,
    pub(crate) repos: BTreeMap<String, Repo>,
    pub(crate) next_id: u64,
    /// Token → scopes.
    pub(crate) tokens: BTreeMap<String, Vec<String>>,
    pub(crate) core: Budget,
    pub(crate) graphql: Budget,
    pub(crate) counters: Counters,
    pub(crate) faults: Faults,
    /// `http://127.0.0.1:port`, for links.
    pub(crate) base_url: String,
    pub(crate) git: GitCache,
    /// Old `owner/name` → the id of the repository renamed from it.
    pub(crate) moved: BTreeMap<String, u64>,
    /// GitHub Enterprise with API rate limiting off: no budgets, no `x-ratelimit-*` headers,
    /// and `GET /rate_limit` answers 404 "Rate limiting is not enabled.".
    pub(crate) unlimited: bool,
}

/// Facts computed from the git repository and the reviews, as GitHub computes them.
#[derive(Debug, Clone)]
pub(crate) struct PullView {
    pub(crate) mergeable: Mergeable,
    pub(crate) merge_state_status: &'static str,
    pub(crate) review_decision: Option<&'static str>,
    pub(crate) behind: bool,
    pub(crate) additions: u64,
    pub(crate) deletions: u64,
}

/// One context of a commit's CI: a check run or a commit status.
#[derive(Debug, Clone)]
pub(crate) enum Context {
    Run(CheckRun),
    Status(CommitStatus),
}

impl Context {
    pub(crate) fn name(&self) -> &str {
        match self {
            Context::Run(r) => &r.name,
            Context::Status(s) => &s.context,
        }
    }

    /// `SUCCESS`, `FAILURE`, `PENDING` or `ERROR` as it counts towards the rollup.
    pub(crate) fn rollup_state(&self) -> &'static str {
        match self {
            Context::Run(r) => match (r.status, r.conclusion.as_deref()) {
                (RunStatus::Completed, Some("success" | "neutral" | "skipped")) => "SUCCESS",
                (RunStatus::Completed, _) => "FAILURE",
                _ => "PENDING",
            },
            Context::Status(s) => match s.state.as_str() {
                "success" => "SUCCESS",
                "pending" => "PENDING",
                "error" => "ERROR",
                _ => "FAILURE",
            },
        }
    }
}

impl World {
    pub(crate) fn new(root: PathBuf) -> Self {
        let mut tokens = BTreeMap::new();
        tokens.insert(super::TOKEN.to_string(), vec!["repo".to_string()]);
        Self {
            root,
            repos: BTreeMap::new(),
            next_id: 1000,
            tokens,
            core: Budget::new(5000),
            graphql: Budget::new(5000),
            counters: Counters::default(),
            faults: Faults::default(),
            base_url: String::new(),
            git: GitCache::default(),
            moved: BTreeMap::new(),
            unlimited: false,
        }
    }

    /// Renames a repository as GitHub does: the old name answers `301` to
    /// `/repositories/{id}/…` for every method.
    pub fn rename_repo(&mut self, old: &str, new: &str) -> Result<(), Refusal> {
        let (owner, name) = new
            .split_once('/')
            .ok_or_else(|| refuse(422, format!("`{new}` is not owner/name")))?;
        let mut repo = self
            .repos
            .remove(old)
            .ok_or_else(|| refuse(404, "Not Found"))?;
        repo.owner = owner.into();
        repo.name = name.into();
        self.moved.insert(old.to_string(), repo.id);
        self.repos.insert(new.to_string(), repo);
        Ok(())
    }

    /// Turns API rate limiting off, as a GitHub Enterprise admin can.
    pub fn disable_rate_limiting(&mut self) {
        self.unlimited = true;
    }

    /// `owner/name` of the repository with GitHub id `id`.
    pub(crate) fn full_name_of(&self, id: u64) -> Option<String> {
        self.repos
            .iter()
            .find(|(_, r)| r.id == id)
            .map(|(k, _)| k.clone())
    }

    /// Moves every item's timestamps `secs` into the past, so a benchmark's world looks like
    /// one that has existed for a while rather than one made in the last second.
    pub fn backdate(&mut self, secs: u64) {
        for repo in self.repos.values_mut() {
            for item in repo.items.values_mut() {
                item.created_at = item.created_at.saturating_sub(secs);
                item.updated_at = item.updated_at.saturating_sub(secs);
            }
        }
    }

    /// Accepts `token` with these scopes (`repo` for full access; none for read-only).
    pub fn add_token(&mut self, token: &str, scopes: Vec<String>) {
        self.tokens.insert(token.to_string(), scopes);
    }

    /// The next API request is answered `status` (a 3xx) with `Location: location`, as a
    /// proxy or a moved endpoint might.
    pub fn redirect_next(&mut self, status: u16, location: &str) {
        self.faults.redirect = Some((status, location.to_string()));
    }

    /// The next `n` API requests fail with `500`.
    pub fn fail_next(&mut self, n: u32) {
        self.faults.server_errors = n;
    }

    /// The next `n` API requests hit a secondary rate limit (`status` 403 or 429) with
    /// `retry-after: retry_after_s`.
    pub fn secondary_limit(&mut self, n: u32, retry_after_s: u64, status: u16) {
        self.faults.secondary = Some((n, retry_after_s, status));
    }

    /// Sets what is left of a budget (`graphql` or REST) and when it resets.
    pub fn set_budget(&mut self, graphql: bool, remaining: u64, reset_in_s: u64) {
        let b = if graphql {
            &mut self.graphql
        } else {
            &mut self.core
        };
        b.used = b.limit.saturating_sub(remaining);
        b.reset_at = now() + reset_in_s;
    }

    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn repo(&self, full: &str) -> Result<&Repo, Refusal> {
        self.repos.get(full).ok_or_else(|| refuse(404, "Not Found"))
    }

    pub(crate) fn repo_mut(&mut self, full: &str) -> Result<&mut Repo, Refusal> {
        self.repos
            .get_mut(full)
            .ok_or_else(|| refuse(404, "Not Found"))
    }

    /// Adds a repository backed by a new bare repository under the forge's directory.
    pub fn add_repo(&mut self, full: &str, private: bool) -> Result<PathBuf, Refusal> {
        let git_dir = self.root.join("git").join(format!("{full}.git"));
        git::init_bare(&git_dir, "main").map_err(|e| refuse(500, e))?;
        self.add_repo_at(full, &git_dir, private)?;
        Ok(git_dir)
    }

    /// Adds a repository backed by an existing bare repository.
    pub fn add_repo_at(
        &mut self,
        full: &str,
        git_dir: &Path,
        private: bool,
    ) -> Result<(), Refusal> {
        let (owner, name) = full
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| refuse(422, format!("`{full}` is not owner/name")))?;
        let default_branch = git::run(git_dir, &["symbolic-ref", "--short", "HEAD"])
            .unwrap_or_else(|_| "main".into());
        let id = self.id();
        self.repos.insert(
            full.to_string(),
            Repo {
                id,
                owner: owner.into(),
                name: name.into(),
                git_dir: git_dir.to_path_buf(),
                default_branch,
                private,
                items: BTreeMap::new(),
                check_runs: Vec::new(),
                checks_on_push: Vec::new(),
                statuses: Vec::new(),
                protection: BTreeMap::new(),
                last_number: 0,
            },
        );
        Ok(())
    }

    /// Notices pushes: a PR whose head branch moved gets the new head and a new `updated_at`,
    /// as GitHub's `synchronize` does.
    pub(crate) fn sync(&mut self, full: &str) {
        let Some(repo) = self.repos.get(full) else {
            return;
        };
        let branches = self.git.branches(&repo.git_dir);
        let mut moved = Vec::new();
        for item in repo.items.values() {
            if let Some(p) = &item.pull
                && item.state == ItemState::Open
                && let Some(sha) = branches.get(&p.head)
                && *sha != p.head_sha
            {
                moved.push((item.number, sha.clone()));
            }
        }
        if moved.is_empty() {
            return;
        }
        let repo = self.repos.get_mut(full).expect("checked above");
        for (n, sha) in &moved {
            let item = repo.items.get_mut(n).expect("listed above");
            if let Some(p) = item.pull.as_mut() {
                p.head_sha = sha.clone();
            }
            item.touch();
        }
        for (_, sha) in moved {
            self.queue_checks(full, &sha);
        }
    }

    /// Makes every new PR head get these check runs, queued (the test or the demo completes
    /// them), as a CI workflow triggered by `pull_request` does on GitHub.
    pub fn checks_on_push(&mut self, full: &str, names: &[&str]) -> Result<(), Refusal> {
        self.repo_mut(full)?.checks_on_push = names.iter().map(|n| n.to_string()).collect();
        Ok(())
    }

    fn queue_checks(&mut self, full: &str, sha: &str) {
        let names = self
            .repos
            .get(full)
            .map(|r| r.checks_on_push.clone())
            .unwrap_or_default();
        for name in names {
            let _ = self.set_check(full, sha, &name, RunStatus::Queued, None, None);
        }
    }

    pub(crate) fn new_item(
        &mut self,
        full: &str,
        title: &str,
        body: &str,
        author: &str,
        pull: Option<Pull>,
    ) -> Result<u64, Refusal> {
        if title.trim().is_empty() {
            return Err(refuse(422, "Validation Failed: title is missing"));
        }
        let id = self.id();
        let repo = self.repo_mut(full)?;
        repo.last_number += 1;
        let number = repo.last_number;
        let t = now();
        repo.items.insert(
            number,
            Item {
                id,
                number,
                title: title.into(),
                body: body.into(),
                state: ItemState::Open,
                state_reason: None,
                labels: Vec::new(),
                assignees: Vec::new(),
                author: Actor::from_login(author),
                comments: Vec::new(),
                created_at: t,
                updated_at: t,
                closed_at: None,
                rev: 0,
                pull,
            },
        );
        Ok(number)
    }

    /// Opens an issue.
    pub fn create_issue(
        &mut self,
        full: &str,
        title: &str,
        body: &str,
        labels: &[&str],
        author: &str,
    ) -> Result<u64, Refusal> {
        let n = self.new_item(full, title, body, author, None)?;
        let item = self.item_mut(full, n)?;
        item.labels = labels.iter().map(|l| l.to_string()).collect();
        Ok(n)
    }

    pub(crate) fn item_mut(&mut self, full: &str, number: u64) -> Result<&mut Item, Refusal> {
        self.repo_mut(full)?
            .items
            .get_mut(&number)
            .ok_or_else(|| refuse(404, "Not Found"))
    }

    pub(crate) fn item(&self, full: &str, number: u64) -> Result<&Item, Refusal> {
        self.repo(full)?
            .items
            .get(&number)
            .ok_or_else(|| refuse(404, "Not Found"))
    }

    /// Comments on an issue or a PR's conversation.
    pub fn comment(
        &mut self,
        full: &str,
        number: u64,
        author: &str,
        body: &str,
    ) -> Result<u64, Refusal> {
        if body.is_empty() {
            return Err(refuse(422, "Validation Failed: body is missing"));
        }
        let id = self.id();
        let item = self.item_mut(full, number)?;
        item.comments.push(Comment {
            id,
            author: Actor::from_login(author),
            body: body.into(),
            created_at: now(),
        });
        item.touch();
        Ok(id)
    }

    /// Opens a pull request from `head` into `base` (both branches of the repository).
    pub fn create_pull(&mut self, full: &str, new: NewPull<'_>) -> Result<u64, Refusal> {
        let NewPull {
            head,
            base,
            title,
            body,
            draft,
            author,
        } = new;
        let repo = self.repo(full)?;
        let branches = self.git.branches(&repo.git_dir);
        let head_sha = branches.get(head).cloned().ok_or_else(|| {
            refuse(
                422,
                format!("Validation Failed: head `{head}` does not exist"),
            )
        })?;
        let base_sha = branches.get(base).ok_or_else(|| {
            refuse(
                422,
                format!("Validation Failed: base `{base}` does not exist"),
            )
        })?;
        if *base_sha == head_sha {
            return Err(refuse(
                422,
                format!("Validation Failed: No commits between {base} and {head}"),
            ));
        }
        let taken = repo.items.values().any(|i| {
            i.state == ItemState::Open
                && i.pull
                    .as_ref()
                    .is_some_and(|p| p.head == head && p.base == base)
        });
        if taken {
            return Err(refuse(
                422,
                format!(
                    "Validation Failed: A pull request already exists for {}:{head}.",
                    repo.owner
                ),
            ));
        }
        let pull = Pull {
            head: head.into(),
            base: base.into(),
            head_sha,
            draft,
            merged_at: None,
            merge_commit_sha: None,
            mergeable_override: None,
            reviews: Vec::new(),
            threads: Vec::new(),
        };
        let sha = pull.head_sha.clone();
        let n = self.new_item(full, title, body, author, Some(pull))?;
        self.queue_checks(full, &sha);
        Ok(n)
    }

    /// A pull request (404 for an issue number).
    pub(crate) fn pull_mut(&mut self, full: &str, number: u64) -> Result<&mut Item, Refusal> {
        let item = self.item_mut(full, number)?;
        if item.pull.is_none() {
            return Err(refuse(404, "Not Found"));
        }
        Ok(item)
    }

    /// The commit a PR's head points at now.
    pub fn head_sha(&mut self, full: &str, number: u64) -> Result<String, Refusal> {
        self.sync(full);
        let item = self.item(full, number)?;
        item.pull
            .as_ref()
            .map(|p| p.head_sha.clone())
            .ok_or_else(|| refuse(404, "Not Found"))
    }

    /// Creates a check run on `sha`, or updates the latest one of that name.
    pub fn set_check(
        &mut self,
        full: &str,
        sha: &str,
        name: &str,
        status: RunStatus,
        conclusion: Option<&str>,
        log: Option<&str>,
    ) -> Result<u64, Refusal> {
        let id = self.id();
        let repo = self.repo_mut(full)?;
        let t = now();
        let existing = repo
            .check_runs
            .iter_mut()
            .rev()
            .find(|r| r.head_sha == sha && r.name == name);
        let run = match existing {
            Some(r) => r,
            None => {
                repo.check_runs.push(CheckRun {
                    id,
                    head_sha: sha.into(),
                    name: name.into(),
                    status,
                    conclusion: None,
                    started_at: None,
                    completed_at: None,
                    log: None,
                });
                repo.check_runs.last_mut().expect("just pushed")
            }
        };
        run.status = status;
        if status != RunStatus::Queued && run.started_at.is_none() {
            run.started_at = Some(t);
        }
        if status == RunStatus::Completed {
            run.conclusion = Some(conclusion.unwrap_or("success").to_string());
            run.completed_at = Some(t);
        } else {
            run.conclusion = None;
            run.completed_at = None;
        }
        if let Some(l) = log {
            run.log = Some(l.into());
        }
        Ok(run.id)
    }

    /// Posts a commit status.
    pub fn set_status(
        &mut self,
        full: &str,
        sha: &str,
        context: &str,
        state: &str,
        target_url: Option<&str>,
        description: Option<&str>,
    ) -> Result<u64, Refusal> {
        if !matches!(state, "error" | "failure" | "pending" | "success") {
            return Err(refuse(422, format!("Validation Failed: state `{state}`")));
        }
        let id = self.id();
        let repo = self.repo_mut(full)?;
        repo.statuses.push(CommitStatus {
            id,
            sha: sha.into(),
            context: context.into(),
            state: state.into(),
            target_url: target_url.map(str::to_owned),
            description: description.map(str::to_owned),
            created_at: now(),
        });
        Ok(id)
    }

    /// Submits a review; each `(path, line, body)` opens a thread. Returns the thread ids.
    pub fn review(
        &mut self,
        full: &str,
        number: u64,
        author: &str,
        state: ReviewState,
        body: &str,
        comments: &[(&str, Option<u64>, &str)],
    ) -> Result<Vec<u64>, Refusal> {
        self.sync(full);
        let review_id = self.id();
        let ids: Vec<(u64, u64)> = comments.iter().map(|_| (self.id(), self.id())).collect();
        let item = self.pull_mut(full, number)?;
        let t = now();
        let pull = item.pull.as_mut().expect("a pull");
        let actor = Actor::from_login(author);
        pull.reviews.push(Review {
            id: review_id,
            author: actor.clone(),
            state,
            body: body.into(),
            commit_id: pull.head_sha.clone(),
            submitted_at: t,
        });
        let mut threads = Vec::new();
        for ((path, line, text), (tid, cid)) in comments.iter().zip(ids) {
            pull.threads.push(Thread {
                id: tid,
                path: path.to_string(),
                line: *line,
                resolved: false,
                comments: vec![Comment {
                    id: cid,
                    author: actor.clone(),
                    body: text.to_string(),
                    created_at: t,
                }],
            });
            threads.push(tid);
        }
        item.touch();
        Ok(threads)
    }

    /// Resolves or reopens a review thread.
    pub fn resolve_thread(
        &mut self,
        full: &str,
        thread: u64,
        resolved: bool,
    ) -> Result<(), Refusal> {
        let repo = self.repo_mut(full)?;
        for item in repo.items.values_mut() {
            if let Some(p) = item.pull.as_mut()
                && let Some(t) = p.threads.iter_mut().find(|t| t.id == thread)
            {
                t.resolved = resolved;
                return Ok(());
            }
        }
        Err(refuse(404, "Not Found"))
    }

    /// Forces what `mergeable` says (`None`: computed from git).
    pub fn set_mergeable(
        &mut self,
        full: &str,
        number: u64,
        m: Option<Mergeable>,
    ) -> Result<(), Refusal> {
        let item = self.pull_mut(full, number)?;
        item.pull.as_mut().expect("a pull").mergeable_override = m;
        Ok(())
    }

    /// Protects a branch.
    pub fn protect(&mut self, full: &str, branch: &str, p: Protection) -> Result<(), Refusal> {
        self.repo_mut(full)?.protection.insert(branch.into(), p);
        Ok(())
    }

    /// The latest check run per name and the latest status per context of `sha`.
    pub(crate) fn contexts(&self, repo: &Repo, sha: &str) -> Vec<Context> {
        let mut runs: BTreeMap<&str, &CheckRun> = BTreeMap::new();
        for r in repo.check_runs.iter().filter(|r| r.head_sha == sha) {
            runs.insert(&r.name, r);
        }
        let mut statuses: BTreeMap<&str, &CommitStatus> = BTreeMap::new();
        for s in repo.statuses.iter().filter(|s| s.sha == sha) {
            statuses.insert(&s.context, s);
        }
        let mut out: Vec<Context> = runs.into_values().cloned().map(Context::Run).collect();
        out.extend(statuses.into_values().cloned().map(Context::Status));
        out
    }

    /// GitHub's `StatusCheckRollup.state`; `None` when the commit has no CI at all.
    pub(crate) fn rollup_state(contexts: &[Context]) -> Option<&'static str> {
        if contexts.is_empty() {
            return None;
        }
        let states: Vec<&str> = contexts.iter().map(Context::rollup_state).collect();
        Some(if states.contains(&"ERROR") {
            "ERROR"
        } else if states.contains(&"FAILURE") {
            "FAILURE"
        } else if states.contains(&"PENDING") {
            "PENDING"
        } else {
            "SUCCESS"
        })
    }

    /// Mergeability, merge state and review decision of an open PR, from git and reviews.
    pub(crate) fn view(&self, repo: &Repo, item: &Item) -> PullView {
        let pull = item.pull.as_ref().expect("a pull");
        let branches = self.git.branches(&repo.git_dir);
        let base_sha = branches.get(&pull.base).cloned().unwrap_or_default();
        let facts = self.git.pair(&repo.git_dir, &base_sha, &pull.head_sha);
        let protection = repo.protection.get(&pull.base);
        let mut latest: BTreeMap<&str, ReviewState> = BTreeMap::new();
        for r in &pull.reviews {
            match r.state {
                ReviewState::Approved | ReviewState::ChangesRequested => {
                    latest.insert(&r.author.login, r.state);
                }
                ReviewState::Dismissed => {
                    latest.remove(r.author.login.as_str());
                }
                ReviewState::Commented => {}
            }
        }
        let approvals = latest
            .values()
            .filter(|s| **s == ReviewState::Approved)
            .count() as u32;
        let required = protection.map_or(0, |p| p.required_approvals);
        let review_decision = if latest.values().any(|s| *s == ReviewState::ChangesRequested) {
            Some("CHANGES_REQUESTED")
        } else if required > 0 && approvals < required {
            Some("REVIEW_REQUIRED")
        } else if approvals > 0 || required > 0 {
            Some("APPROVED")
        } else {
            None
        };
        let mergeable = pull.mergeable_override.unwrap_or(if facts.clean {
            Mergeable::Mergeable
        } else {
            Mergeable::Conflicting
        });
        let contexts = self.contexts(repo, &pull.head_sha);
        let required_failing = protection.is_some_and(|p| {
            p.required_checks.iter().any(|name| {
                contexts
                    .iter()
                    .find(|c| c.name() == name)
                    .is_none_or(|c| c.rollup_state() != "SUCCESS")
            })
        });
        let review_blocks = matches!(
            review_decision,
            Some("CHANGES_REQUESTED" | "REVIEW_REQUIRED")
        ) && protection.is_some();
        let merge_state_status = if item.state != ItemState::Open {
            "UNKNOWN"
        } else if pull.draft {
            "DRAFT"
        } else if mergeable == Mergeable::Unknown {
            "UNKNOWN"
        } else if mergeable == Mergeable::Conflicting {
            "DIRTY"
        } else if required_failing || review_blocks {
            "BLOCKED"
        } else if facts.behind && protection.is_some_and(|p| p.strict) {
            "BEHIND"
        } else if matches!(
            Self::rollup_state(&contexts),
            Some("FAILURE" | "ERROR" | "PENDING")
        ) {
            "UNSTABLE"
        } else {
            "CLEAN"
        };
        PullView {
            mergeable,
            merge_state_status,
            review_decision,
            behind: facts.behind,
            additions: facts.additions,
            deletions: facts.deletions,
        }
    }

    /// Merges a PR as `PUT /repos/{o}/{r}/pulls/{n}/merge` does, or refuses as GitHub would.
    pub fn merge(
        &mut self,
        full: &str,
        number: u64,
        method: &str,
        expected_sha: Option<&str>,
        title: Option<&str>,
    ) -> Result<String, Refusal> {
        self.sync(full);
        let method = match method {
            "merge" => Method::Merge,
            "squash" => Method::Squash,
            "rebase" => Method::Rebase,
            other => {
                return Err(refuse(
                    422,
                    format!(
                        "Validation Failed: merge_method `{other}` is not one of merge, squash, rebase"
                    ),
                ));
            }
        };
        let repo = self.repo(full)?;
        let item = self.item(full, number)?;
        let pull = item.pull.as_ref().ok_or_else(|| refuse(404, "Not Found"))?;
        if item.state != ItemState::Open {
            return Err(refuse(405, "Pull Request is not mergeable"));
        }
        if expected_sha.is_some_and(|s| s != pull.head_sha) {
            return Err(refuse(
                409,
                "Head branch was modified. Review and try the merge again.",
            ));
        }
        if pull.draft {
            return Err(refuse(405, "Pull Request is still a draft"));
        }
        let view = self.view(repo, item);
        if view.mergeable != Mergeable::Mergeable {
            return Err(refuse(405, "Pull Request is not mergeable"));
        }
        if let Some(p) = repo.protection.get(&pull.base) {
            let contexts = self.contexts(repo, &pull.head_sha);
            for name in &p.required_checks {
                match contexts.iter().find(|c| c.name() == name) {
                    None => {
                        return Err(refuse(
                            405,
                            format!("Required status check \"{name}\" is expected."),
                        ));
                    }
                    Some(c) if c.rollup_state() == "PENDING" => {
                        return Err(refuse(
                            405,
                            format!("Required status check \"{name}\" is in progress."),
                        ));
                    }
                    Some(c) if c.rollup_state() != "SUCCESS" => {
                        return Err(refuse(
                            405,
                            format!("Required status check \"{name}\" is failing."),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if view.review_decision == Some("CHANGES_REQUESTED") {
                return Err(refuse(405, "Changes were requested by a reviewer."));
            }
            if view.review_decision == Some("REVIEW_REQUIRED") {
                let n = p.required_approvals;
                let s = if n == 1 { "" } else { "s" };
                return Err(refuse(
                    405,
                    format!(
                        "At least {n} approving review{s} is required by reviewers with write access."
                    ),
                ));
            }
            if p.strict && view.behind {
                return Err(refuse(
                    405,
                    "Head branch is out of date. Update it and try the merge again.",
                ));
            }
        }
        let title = title
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{} (#{number})", item.title));
        let (git_dir, base, head_sha) = (
            repo.git_dir.clone(),
            pull.base.clone(),
            pull.head_sha.clone(),
        );
        let sha = git::merge(&git_dir, &base, &head_sha, method, &title)
            .map_err(|e| refuse(405, format!("Pull Request is not mergeable: {e}")))?;
        let t = now();
        let item = self.item_mut(full, number)?;
        item.state = ItemState::Closed;
        item.closed_at = Some(t);
        item.touch();
        let pull = item.pull.as_mut().expect("a pull");
        pull.merged_at = Some(t);
        pull.merge_commit_sha = Some(sha.clone());
        Ok(sha)
    }
}

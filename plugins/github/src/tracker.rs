//! `tracker/github`: issues over REST.

use crate::client::Client;
use crate::refs::{self, Repo};
use crate::{Config, Settings};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, git::check_branch_name};
use ao_plugin_api::slots::tracker::{
    self, BranchName, Completed, CreateIssueRequest, Issue, IssueComment, IssueList, IssueRequest,
    IssueState, ListIssuesRequest, PromptContext, Tracker, UpdateIssueRequest, Url,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// Comments read per issue (the newest are what a prompt needs; the prompt builder caps size).
const MAX_COMMENTS: usize = 100;

pub struct GithubTracker {
    client: Arc<Client>,
    settings: Settings,
}

fn issue_state(v: &Value) -> IssueState {
    match (v["state"].as_str(), v["state_reason"].as_str()) {
        (Some("closed"), Some("not_planned" | "duplicate")) => IssueState::Cancelled,
        (Some("closed"), _) => IssueState::Closed,
        _ => IssueState::Open,
    }
}

fn to_issue(v: &Value, comments: Vec<IssueComment>) -> Issue {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    Issue {
        id: v["number"]
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        title: s("title"),
        body: s("body"),
        url: s("html_url"),
        state: issue_state(v),
        labels: v["labels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        assignee: v["assignees"][0]["login"]
            .as_str()
            .or(v["assignee"]["login"].as_str())
            .map(str::to_owned),
        priority: None,
        comments,
        branch_name: None,
    }
}

impl GithubTracker {
    fn target(&self, req: &IssueRequest) -> Result<(Repo, u64), SdkError> {
        let repo = Repo::parse(&req.project.repo)?;
        let (n, url_repo) = refs::number(&req.issue_id, "issue")?;
        Ok((url_repo.unwrap_or(repo), n))
    }

    /// The issue's JSON; a pull request number is refused (issues and PRs share numbers).
    fn fetch(&self, ctx: &Ctx, repo: &Repo, n: u64) -> Result<Value, SdkError> {
        let what = format!("issue #{n} in {}", repo.full());
        let got = self.client.get(
            ctx,
            &format!("/repos/{}/issues/{n}", repo.full()),
            &what,
            true,
        )?;
        if got.body.get("pull_request").is_some() {
            return Err(SdkError::InvalidParams(format!(
                "#{n} in {} is a pull request, not an issue",
                repo.full()
            )));
        }
        Ok(std::sync::Arc::unwrap_or_clone(got.body))
    }

    fn comments(
        &self,
        ctx: &Ctx,
        repo: &Repo,
        n: u64,
        count: u64,
    ) -> Result<Vec<IssueComment>, SdkError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let all = self.newest_comments(ctx, repo, n, count)?;
        Ok(all
            .iter()
            .map(|c| IssueComment {
                author: c["user"]["login"].as_str().unwrap_or("ghost").to_string(),
                body: c["body"].as_str().unwrap_or_default().to_string(),
                created_at_ms: c["created_at"].as_str().and_then(crate::facts::ms),
            })
            .collect())
    }
}

impl GithubTracker {
    /// The newest [`MAX_COMMENTS`] comments, oldest first. GitHub lists an issue's comments
    /// oldest first with no way to reverse them, so the newest are on the last pages: read
    /// from the page `count` points at, backwards by `rel="prev"`, until there are enough.
    fn newest_comments(
        &self,
        ctx: &Ctx,
        repo: &Repo,
        n: u64,
        count: u64,
    ) -> Result<Vec<Value>, SdkError> {
        let what = format!("comments of #{n}");
        let per = MAX_COMMENTS as u64;
        let base = format!("/repos/{}/issues/{n}/comments?per_page={per}", repo.full());
        let mut got = self.client.get(
            ctx,
            &format!("{base}&page={}", count.div_ceil(per).max(1)),
            &what,
            false,
        )?;
        // `count` was more than there are now (comments deleted): the real last page.
        if got.body.as_array().is_none_or(Vec::is_empty)
            && let Some(last) = got.pages.last.clone()
        {
            got = self.client.get(ctx, &last, &what, false)?;
        }
        let mut pages = vec![got.body.as_array().cloned().unwrap_or_default()];
        let mut prev = got.pages.prev.clone();
        let mut have = pages[0].len();
        while have < MAX_COMMENTS
            && let Some(url) = prev.take()
        {
            let before = self.client.get(ctx, &url, &what, false)?;
            let items = before.body.as_array().cloned().unwrap_or_default();
            have += items.len();
            pages.push(items);
            prev = before.pages.prev.clone();
        }
        let all: Vec<Value> = pages.into_iter().rev().flatten().collect();
        let skip = all.len().saturating_sub(MAX_COMMENTS);
        Ok(all.into_iter().skip(skip).collect())
    }
}

impl Tracker for GithubTracker {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        tracker::LIST_ISSUES,
        tracker::UPDATE_ISSUE,
        tracker::CREATE_ISSUE,
    ];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        let (client, settings) = crate::connect(&config, host)?;
        Ok(Self { client, settings })
    }

    fn get_issue(&self, ctx: &Ctx, req: IssueRequest) -> Result<Issue, SdkError> {
        let (repo, n) = self.target(&req)?;
        let v = self.fetch(ctx, &repo, n)?;
        let comments = self.comments(ctx, &repo, n, v["comments"].as_u64().unwrap_or(1))?;
        Ok(to_issue(&v, comments))
    }

    fn is_completed(&self, ctx: &Ctx, req: IssueRequest) -> Result<Completed, SdkError> {
        let (repo, n) = self.target(&req)?;
        let v = self.fetch(ctx, &repo, n)?;
        Ok(Completed {
            completed: matches!(issue_state(&v), IssueState::Closed | IssueState::Cancelled),
        })
    }

    fn issue_url(&self, _ctx: &Ctx, req: IssueRequest) -> Result<Url, SdkError> {
        let (repo, n) = self.target(&req)?;
        Ok(Url {
            url: format!("{}/{}/issues/{n}", self.settings.web_url, repo.full()),
        })
    }

    fn branch_name(&self, ctx: &Ctx, req: IssueRequest) -> Result<BranchName, SdkError> {
        let (repo, n) = self.target(&req)?;
        let v = self.fetch(ctx, &repo, n)?;
        let branch = refs::branch_for(
            &self.settings.branch_prefix,
            n,
            v["title"].as_str().unwrap_or(""),
        );
        check_branch_name(&branch).map_err(SdkError::InvalidConfig)?;
        Ok(BranchName { branch })
    }

    fn prompt_context(&self, ctx: &Ctx, req: IssueRequest) -> Result<PromptContext, SdkError> {
        let issue = self.get_issue(ctx, req)?;
        let mut text = format!("# Issue #{}: {}\n\n{}\n", issue.id, issue.title, issue.url);
        if !issue.labels.is_empty() {
            text.push_str(&format!("Labels: {}\n", issue.labels.join(", ")));
        }
        text.push_str("\n## Description\n\n");
        text.push_str(if issue.body.trim().is_empty() {
            "(no description)"
        } else {
            issue.body.trim()
        });
        text.push('\n');
        if !issue.comments.is_empty() {
            text.push_str("\n## Comments\n");
            for c in &issue.comments {
                text.push_str(&format!("\n**{}**:\n{}\n", c.author, c.body.trim()));
            }
        }
        Ok(PromptContext { text })
    }

    fn list_issues(&self, ctx: &Ctx, req: ListIssuesRequest) -> Result<IssueList, SdkError> {
        let repo = Repo::parse(&req.project.repo)?;
        let f = &req.filters;
        let state = f.state.as_deref().unwrap_or("open");
        if !matches!(state, "open" | "closed" | "all") {
            return Err(SdkError::InvalidParams(format!(
                "issue state `{state}` is not one of open, closed, all"
            )));
        }
        let mut path = format!("/repos/{}/issues?state={state}&per_page=100", repo.full());
        if !f.labels.is_empty() {
            path.push_str(&format!(
                "&labels={}",
                refs::escape(&f.labels.join(","), b",")
            ));
        }
        if let Some(a) = &f.assignee {
            path.push_str(&format!("&assignee={}", refs::escape(a, b"")));
        }
        let limit = f.limit.unwrap_or(100).clamp(1, 1000) as usize;
        // Pull requests come back from /issues too; read a little more to fill the limit.
        let all =
            self.client
                .get_all(ctx, &path, &format!("issues of {}", repo.full()), limit * 2)?;
        let issues = all
            .iter()
            .filter(|v| v.get("pull_request").is_none())
            .take(limit)
            .map(|v| to_issue(v, Vec::new()))
            .collect();
        Ok(IssueList { issues })
    }

    fn update_issue(&self, ctx: &Ctx, req: UpdateIssueRequest) -> Result<(), SdkError> {
        let repo = Repo::parse(&req.project.repo)?;
        let (n, url_repo) = refs::number(&req.issue_id, "issue")?;
        let repo = url_repo.unwrap_or(repo);
        let base = format!("/repos/{}/issues/{n}", repo.full());
        let what = format!("an update of issue #{n} in {}", repo.full());
        let u = &req.update;
        let mut patch = serde_json::Map::new();
        match u.state {
            Some(IssueState::Closed) => {
                patch.insert("state".into(), json!("closed"));
                patch.insert("state_reason".into(), json!("completed"));
            }
            Some(IssueState::Cancelled) => {
                patch.insert("state".into(), json!("closed"));
                patch.insert("state_reason".into(), json!("not_planned"));
            }
            Some(IssueState::Open) => {
                patch.insert("state".into(), json!("open"));
            }
            // GitHub has no "in progress"; a label says it, if the caller adds one.
            Some(IssueState::InProgress) | None => {}
        }
        if let Some(a) = &u.assignee {
            patch.insert("assignees".into(), json!([a]));
        }
        if !patch.is_empty() {
            self.client
                .send_ok(ctx, "PATCH", &base, Some(&Value::Object(patch)), &what)?;
        }
        if !u.add_labels.is_empty() {
            self.client.send_ok(
                ctx,
                "POST",
                &format!("{base}/labels"),
                Some(&json!({ "labels": u.add_labels })),
                &what,
            )?;
        }
        for label in &u.remove_labels {
            let (status, body) = self.client.send(
                ctx,
                "DELETE",
                &format!("{base}/labels/{}", refs::escape(label, b"")),
                None,
            )?;
            // Already absent is what was asked for.
            if !(200..300).contains(&status) && status != 404 {
                return Err(SdkError::Unavailable(format!(
                    "GitHub answered {status} removing label `{label}`: {}",
                    body["message"].as_str().unwrap_or("")
                )));
            }
        }
        if let Some(c) = u.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            self.client.send_ok(
                ctx,
                "POST",
                &format!("{base}/comments"),
                Some(&json!({ "body": c })),
                &what,
            )?;
        }
        Ok(())
    }

    fn create_issue(&self, ctx: &Ctx, req: CreateIssueRequest) -> Result<Issue, SdkError> {
        let repo = Repo::parse(&req.project.repo)?;
        if req.title.trim().is_empty() {
            return Err(SdkError::InvalidParams("an issue needs a title".into()));
        }
        let mut body = json!({ "title": req.title, "body": req.body, "labels": req.labels });
        if let Some(a) = &req.assignee {
            body["assignees"] = json!([a]);
        }
        let v = self.client.send_ok(
            ctx,
            "POST",
            &format!("/repos/{}/issues", repo.full()),
            Some(&body),
            &format!("a new issue in {}", repo.full()),
        )?;
        Ok(to_issue(&v, Vec::new()))
    }
}

//! REST representations, with GitHub's field names (a subset of each object's fields).

use super::model::*;
use super::world::{Context, World};
use serde_json::{Value, json};

/// RFC 3339 in UTC, seconds precision, as GitHub writes times.
pub(crate) fn iso(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

fn opt_iso(secs: Option<u64>) -> Value {
    secs.map_or(Value::Null, |s| Value::String(iso(s)))
}

pub(crate) fn user(a: &Actor) -> Value {
    json!({
        "login": a.login,
        "type": if a.is_bot { "Bot" } else { "User" },
    })
}

fn html(w: &World, repo: &Repo, tail: &str) -> String {
    format!("{}/{}/{}", w.base_url, repo.full_name(), tail)
}

fn api(w: &World, repo: &Repo, tail: &str) -> String {
    format!("{}/repos/{}/{}", w.base_url, repo.full_name(), tail)
}

pub(crate) fn repository(w: &World, repo: &Repo) -> Value {
    json!({
        "name": repo.name,
        "full_name": repo.full_name(),
        "owner": { "login": repo.owner },
        "private": repo.private,
        "default_branch": repo.default_branch,
        "html_url": format!("{}/{}", w.base_url, repo.full_name()),
        "url": format!("{}/repos/{}", w.base_url, repo.full_name()),
    })
}

pub(crate) fn issue(w: &World, repo: &Repo, i: &Item) -> Value {
    let kind = if i.pull.is_some() { "pull" } else { "issues" };
    let mut v = json!({
        "id": i.id,
        "node_id": format!("I_{}", i.id),
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "state_reason": i.state_reason,
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "assignee": i.assignees.first().map(|a| json!({"login": a})),
        "assignees": i.assignees.iter().map(|a| json!({"login": a})).collect::<Vec<_>>(),
        "user": user(&i.author),
        "comments": i.comments.len(),
        "html_url": html(w, repo, &format!("{kind}/{}", i.number)),
        "url": api(w, repo, &format!("issues/{}", i.number)),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "closed_at": opt_iso(i.closed_at),
    });
    if i.pull.is_some() {
        v["pull_request"] = json!({
            "url": api(w, repo, &format!("pulls/{}", i.number)),
            "html_url": html(w, repo, &format!("pull/{}", i.number)),
        });
    }
    v
}

pub(crate) fn comment(w: &World, repo: &Repo, number: u64, c: &Comment) -> Value {
    json!({
        "id": c.id,
        "body": c.body,
        "user": user(&c.author),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.created_at),
        "html_url": html(w, repo, &format!("issues/{number}#issuecomment-{}", c.id)),
    })
}

/// A pull request; `detail` adds what only `GET /pulls/{n}` returns (mergeability, sizes).
pub(crate) fn pull(w: &World, repo: &Repo, i: &Item, detail: bool) -> Value {
    let p = i.pull.as_ref().expect("a pull");
    let branches = w.git.branches(&repo.git_dir);
    let side = |branch: &str, sha: &str| {
        json!({
            "ref": branch,
            "sha": sha,
            "label": format!("{}:{branch}", repo.owner),
            "repo": { "full_name": repo.full_name(), "name": repo.name, "owner": {"login": repo.owner} },
        })
    };
    let mut v = json!({
        "id": i.id,
        "node_id": format!("PR_{}", i.id),
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "draft": p.draft,
        "user": user(&i.author),
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "head": side(&p.head, &p.head_sha),
        "base": side(&p.base, branches.get(&p.base).map_or("", String::as_str)),
        "html_url": html(w, repo, &format!("pull/{}", i.number)),
        "url": api(w, repo, &format!("pulls/{}", i.number)),
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "closed_at": opt_iso(i.closed_at),
        "merged_at": opt_iso(p.merged_at),
        "merge_commit_sha": p.merge_commit_sha,
    });
    if detail {
        let view = w.view(repo, i);
        v["merged"] = json!(p.merged_at.is_some());
        v["mergeable"] = match view.mergeable {
            Mergeable::Unknown => Value::Null,
            m => json!(m == Mergeable::Mergeable),
        };
        v["mergeable_state"] = json!(view.merge_state_status.to_lowercase());
        v["additions"] = json!(view.additions);
        v["deletions"] = json!(view.deletions);
        v["comments"] = json!(i.comments.len());
        v["review_comments"] = json!(p.threads.iter().map(|t| t.comments.len()).sum::<usize>());
    }
    v
}

pub(crate) fn check_run(w: &World, repo: &Repo, r: &CheckRun) -> Value {
    let job = format!(
        "{}/{}/actions/runs/{}/job/{}",
        w.base_url,
        repo.full_name(),
        r.id,
        r.id
    );
    json!({
        "id": r.id,
        "name": r.name,
        "head_sha": r.head_sha,
        "status": r.status,
        "conclusion": r.conclusion,
        "started_at": opt_iso(r.started_at),
        "completed_at": opt_iso(r.completed_at),
        "details_url": job,
        "html_url": job,
        "app": { "slug": "github-actions" },
    })
}

pub(crate) fn status(s: &CommitStatus) -> Value {
    json!({
        "id": s.id,
        "context": s.context,
        "state": s.state,
        "target_url": s.target_url,
        "description": s.description,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.created_at),
    })
}

/// `GET /commits/{ref}/status`: the latest status per context and their combination.
pub(crate) fn combined_status(contexts: &[Context], sha: &str) -> Value {
    let statuses: Vec<&CommitStatus> = contexts
        .iter()
        .filter_map(|c| match c {
            Context::Status(s) => Some(s),
            Context::Run(_) => None,
        })
        .collect();
    let state = if statuses
        .iter()
        .any(|s| matches!(s.state.as_str(), "error" | "failure"))
    {
        "failure"
    } else if statuses.is_empty() || statuses.iter().any(|s| s.state == "pending") {
        "pending"
    } else {
        "success"
    };
    json!({
        "state": state,
        "sha": sha,
        "total_count": statuses.len(),
        "statuses": statuses.iter().map(|s| status(s)).collect::<Vec<_>>(),
    })
}

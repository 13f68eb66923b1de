//! The REST endpoints the GitHub plugin and agents use, routed by hand from the path (the
//! same table serves `/` and GitHub Enterprise's `/api/v3`).

use super::model::{ItemState, RunStatus};
use super::rest_json as j;
use super::server::{self, App, Call, Reply, Resource};
use super::world::{NewPull, Refusal, World, refuse};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Decodes `%XX` and `+` in a query or path part.
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Every REST request lands here.
pub(crate) async fn handle(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    let path = path.strip_prefix("/api/v3").unwrap_or(path);
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if let ["_sim", "logs", owner, name, id] = segs.as_slice() {
        return job_log(&app, &headers, &format!("{owner}/{name}"), id);
    }
    let route = route_name(&method, &segs);
    let q = query(&uri);
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"message": "Problems parsing JSON"})),
                )
                    .into_response();
            }
        }
    };
    let mut w = app.world();
    let call = match server::admit(&mut w, &route, &headers, Resource::Core) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let get = method == Method::GET;
    // `/repositories/{id}/…` is `/repos/{owner}/{name}/…` by id; an old name moves there.
    let mut segs: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
    if let [first, id, ..] = segs.as_slice()
        && first == "repositories"
    {
        let Some(full) = id.parse().ok().and_then(|id| w.full_name_of(id)) else {
            return server::finish(&mut w, &call, get, &headers, Err(refuse(404, "Not Found")));
        };
        let (owner, name) = full.split_once('/').unwrap_or_default();
        segs.splice(0..2, ["repos".to_string(), owner.into(), name.into()]);
    } else if let [first, owner, name, rest @ ..] = segs.as_slice()
        && first == "repos"
        && !w.repos.contains_key(&format!("{owner}/{name}"))
        && let Some(id) = w.moved.get(&format!("{owner}/{name}"))
    {
        let mut location = format!("{}/repositories/{id}", w.base_url);
        for s in rest {
            location.push('/');
            location.push_str(s);
        }
        if let Some(q) = uri.query() {
            location.push('?');
            location.push_str(q);
        }
        let mut reply = Reply::ok(json!({
            "message": "Moved Permanently",
            "url": location,
            "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
        }));
        reply.status = StatusCode::MOVED_PERMANENTLY;
        reply.headers.push(("location".into(), location));
        return server::finish(&mut w, &call, false, &headers, Ok(reply));
    }
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let result = dispatch(&mut w, &call, &method, &segs, &q, &body);
    server::finish(&mut w, &call, get, &headers, result)
}

/// `GET /repos/{owner}/{repo}/pulls`-style names, for the counters.
fn route_name(method: &Method, segs: &[&str]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        let generic = match (segs.first(), i) {
            (Some(&"repos"), 1) => Some("{owner}"),
            (Some(&"repos"), 2) => Some("{repo}"),
            _ if s.chars().all(|c| c.is_ascii_digit()) => Some("{n}"),
            _ if s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit()) => Some("{sha}"),
            _ => None,
        };
        out.push_str(generic.unwrap_or(s));
    }
    format!("{method} {out}")
}

fn num(s: &str) -> Result<u64, Refusal> {
    s.parse().map_err(|_| refuse(404, "Not Found"))
}

fn s<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn strings(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Pages a list as GitHub does (`per_page` ≤ 100, default 30) with a `Link` header.
fn page(items: Vec<Value>, q: &BTreeMap<String, String>, base: &str, path: &str) -> Reply {
    let per = q
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let pg = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per).max(1);
    let slice: Vec<Value> = items.into_iter().skip((pg - 1) * per).take(per).collect();
    let mut reply = Reply::ok(Value::Array(slice));
    let link_to = |p: usize| {
        let mut params: Vec<String> = q
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        params.push(format!("page={p}"));
        format!("<{base}{path}?{}>", params.join("&"))
    };
    let mut links = Vec::new();
    if pg < last {
        links.push(format!("{}; rel=\"next\"", link_to(pg + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if pg > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(pg - 1)));
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    if !links.is_empty() {
        reply.headers.push(("link".into(), links.join(", ")));
    }
    reply
}

/// Visibility and write permission for a repository, as GitHub judges a classic token.
fn check_repo(w: &World, call: &Call, full: &str, write: bool) -> Result<(), Refusal> {
    let repo = w.repo(full)?;
    if repo.private && !call.can_see_private() {
        return Err(refuse(404, "Not Found"));
    }
    if write && !call.can_write() {
        return Err(refuse(
            403,
            "Resource not accessible by personal access token",
        ));
    }
    Ok(())
}

fn dispatch(
    w: &mut World,
    call: &Call,
    method: &Method,
    segs: &[&str],
    q: &BTreeMap<String, String>,
    body: &Value,
) -> Result<Reply, Refusal> {
    let m = method.as_str();
    if segs == ["rate_limit"] && m == "GET" && w.unlimited {
        let mut reply = Reply::ok(json!({
            "message": "Rate limiting is not enabled.",
            "documentation_url": "https://docs.github.com/enterprise-server/rest",
        }));
        reply.status = StatusCode::NOT_FOUND;
        reply.free = true;
        return Ok(reply);
    }
    if segs == ["rate_limit"] && m == "GET" {
        let b = |b: &super::world::Budget| json!({"limit": b.limit, "remaining": b.remaining(), "used": b.used, "reset": b.reset_at});
        let mut reply = Reply::ok(json!({
            "resources": { "core": b(&w.core), "graphql": b(&w.graphql) },
            "rate": b(&w.core),
        }));
        // Free, as on GitHub.
        reply.free = true;
        return Ok(reply);
    }
    let ["repos", owner, name, rest @ ..] = segs else {
        return Err(refuse(404, "Not Found"));
    };
    let full = format!("{owner}/{name}");
    let write = m != "GET";
    check_repo(w, call, &full, write)?;
    w.sync(&full);
    let base = w.base_url.clone();
    let prefix = format!("/repos/{full}");
    match (m, rest) {
        ("GET", []) => Ok(Reply::ok(j::repository(w, w.repo(&full)?))),
        ("GET", ["issues"]) => {
            let repo = w.repo(&full)?;
            let state = q.get("state").map_or("open", String::as_str);
            let labels: Vec<&str> = q
                .get("labels")
                .map(|l| l.split(',').filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            let mut items: Vec<_> = repo
                .items
                .values()
                .filter(|i| match state {
                    "all" => true,
                    "closed" => i.state == ItemState::Closed,
                    _ => i.state == ItemState::Open,
                })
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|x| x == l)))
                .filter(|i| {
                    q.get("assignee")
                        .is_none_or(|a| a == "*" || i.assignees.contains(a))
                })
                .collect();
            // Newest first, as GitHub's default `sort=created&direction=desc`.
            items.sort_by_key(|i| std::cmp::Reverse(i.number));
            let items = items.into_iter().map(|i| j::issue(w, repo, i)).collect();
            Ok(page(items, q, &base, &format!("{prefix}/issues")))
        }
        ("POST", ["issues"]) => {
            let title = s(body, "title").unwrap_or("");
            let n = w.create_issue(&full, title, s(body, "body").unwrap_or(""), &[], "ao-bot")?;
            let item = w.item_mut(&full, n)?;
            item.labels = strings(body, "labels");
            item.assignees = strings(body, "assignees");
            let repo = w.repo(&full)?;
            Ok(Reply::created(j::issue(w, repo, w.item(&full, n)?)))
        }
        ("GET", ["issues", n]) => {
            let repo = w.repo(&full)?;
            Ok(Reply::ok(j::issue(w, repo, w.item(&full, num(n)?)?)))
        }
        ("PATCH", ["issues", n]) | ("PATCH", ["pulls", n]) => {
            let n = num(n)?;
            let item = w.item_mut(&full, n)?;
            if let Some(state) = s(body, "state") {
                match state {
                    "closed" => {
                        item.state = ItemState::Closed;
                        item.closed_at = Some(super::world::now());
                        item.state_reason =
                            Some(s(body, "state_reason").unwrap_or("completed").to_string());
                    }
                    "open" => {
                        if item.pull.as_ref().is_some_and(|p| p.merged_at.is_some()) {
                            return Err(refuse(
                                422,
                                "Validation Failed: state cannot be changed. The pull request has been merged.",
                            ));
                        }
                        item.state = ItemState::Open;
                        item.closed_at = None;
                        item.state_reason = Some("reopened".into());
                    }
                    other => {
                        return Err(refuse(422, format!("Validation Failed: state `{other}`")));
                    }
                }
            }
            if let Some(t) = s(body, "title") {
                item.title = t.into();
            }
            if let Some(b) = s(body, "body") {
                item.body = b.into();
            }
            if body.get("assignees").is_some() {
                item.assignees = strings(body, "assignees");
            }
            if body.get("labels").is_some() {
                item.labels = strings(body, "labels");
            }
            item.touch();
            let repo = w.repo(&full)?;
            let item = w.item(&full, n)?;
            Ok(Reply::ok(if rest[0] == "pulls" {
                j::pull(w, repo, item, true)
            } else {
                j::issue(w, repo, item)
            }))
        }
        ("GET", ["issues", n, "comments"]) => {
            let n = num(n)?;
            let repo = w.repo(&full)?;
            let item = w.item(&full, n)?;
            let items = item
                .comments
                .iter()
                .map(|c| j::comment(w, repo, n, c))
                .collect();
            Ok(page(
                items,
                q,
                &base,
                &format!("{prefix}/issues/{n}/comments"),
            ))
        }
        ("POST", ["issues", n, "comments"]) => {
            let n = num(n)?;
            let id = w.comment(&full, n, "ao-bot", s(body, "body").unwrap_or(""))?;
            let repo = w.repo(&full)?;
            let c = w
                .item(&full, n)?
                .comments
                .iter()
                .find(|c| c.id == id)
                .expect("just added");
            Ok(Reply::created(j::comment(w, repo, n, c)))
        }
        ("POST", ["issues", n, "labels"]) => {
            let n = num(n)?;
            let item = w.item_mut(&full, n)?;
            for l in strings(body, "labels") {
                if !item.labels.contains(&l) {
                    item.labels.push(l);
                }
            }
            item.touch();
            let labels: Vec<Value> = item.labels.iter().map(|l| json!({"name": l})).collect();
            Ok(Reply::ok(Value::Array(labels)))
        }
        ("DELETE", ["issues", n, "labels", label]) => {
            let n = num(n)?;
            let label = decode(label);
            let item = w.item_mut(&full, n)?;
            let before = item.labels.len();
            item.labels.retain(|l| *l != label);
            if item.labels.len() == before {
                return Err(refuse(404, "Label does not exist"));
            }
            item.touch();
            let labels: Vec<Value> = item.labels.iter().map(|l| json!({"name": l})).collect();
            Ok(Reply::ok(Value::Array(labels)))
        }
        ("GET", ["pulls"]) => {
            let repo = w.repo(&full)?;
            let state = q.get("state").map_or("open", String::as_str);
            let head = q
                .get("head")
                .map(|h| h.split_once(':').map_or(h.as_str(), |(_, b)| b).to_string());
            let mut items: Vec<_> = repo
                .items
                .values()
                .filter(|i| i.pull.is_some())
                .filter(|i| match state {
                    "all" => true,
                    "closed" => i.state == ItemState::Closed,
                    _ => i.state == ItemState::Open,
                })
                .filter(|i| {
                    head.as_ref()
                        .is_none_or(|h| i.pull.as_ref().is_some_and(|p| p.head == *h))
                })
                .filter(|i| {
                    q.get("base")
                        .is_none_or(|b| i.pull.as_ref().is_some_and(|p| p.base == *b))
                })
                .collect();
            let desc = q.get("direction").is_none_or(|d| d == "desc");
            match q.get("sort").map(String::as_str) {
                Some("updated") => items.sort_by_key(|i| (i.updated_at, i.rev, i.number)),
                _ => items.sort_by_key(|i| i.number),
            }
            if desc {
                items.reverse();
            }
            let revs: String = items
                .iter()
                .map(|i| format!("{}:{},", i.number, i.rev))
                .collect();
            let items = items
                .into_iter()
                .map(|i| j::pull(w, repo, i, false))
                .collect();
            let mut reply = page(items, q, &base, &format!("{prefix}/pulls"));
            reply.etag_extra = Some(revs);
            Ok(reply)
        }
        ("POST", ["pulls"]) => {
            let new = NewPull {
                head: s(body, "head")
                    .map(|h| h.split_once(':').map_or(h, |(_, b)| b))
                    .unwrap_or(""),
                base: s(body, "base").unwrap_or(""),
                title: s(body, "title").unwrap_or(""),
                body: s(body, "body").unwrap_or(""),
                draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false),
                author: "ao-bot",
            };
            let n = w.create_pull(&full, new)?;
            let repo = w.repo(&full)?;
            Ok(Reply::created(j::pull(w, repo, w.item(&full, n)?, true)))
        }
        ("GET", ["pulls", n]) => {
            let repo = w.repo(&full)?;
            let item = w.item(&full, num(n)?)?;
            if item.pull.is_none() {
                return Err(refuse(404, "Not Found"));
            }
            let mut reply = Reply::ok(j::pull(w, repo, item, true));
            reply.etag_extra = Some(item.rev.to_string());
            Ok(reply)
        }
        ("PUT", ["pulls", n, "merge"]) => {
            let sha = w.merge(
                &full,
                num(n)?,
                s(body, "merge_method").unwrap_or("merge"),
                s(body, "sha"),
                s(body, "commit_title"),
            )?;
            Ok(Reply::ok(json!({
                "sha": sha, "merged": true, "message": "Pull Request successfully merged",
            })))
        }
        ("GET", ["commits", r, "check-runs"]) => {
            let sha = resolve_ref(w, &full, r)?;
            let repo = w.repo(&full)?;
            let mut runs: Vec<_> = repo
                .check_runs
                .iter()
                .filter(|c| c.head_sha == sha)
                .collect();
            runs.sort_by_key(|c| std::cmp::Reverse(c.id));
            let total = runs.len();
            let all: Vec<Value> = runs.iter().map(|c| j::check_run(w, repo, c)).collect();
            let mut reply = page(all, q, &base, &format!("{prefix}/commits/{r}/check-runs"));
            reply.body = json!({"total_count": total, "check_runs": reply.body});
            Ok(reply)
        }
        ("GET", ["commits", r, "status"]) => {
            let sha = resolve_ref(w, &full, r)?;
            let repo = w.repo(&full)?;
            // The combination is over every context; the list is paged like any other.
            let mut all = j::combined_status(&w.contexts(repo, &sha), &sha);
            let statuses = all["statuses"]
                .take()
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut reply = page(statuses, q, &base, &format!("{prefix}/commits/{r}/status"));
            all["statuses"] = reply.body.take();
            reply.body = all;
            Ok(reply)
        }
        ("POST", ["statuses", sha]) => {
            let id = w.set_status(
                &full,
                sha,
                s(body, "context").unwrap_or("default"),
                s(body, "state").unwrap_or(""),
                s(body, "target_url"),
                s(body, "description"),
            )?;
            let repo = w.repo(&full)?;
            let st = repo
                .statuses
                .iter()
                .find(|x| x.id == id)
                .expect("just added");
            Ok(Reply::created(j::status(st)))
        }
        ("POST", ["check-runs"]) => {
            let status = match s(body, "status").unwrap_or("queued") {
                "in_progress" => RunStatus::InProgress,
                "completed" => RunStatus::Completed,
                _ => RunStatus::Queued,
            };
            let id = w.set_check(
                &full,
                s(body, "head_sha").unwrap_or(""),
                s(body, "name").unwrap_or(""),
                status,
                s(body, "conclusion"),
                None,
            )?;
            let repo = w.repo(&full)?;
            let run = repo
                .check_runs
                .iter()
                .find(|c| c.id == id)
                .expect("just set");
            Ok(Reply::created(j::check_run(w, repo, run)))
        }
        ("GET", ["git", "ref", "heads", branch @ ..]) => {
            let branch = branch
                .iter()
                .map(|b| decode(b))
                .collect::<Vec<_>>()
                .join("/");
            let repo = w.repo(&full)?;
            let sha = w
                .git
                .branches(&repo.git_dir)
                .get(&branch)
                .cloned()
                .ok_or_else(|| refuse(404, "Not Found"))?;
            Ok(Reply::ok(json!({
                "ref": format!("refs/heads/{branch}"),
                "object": { "sha": sha, "type": "commit" },
            })))
        }
        ("GET", ["actions", "jobs", id, "logs"]) => {
            let id = num(id)?;
            let repo = w.repo(&full)?;
            if !repo
                .check_runs
                .iter()
                .any(|c| c.id == id && c.log.is_some())
            {
                return Err(refuse(404, "Not Found"));
            }
            // GitHub answers with a redirect to short-lived storage on another host that
            // takes no token ("localhost" is another host than the API's "127.0.0.1").
            let mut reply = Reply::ok(Value::Null);
            reply.status = StatusCode::FOUND;
            let storage = base.replacen("127.0.0.1", "localhost", 1);
            reply.headers.push((
                "location".into(),
                format!("{storage}/_sim/logs/{full}/{id}"),
            ));
            Ok(reply)
        }
        _ => Err(refuse(404, "Not Found")),
    }
}

/// A commit sha or a branch name to a commit sha.
fn resolve_ref(w: &World, full: &str, r: &str) -> Result<String, Refusal> {
    if r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(r.to_string());
    }
    let repo = w.repo(full)?;
    w.git
        .branches(&repo.git_dir)
        .get(&decode(r))
        .cloned()
        .ok_or_else(|| refuse(422, format!("No commit found for SHA: {r}")))
}

fn job_log(app: &App, headers: &HeaderMap, full: &str, id: &str) -> Response {
    // Signed storage URLs refuse credentials they did not ask for; a client that forwards
    // its GitHub token to another host fails here.
    if headers.contains_key("authorization") {
        return (
            StatusCode::BAD_REQUEST,
            "this signed URL takes no Authorization header",
        )
            .into_response();
    }
    let w = app.world();
    let log = id.parse::<u64>().ok().and_then(|id| {
        w.repos
            .get(full)?
            .check_runs
            .iter()
            .find(|c| c.id == id)?
            .log
            .clone()
    });
    match log {
        Some(l) => (StatusCode::OK, [("content-type", "text/plain")], l).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

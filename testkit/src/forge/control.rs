//! `POST /_sim/<command>` with a JSON body: how a test in another process (or a script, or
//! the demo) scripts the forge. In-process tests call [`super::ForgeSim`] directly.

use super::model::{Mergeable, Protection, ReviewState, RunStatus};
use super::server::App;
use super::world::{NewPull, Refusal, World, refuse};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn s<'a>(v: &'a Value, k: &str) -> Result<&'a str, Refusal> {
    v.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| refuse(400, format!("`{k}` is required")))
}

fn n(v: &Value, k: &str) -> Result<u64, Refusal> {
    v.get(k)
        .and_then(Value::as_u64)
        .ok_or_else(|| refuse(400, format!("`{k}` (a number) is required")))
}

fn opt<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// The commit a command is about: `sha`, or the head of PR `pr`.
fn sha(w: &mut World, repo: &str, v: &Value) -> Result<String, Refusal> {
    match (opt(v, "sha"), v.get("pr").and_then(Value::as_u64)) {
        (Some(sha), _) => Ok(sha.to_string()),
        (None, Some(pr)) => w.head_sha(repo, pr),
        (None, None) => Err(refuse(400, "`sha` or `pr` is required")),
    }
}

pub(crate) async fn handle(
    State(app): State<App>,
    Path(cmd): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("bad JSON: {e}")).into_response(),
        }
    };
    let mut w = app.world();
    match run(&mut w, &cmd, &v) {
        Ok(out) => axum::Json(out).into_response(),
        Err(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({"message": r.message})),
        )
            .into_response(),
    }
}

fn run(w: &mut World, cmd: &str, v: &Value) -> Result<Value, Refusal> {
    let repo = || s(v, "repo");
    Ok(match cmd {
        "repo" => {
            let private = v.get("private").and_then(Value::as_bool).unwrap_or(false);
            let git_dir = match opt(v, "path") {
                Some(p) => {
                    w.add_repo_at(repo()?, std::path::Path::new(p), private)?;
                    std::path::PathBuf::from(p)
                }
                None => w.add_repo(repo()?, private)?,
            };
            json!({"git_dir": git_dir})
        }
        "issue" => {
            let labels: Vec<&str> = v
                .get("labels")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let number = w.create_issue(
                repo()?,
                s(v, "title")?,
                opt(v, "body").unwrap_or(""),
                &labels,
                opt(v, "author").unwrap_or("octocat"),
            )?;
            json!({"number": number})
        }
        "comment" => {
            let id = w.comment(
                repo()?,
                n(v, "number")?,
                opt(v, "author").unwrap_or("octocat"),
                s(v, "body")?,
            )?;
            json!({"id": id})
        }
        "pull" => {
            let number = w.create_pull(
                repo()?,
                NewPull {
                    head: s(v, "head")?,
                    base: opt(v, "base").unwrap_or("main"),
                    title: s(v, "title")?,
                    body: opt(v, "body").unwrap_or(""),
                    draft: v.get("draft").and_then(Value::as_bool).unwrap_or(false),
                    author: opt(v, "author").unwrap_or("octocat"),
                },
            )?;
            json!({"number": number})
        }
        "check" => {
            let status = match opt(v, "status").unwrap_or("completed") {
                "queued" => RunStatus::Queued,
                "in_progress" => RunStatus::InProgress,
                "completed" => RunStatus::Completed,
                other => return Err(refuse(400, format!("unknown check status `{other}`"))),
            };
            let sha = sha(w, repo()?, v)?;
            let id = w.set_check(
                repo()?,
                &sha,
                s(v, "name")?,
                status,
                opt(v, "conclusion"),
                opt(v, "log"),
            )?;
            json!({"id": id, "sha": sha})
        }
        "status" => {
            let sha = sha(w, repo()?, v)?;
            let id = w.set_status(
                repo()?,
                &sha,
                s(v, "context")?,
                s(v, "state")?,
                opt(v, "target_url"),
                opt(v, "description"),
            )?;
            json!({"id": id, "sha": sha})
        }
        "review" => {
            let state = match s(v, "state")? {
                "APPROVED" => ReviewState::Approved,
                "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
                "COMMENTED" => ReviewState::Commented,
                "DISMISSED" => ReviewState::Dismissed,
                other => return Err(refuse(400, format!("unknown review state `{other}`"))),
            };
            let comments: Vec<(String, Option<u64>, String)> = v
                .get("comments")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            (
                                opt(c, "path").unwrap_or("").to_string(),
                                c.get("line").and_then(Value::as_u64),
                                opt(c, "body").unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let refs: Vec<(&str, Option<u64>, &str)> = comments
                .iter()
                .map(|(p, l, b)| (p.as_str(), *l, b.as_str()))
                .collect();
            let threads = w.review(
                repo()?,
                n(v, "pr")?,
                opt(v, "author").unwrap_or("reviewer"),
                state,
                opt(v, "body").unwrap_or(""),
                &refs,
            )?;
            json!({"threads": threads})
        }
        "resolve" => {
            let resolved = v.get("resolved").and_then(Value::as_bool).unwrap_or(true);
            w.resolve_thread(repo()?, n(v, "thread")?, resolved)?;
            json!({})
        }
        "mergeable" => {
            let m = match opt(v, "value") {
                None => None,
                Some("MERGEABLE") => Some(Mergeable::Mergeable),
                Some("CONFLICTING") => Some(Mergeable::Conflicting),
                Some("UNKNOWN") => Some(Mergeable::Unknown),
                Some(other) => return Err(refuse(400, format!("unknown mergeable `{other}`"))),
            };
            w.set_mergeable(repo()?, n(v, "pr")?, m)?;
            json!({})
        }
        "protect" => {
            let p: Protection =
                serde_json::from_value(v.get("rules").cloned().unwrap_or(json!({})))
                    .map_err(|e| refuse(400, e.to_string()))?;
            w.protect(repo()?, s(v, "branch")?, p)?;
            json!({})
        }
        "budget" => {
            let b = match opt(v, "resource").unwrap_or("core") {
                "graphql" => &mut w.graphql,
                _ => &mut w.core,
            };
            if let Some(l) = v.get("limit").and_then(Value::as_u64) {
                b.limit = l;
            }
            if let Some(r) = v.get("remaining").and_then(Value::as_u64) {
                b.used = b.limit.saturating_sub(r);
            }
            if let Some(s) = v.get("reset_in_s").and_then(Value::as_u64) {
                b.reset_at = super::world::now() + s;
            }
            serde_json::to_value(&*b).unwrap_or_default()
        }
        "secondary" => {
            w.faults.secondary = Some((
                n(v, "count").unwrap_or(1) as u32,
                n(v, "retry_after_s").unwrap_or(60),
                n(v, "status").unwrap_or(403) as u16,
            ));
            json!({})
        }
        "fail" => {
            w.faults.server_errors = n(v, "count").unwrap_or(1) as u32;
            json!({})
        }
        "token" => {
            let scopes = v
                .get("scopes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            w.tokens.insert(s(v, "token")?.to_string(), scopes);
            json!({})
        }
        "backdate" => {
            w.backdate(n(v, "secs")?);
            json!({})
        }
        "counters" => serde_json::to_value(&w.counters).unwrap_or_default(),
        "reset-counters" => {
            w.counters = Default::default();
            json!({})
        }
        other => return Err(refuse(404, format!("unknown command `{other}`"))),
    })
}

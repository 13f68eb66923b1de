//! The dashboard's JSON API under `/api/` (what its pages and scripts use). Reads come from the
//! store; actions go through the same `fleet` operations as the CLI. Every answer is
//! `{"data": ...}` or `{"error": "one line"}`.

use super::Dash;
use crate::Error;
use crate::fleet::Fleet;
use crate::fleet::kill::{KillReason, kill, restore};
use crate::fleet::send::{find, send};
use crate::fleet::spawn::{SpawnRequest, spawn};
use crate::store::events::EventRecord;
use crate::store::session::Session;
use crate::store::sessions::Listed;
use crate::store::view::session_json;
use ao_plugin_api::slots::scm::{MergeRequest, PrKey};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// An error answer: 404 for what does not exist, 400 for what cannot be done.
pub(super) struct Failed(StatusCode, String);

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed(StatusCode::BAD_REQUEST, e.to_string())
    }
}

pub(super) type Answer = Result<Json<Value>, Failed>;

fn data(v: Value) -> Answer {
    Ok(Json(json!({ "data": v })))
}

fn session(fleet: &Fleet, id: &str) -> Result<Session, Failed> {
    find(fleet, id).map_err(|e| Failed(StatusCode::NOT_FOUND, e.to_string()))
}

/// `GET /api/sessions`: every session of every project, and the projects.
pub(super) async fn sessions(State(d): State<Arc<Dash>>) -> Answer {
    let fleet = d.fleet.get();
    let mut out = Vec::new();
    let mut projects = Vec::new();
    let mut corrupt = Vec::new();
    for (id, p) in &fleet.config.projects {
        projects.push(json!({"id": id, "repo": p.repo, "path": p.path}));
        for l in fleet.store(id).list_sessions()? {
            match l {
                Listed::Session(s) => out.push(session_json(&s)),
                // Reported, never hidden: a session the page does not show must say why.
                Listed::Corrupt { path, reason } => corrupt.push(json!({
                    "projectId": id, "path": path, "reason": reason,
                })),
                Listed::Reserved { .. } => {}
            }
        }
    }
    Ok(Json(
        json!({"data": out, "meta": {"projects": projects, "corrupt": corrupt}}),
    ))
}

/// The session's events, oldest first (at most the latest `max`).
fn events_of(fleet: &Fleet, s: &Session, max: usize) -> Result<Vec<EventRecord>, Error> {
    let mut all: Vec<EventRecord> = fleet
        .events(&s.project)
        .read()?
        .into_iter()
        .filter(|e| e.session.as_deref() == Some(s.id.as_str()))
        .collect();
    let skip = all.len().saturating_sub(max);
    Ok(all.split_off(skip))
}

/// `GET /api/sessions/{id}`: the session, its prompt and its latest events (`?brief`: the
/// session alone, for a page that only refreshes one row).
pub(super) async fn one(
    State(d): State<Arc<Dash>>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    let mut v = session_json(&s);
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "brief"))
    {
        return data(v);
    }
    let prompt = fleet
        .store(&s.project)
        .prompts_dir()
        .join(format!("{id}.md"));
    v["prompt"] = std::fs::read_to_string(prompt)
        .ok()
        .map(|t| json!(t.chars().take(64 * 1024).collect::<String>()))
        .unwrap_or(Value::Null);
    v["events"] = json!(events_of(&fleet, &s, 200)?);
    data(v)
}

/// `GET /api/sessions/{id}/events`.
pub(super) async fn events(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    data(json!(events_of(&fleet, &s, 1000)?))
}

#[derive(Deserialize)]
pub(super) struct Message {
    message: String,
}

/// `POST /api/sessions/{id}/send {"message"}`: acknowledged delivery, as `ao send`.
pub(super) async fn send_message(
    State(d): State<Arc<Dash>>,
    Path(id): Path<String>,
    Json(m): Json<Message>,
) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    if m.message.trim().is_empty() {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            "the message is empty".into(),
        ));
    }
    let out = send(&fleet, &s, &m.message).await?;
    data(json!({"acknowledged": out.acknowledged, "evidence": out.evidence, "dialog": out.dialog}))
}

#[derive(Deserialize)]
pub(super) struct Choice {
    choice: String,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// `POST /api/sessions/{id}/answer {"choice", "fingerprint"}`: the human's answer to the
/// dialog on screen, as `ao answer` (the page sends the fingerprint of the dialog it showed).
pub(super) async fn answer_dialog(
    State(d): State<Arc<Dash>>,
    Path(id): Path<String>,
    Json(c): Json<Choice>,
) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    let out = crate::fleet::answer::answer(&fleet, &s, &c.choice, c.fingerprint.as_deref()).await?;
    data(json!({"answered": out.answered, "evidence": out.evidence}))
}

/// `POST /api/sessions/{id}/kill`.
pub(super) async fn kill_session(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    let k = kill(&fleet, &s, KillReason::User).await?;
    data(json!({"detail": k.describe(&s.id, "killed")}))
}

/// `POST /api/sessions/{id}/restore`.
pub(super) async fn restore_session(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    data(session_json(&restore(&fleet, &s).await?))
}

/// `POST /api/sessions/{id}/merge`: merges the session's PR at the head ao last saw.
pub(super) async fn merge(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Answer {
    let fleet = d.fleet.get();
    let s = session(&fleet, &id)?;
    let p = fleet.project(&s.project)?;
    let (Some(url), Some(repo)) = (&s.pr, &p.repo) else {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            format!("{id} has no PR to merge"),
        ));
    };
    let number = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Failed(StatusCode::BAD_REQUEST, format!("`{url}` is not a PR URL")))?;
    let Some(scm) = fleet.scm(p).await? else {
        return Err(Failed(
            StatusCode::BAD_REQUEST,
            format!("project {} has no SCM", p.id),
        ));
    };
    let out = scm
        .merge(&MergeRequest {
            pr: PrKey {
                repo: repo.clone(),
                number,
            },
            method: Default::default(),
            expected_head_sha: s.pr_fact.as_ref().map(|f| f.head_sha.clone()),
        })
        .await?;
    data(serde_json::to_value(out).unwrap_or_default())
}

#[derive(Deserialize)]
pub(super) struct SpawnBody {
    issue: String,
    #[serde(default)]
    project: Option<String>,
}

/// `POST /api/spawn {"issue", "project"?}`: a worker on an issue, as `ao spawn`.
pub(super) async fn spawn_issue(State(d): State<Arc<Dash>>, Json(b): Json<SpawnBody>) -> Answer {
    let fleet = d.fleet.get();
    let project = match b.project {
        Some(p) => p,
        None if fleet.config.projects.len() == 1 => fleet
            .config
            .projects
            .keys()
            .next()
            .cloned()
            .unwrap_or_default(),
        None => {
            return Err(Failed(
                StatusCode::BAD_REQUEST,
                "several projects: say which in `project`".into(),
            ));
        }
    };
    let req = SpawnRequest {
        project,
        issue: Some(b.issue.trim().trim_start_matches('#').to_string()),
        ..SpawnRequest::default()
    };
    let s = spawn(&fleet, &req).await?;
    data(session_json(&s.session))
}

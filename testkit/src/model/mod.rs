//! A model server on 127.0.0.1 that the real agent CLIs talk to instead of a provider:
//! Anthropic Messages (+ `count_tokens`), OpenAI Responses and Chat Completions, streaming or
//! not ([`apis`]). What it answers is scripted per turn by `@sim` directives in the prompt
//! ([`script`]), or for the next requests by `POST /_sim/error`. Every request is recorded
//! (`GET /_sim/requests`, [`ModelSim::requests`]) so a test can prove what reached the model.
//!
//! Anything else answers `200 {}` and `GET /v1/models` one model: the CLIs' side requests
//! (Claude's `HEAD /`, feature flags) then pass without a network.

pub mod apis;
pub mod script;

use apis::Conversation;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard};

/// One request as it arrived.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// Arrival, ms since the epoch.
    pub at_ms: u64,
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Headers that tell the CLI and its session apart (`user-agent`, `x-claude-code-session-id`,
    /// `session-id`, `thread-id`, `x-codex-turn-metadata`, `originator`).
    pub headers: std::collections::BTreeMap<String, String>,
    /// The JSON body (`null` when there was none).
    pub body: Value,
    /// The newest real user prompt, when the request was a model call.
    pub prompt: Option<String>,
    /// What was answered: `reply`, `call`, `title`, `error <status>`, `other`.
    pub answered: String,
    /// Usage reported in the answer.
    pub usage: Option<(u64, u64)>,
}

#[derive(Default)]
struct Shared {
    requests: Vec<Recorded>,
    /// `(status, remaining)`: the next model requests fail with this status.
    forced_error: Option<(u16, u32)>,
    /// Errors already answered per prompt, for `@sim error <status> <count>`.
    errors_by_prompt: std::collections::HashMap<String, u32>,
}

type App = Arc<Mutex<Shared>>;

fn lock(app: &App) -> MutexGuard<'_, Shared> {
    app.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running model server; stops when dropped.
pub struct ModelSim {
    app: App,
    server: crate::serve::Background,
}

impl ModelSim {
    /// Starts on an ephemeral port.
    pub fn start() -> Self {
        Self::start_on(0).expect("model simulator starts")
    }

    /// Starts on `127.0.0.1:port` (0: ephemeral).
    pub fn start_on(port: u16) -> std::io::Result<Self> {
        let app: App = Arc::default();
        let router = Router::new().fallback(handle).with_state(app.clone());
        let server = crate::serve::Background::start(router, port, 2, "ao-model-sim")?;
        Ok(Self { app, server })
    }

    /// `http://127.0.0.1:port` (the CLIs append `/v1/...` or are given `…/v1`).
    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.app).requests.clone()
    }

    /// The model calls (not title requests, not side requests) so far.
    pub fn model_calls(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.prompt.is_some() && r.answered != "title")
            .collect()
    }

    /// The next `count` model requests fail with `status`.
    pub fn fail_next(&self, status: u16, count: u32) {
        lock(&self.app).forced_error = Some((status, count));
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

const KEPT_HEADERS: &[&str] = &[
    "user-agent",
    "x-claude-code-session-id",
    "session-id",
    "thread-id",
    "x-codex-turn-metadata",
    "originator",
    "authorization",
    "x-api-key",
];

#[derive(Clone, Copy)]
enum Api {
    Anthropic,
    Responses,
    Chat,
}

async fn handle(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut rec = Recorded {
        at_ms: now_ms(),
        method: method.to_string(),
        path: path.clone(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|h| Some((h.to_string(), headers.get(*h)?.to_str().ok()?.to_owned())))
            .collect(),
        body: body.clone(),
        prompt: None,
        answered: "other".into(),
        usage: None,
    };
    let api = match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/_sim/requests") => {
            return axum::Json(lock(&app).requests.clone()).into_response();
        }
        ("POST", "/_sim/error") => {
            let status = body["status"].as_u64().unwrap_or(529) as u16;
            let count = body["count"].as_u64().unwrap_or(1) as u32;
            lock(&app).forced_error = Some((status, count));
            return axum::Json(json!({"ok": true})).into_response();
        }
        ("GET", "/v1/models" | "/models") => {
            lock(&app).requests.push(rec);
            return axum::Json(json!({"object": "list", "data": [
                {"id": "local-model", "object": "model", "created": 0, "owned_by": "ao-model-sim",
                 "type": "model", "display_name": "Local model"}]}))
            .into_response();
        }
        ("POST", "/v1/messages/count_tokens") => {
            let n = body.to_string().len() as u64 / 4;
            lock(&app).requests.push(rec);
            return axum::Json(json!({"input_tokens": n})).into_response();
        }
        ("POST", "/v1/messages") => Api::Anthropic,
        ("POST", "/v1/responses" | "/responses") => Api::Responses,
        ("POST", "/v1/chat/completions" | "/chat/completions") => Api::Chat,
        _ => {
            lock(&app).requests.push(rec);
            return axum::Json(json!({})).into_response();
        }
    };
    let conv: Conversation = match api {
        Api::Anthropic => apis::anthropic::read(&body),
        Api::Responses => apis::responses::read(&body),
        Api::Chat => apis::chat::read(&body),
    };
    let turn = script::parse(&conv.prompt);
    rec.prompt = Some(conv.prompt.clone());
    let n = lock(&app).requests.len();

    // An error, forced for the next requests or asked for by the turn's prompt.
    let error = {
        let mut s = lock(&app);
        if let Some((status, left)) = s.forced_error.filter(|_| !conv.title) {
            s.forced_error = (left > 1).then_some((status, left - 1));
            Some(status)
        } else if let Some((status, count)) = turn.error.filter(|_| !conv.title) {
            let used = s.errors_by_prompt.entry(conv.prompt.clone()).or_default();
            (count.is_none_or(|c| *used < c)).then(|| {
                *used += 1;
                status
            })
        } else {
            None
        }
    };
    if turn.delay_ms > 0 && !conv.title {
        tokio::time::sleep(std::time::Duration::from_millis(turn.delay_ms.min(600_000))).await;
    }
    if let Some(status) = error {
        rec.answered = format!("error {status}");
        lock(&app).requests.push(rec);
        let body = match api {
            Api::Anthropic => apis::anthropic::error(status),
            Api::Responses => apis::responses::error(status),
            Api::Chat => apis::chat::error(status),
        };
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (code, axum::Json(body)).into_response();
        if status == 429 {
            resp.headers_mut().insert(
                "retry-after",
                axum::http::HeaderValue::from(turn.retry_after),
            );
        }
        return resp;
    }
    let answer = if conv.title {
        let t = script::title(&conv.prompt);
        script::Answer::Reply(match api {
            Api::Anthropic => json!({ "title": t }).to_string(),
            _ => t,
        })
    } else {
        script::answer(&turn, conv.step)
    };
    rec.answered = match (&answer, conv.title) {
        (_, true) => "title".into(),
        (script::Answer::Call(_), _) => "call".into(),
        (script::Answer::Reply(_), _) => "reply".into(),
    };
    rec.usage = Some(turn.usage);
    lock(&app).requests.push(rec);
    let (text, content_type) = match api {
        Api::Anthropic => apis::anthropic::write(&conv, &answer, turn.usage, n),
        Api::Responses => apis::responses::write(&conv, &answer, turn.usage, n),
        Api::Chat => apis::chat::write(&conv, &answer, turn.usage, n),
    };
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    resp.headers_mut().insert(
        "request-id",
        axum::http::HeaderValue::from_str(&format!("req_sim{n:04}")).expect("ascii"),
    );
    resp
}

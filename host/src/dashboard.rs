//! The web dashboard, served by the daemon on its loopback port: JSON API (`api`), live events
//! by Server-Sent Events (`stream`), pages (`pages`), all behind the token (`auth`).

mod api;
pub mod auth;
mod pages;
pub mod pty;
pub mod stream;
mod terminal;

use crate::fleet::current::Current;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::sync::broadcast;

/// What the dashboard's handlers share.
pub struct Dash {
    /// The fleet the daemon runs (swapped by a config reload).
    pub fleet: Arc<Current>,
    /// New events, for the live streams.
    pub tx: broadcast::Sender<stream::Line>,
    /// The token (pages embed it for their own requests).
    pub token: String,
    /// Changes when the daemon stops: live streams end then.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// The port it listens on (the terminal's `Origin` check).
    pub port: u16,
}

/// Every dashboard route, behind the token and loopback-Host check.
pub fn router(dash: Arc<Dash>, port: u16) -> Router {
    let guard = auth::Guard {
        token: dash.token.clone(),
        port,
        codes: Arc::default(),
    };
    let (tx, stop) = (dash.tx.clone(), dash.stop.clone());
    Router::new()
        .route("/", get(pages::fleet))
        .route("/sessions/{id}", get(pages::session))
        .route("/sessions/{id}/terminal", get(pages::terminal))
        .route("/api/sessions/{id}/terminal/ws", get(terminal::ws))
        .route("/assets/{file}", get(pages::asset))
        .route("/api/sessions", get(api::sessions))
        .route("/api/sessions/{id}", get(api::one))
        .route("/api/sessions/{id}/events", get(api::events))
        .route("/api/sessions/{id}/send", post(api::send_message))
        .route("/api/sessions/{id}/answer", post(api::answer_dialog))
        .route("/api/sessions/{id}/kill", post(api::kill_session))
        .route("/api/sessions/{id}/restore", post(api::restore_session))
        .route("/api/sessions/{id}/merge", post(api::merge))
        .route("/api/spawn", post(api::spawn_issue))
        .route(
            "/api/events/stream",
            get(move || async move { stream::sse(tx.subscribe(), stop.clone()) }),
        )
        .with_state(dash)
        .layer(axum::middleware::from_fn_with_state(guard, auth::check))
}

//! The pages and their assets, embedded in the binary (no CDN, nothing fetched at run time).
//! A page carries the token in a meta tag for its own POSTs: only a page that was itself let
//! through the token check can read it.

use super::Dash;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

const FLEET: &str = include_str!("assets/fleet.html");
const SESSION: &str = include_str!("assets/session.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// `GET /`: the fleet.
pub(super) async fn fleet(State(d): State<Arc<Dash>>) -> Html<String> {
    Html(FLEET.replace("{{TOKEN}}", &d.token))
}

/// `GET /sessions/{id}`: one session.
pub(super) async fn session(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Response {
    if crate::fleet::send::find(&d.fleet, &id).is_err() || !crate::store::ids::valid_component(&id)
    {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><p>no such session</p>"),
        )
            .into_response();
    }
    Html(
        SESSION
            .replace("{{TOKEN}}", &d.token)
            .replace("{{SESSION}}", &id),
    )
    .into_response()
}

/// `GET /assets/{file}`.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

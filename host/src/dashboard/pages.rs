//! The pages and their assets, embedded in the binary (no CDN, nothing fetched at run time;
//! xterm.js is vendored, see `assets/vendor/README.md`). A page carries the token in a meta tag
//! for its own POSTs: only a page that was itself let through the token check can read it.

use super::Dash;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

const FLEET: &str = include_str!("assets/fleet.html");
const SESSION: &str = include_str!("assets/session.html");
const TERMINAL: &str = include_str!("assets/terminal.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const XTERM_JS: &str = include_str!("assets/vendor/xterm.js");
const XTERM_CSS: &str = include_str!("assets/vendor/xterm.css");
const FIT_JS: &str = include_str!("assets/vendor/addon-fit.js");

/// `GET /`: the fleet.
pub(super) async fn fleet(State(d): State<Arc<Dash>>) -> Html<String> {
    Html(FLEET.replace("{{TOKEN}}", &d.token))
}

/// A page about one session, or 404.
fn session_page(d: &Dash, id: &str, template: &str) -> Response {
    if !crate::store::ids::valid_component(id)
        || crate::fleet::send::find(&d.fleet.get(), id).is_err()
    {
        let missing = Html("<!doctype html><p>no such session</p>");
        return (StatusCode::NOT_FOUND, missing).into_response();
    }
    Html(
        template
            .replace("{{TOKEN}}", &d.token)
            .replace("{{SESSION}}", id),
    )
    .into_response()
}

/// `GET /sessions/{id}`: one session.
pub(super) async fn session(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Response {
    session_page(&d, &id, SESSION)
}

/// `GET /sessions/{id}/terminal`: its live terminal.
pub(super) async fn terminal(State(d): State<Arc<Dash>>, Path(id): Path<String>) -> Response {
    session_page(&d, &id, TERMINAL)
}

/// `GET /assets/{file}`.
pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "xterm.js" => (XTERM_JS, "text/javascript; charset=utf-8"),
        "xterm.css" => (XTERM_CSS, "text/css; charset=utf-8"),
        "addon-fit.js" => (FIT_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

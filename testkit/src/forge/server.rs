//! The HTTP side shared by REST and GraphQL: authentication, scripted faults, rate-limit
//! budgets and headers, ETags and `304 Not Modified`, request counters.

use super::world::{Refusal, World, refuse};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    pub(crate) schema: super::graphql::SimSchema,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Core,
    Graphql,
}

/// An admitted request.
pub(crate) struct Call {
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Resource,
}

impl Call {
    pub(crate) fn can_write(&self) -> bool {
        self.scopes
            .iter()
            .any(|s| s == "repo" || s == "public_repo")
    }

    pub(crate) fn can_see_private(&self) -> bool {
        self.scopes.iter().any(|s| s == "repo")
    }
}

/// A successful answer before the shared headers are added.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(String, String)>,
    /// Extra state that changes the ETag though the body may not show it (revisions).
    pub(crate) etag_extra: Option<String>,
    /// Not charged against the budget (`GET /rate_limit`).
    pub(crate) free: bool,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
            etag_extra: None,
            free: false,
        }
    }

    pub(crate) fn created(body: Value) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(body)
        }
    }
}

/// Counts the request, plays scripted faults, authenticates and checks the budget.
#[allow(clippy::result_large_err)] // the refusal is the response itself, built once
pub(crate) fn admit(
    w: &mut World,
    route: &str,
    headers: &HeaderMap,
    resource: Resource,
) -> Result<Call, Response> {
    w.counters.requests += 1;
    *w.counters.by_route.entry(route.to_string()).or_default() += 1;
    if let Some((status, location)) = w.faults.redirect.take() {
        let mut r = error(w, resource, &refuse(status, "Moved"));
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert("location", v);
        }
        return Err(r);
    }
    if w.faults.server_errors > 0 {
        w.faults.server_errors -= 1;
        return Err(error(w, resource, &refuse(500, "Server Error")));
    }
    if let Some((n, retry_after, status)) = w.faults.secondary {
        w.faults.secondary = (n > 1).then_some((n - 1, retry_after, status));
        let mut r = error(
            w,
            resource,
            &refuse(
                status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            ),
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(retry_after));
        return Err(r);
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(error(w, resource, &refuse(401, "Requires authentication")));
    };
    let Some(scopes) = w.tokens.get(token).cloned() else {
        return Err(error(w, resource, &refuse(401, "Bad credentials")));
    };
    let unlimited = w.unlimited;
    let budget = budget_mut(w, resource);
    budget.roll();
    if budget.remaining() == 0 && !unlimited {
        let mut r = error(
            w,
            resource,
            &refuse(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
            ),
        );
        r.headers_mut().remove("retry-after");
        return Err(r);
    }
    Ok(Call { scopes, resource })
}

fn budget_mut(w: &mut World, resource: Resource) -> &mut super::world::Budget {
    match resource {
        Resource::Core => &mut w.core,
        Resource::Graphql => &mut w.graphql,
    }
}

/// Adds the `x-ratelimit-*` headers GitHub sends on every API answer.
pub(crate) fn rate_headers(w: &World, resource: Resource, h: &mut HeaderMap) {
    if w.unlimited {
        return;
    }
    let (b, name) = match resource {
        Resource::Core => (&w.core, "core"),
        Resource::Graphql => (&w.graphql, "graphql"),
    };
    h.insert("x-ratelimit-limit", HeaderValue::from(b.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(b.remaining()));
    h.insert("x-ratelimit-used", HeaderValue::from(b.used));
    h.insert("x-ratelimit-reset", HeaderValue::from(b.reset_at));
    h.insert("x-ratelimit-resource", HeaderValue::from_static(name));
}

/// An error answer in GitHub's shape. Errors are charged, as on GitHub.
pub(crate) fn error(w: &mut World, resource: Resource, r: &Refusal) -> Response {
    if r.status != 401 && r.status < 500 {
        charge(w, resource, 1);
    }
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        axum::Json(json!({
            "message": r.message,
            "documentation_url": "https://docs.github.com/rest",
            "status": r.status.to_string(),
        })),
    )
        .into_response();
    rate_headers(w, resource, resp.headers_mut());
    resp
}

pub(crate) fn charge(w: &mut World, resource: Resource, points: u64) {
    let b = budget_mut(w, resource);
    b.used += points;
    match resource {
        Resource::Core => w.counters.charged += 1,
        Resource::Graphql => w.counters.graphql_points += points,
    }
}

/// Serialises a reply; a GET whose ETag matches `If-None-Match` gets a free 304.
pub(crate) fn finish(
    w: &mut World,
    call: &Call,
    get: bool,
    req: &HeaderMap,
    result: Result<Reply, Refusal>,
) -> Response {
    let reply = match result {
        Ok(r) => r,
        Err(r) => return error(w, call.resource, &r),
    };
    let body = if reply.body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&reply.body).unwrap_or_default()
    };
    let etag = get.then(|| {
        let mut h = Sha256::new();
        h.update(&body);
        if let Some(x) = &reply.etag_extra {
            h.update(x.as_bytes());
        }
        format!("W/\"{}\"", hex::encode(&h.finalize()[..16]))
    });
    let matches = etag.as_ref().is_some_and(|e| {
        req.get("if-none-match")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|c| c.trim() == e))
    });
    let mut resp = if matches {
        w.counters.not_modified += 1;
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        if !reply.free {
            charge(w, call.resource, 1);
        }
        let empty = body.is_empty();
        let mut r = (reply.status, Bytes::from(body)).into_response();
        if !empty {
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
        r
    };
    let h = resp.headers_mut();
    if let Some(e) = etag
        && let Ok(v) = HeaderValue::from_str(&e)
    {
        h.insert("etag", v);
    }
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(k, v);
        }
    }
    h.insert(
        "x-oauth-scopes",
        HeaderValue::from_str(&call.scopes.join(", ")).unwrap_or(HeaderValue::from_static("")),
    );
    rate_headers(w, call.resource, h);
    resp
}

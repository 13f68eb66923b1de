//! A stateful GitHub on 127.0.0.1 for every GitHub-facing test, the benchmarks and `ao demo`.
//!
//! - REST (`rest`) and GraphQL (`graphql`, executed by async-graphql against a subset of
//!   GitHub's public schema) over one state (`world`), at `/` and at GitHub Enterprise's
//!   `/api/v3` + `/api/graphql`;
//! - repositories backed by real bare git repositories: a branch pushed there is a PR's head,
//!   mergeability and "behind" come from git, and a merge really merges;
//! - ETags that change only when the resource changes (free `304`s), `x-ratelimit-*` budgets,
//!   GitHub's GraphQL cost formula (`cost`), scripted faults (secondary limits, 500s);
//! - counters of requests, charged requests and GraphQL points;
//! - scripting through [`ForgeSim::world`] in-process or `POST /_sim/<command>` (`control`).

pub mod actors;
mod control;
mod cost;
mod git;
mod graphql;
pub mod model;
mod rest;
mod rest_json;
mod server;
mod world;

pub use world::{Budget, Counters, NewPull, Refusal, World};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use server::{App, Resource, Shared};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The token the forge accepts out of the box (scope `repo`).
pub const TOKEN: &str = "ghp_simulatedforgetoken0000000000000000";

/// A running simulated forge; stops when dropped.
pub struct ForgeSim {
    app: App,
    url: String,
    _server: crate::serve::Background,
    _dir: Option<tempfile::TempDir>,
}

impl ForgeSim {
    /// Starts on an ephemeral port with its repositories in a temporary directory.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut sim = Self::start_in(dir.path(), 0).expect("forge starts");
        sim._dir = Some(dir);
        sim
    }

    /// Starts on `127.0.0.1:port` (0: ephemeral) keeping bare repositories under `dir`.
    pub fn start_in(dir: &Path, port: u16) -> std::io::Result<Self> {
        // The world must know its own URL before the first request: bind, then build.
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut world = World::new(dir.to_path_buf());
        world.base_url = url.clone();
        let app: App = Arc::new(Shared {
            world: Mutex::new(world),
            schema: graphql::schema(),
        });
        let router = Router::new()
            .route("/graphql", axum::routing::post(graphql_http))
            .route("/api/graphql", axum::routing::post(graphql_http))
            .route("/_sim/{cmd}", axum::routing::post(control::handle))
            .fallback(rest::handle)
            .with_state(app.clone());
        let server = crate::serve::Background::serve(listener, router, 2, "ao-forge-sim")?;
        Ok(Self {
            app,
            url: server.url.clone(),
            _server: server,
            _dir: None,
        })
    }

    /// `http://127.0.0.1:port`: the REST base URL (GraphQL at `/graphql`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The state, for scripting. Do not hold it across a request to the forge.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.app.world()
    }

    /// A new repository `owner/name` backed by a fresh bare repository; returns its path.
    pub fn repo(&self, full: &str) -> PathBuf {
        self.world().add_repo(full, false).expect("repo created")
    }

    /// What has been served so far.
    pub fn counters(&self) -> Counters {
        self.world().counters.clone()
    }

    /// Starts a CI and/or a reviewer acting on a repository (see [`actors`]); they stop when
    /// the returned value is dropped.
    pub fn start_actors(&self, a: actors::Actors) -> actors::Running {
        actors::start(self.app.clone(), a)
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        self.world().counters = Counters::default();
    }
}

async fn graphql_http(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let call = {
        let mut w = app.world();
        match server::admit(&mut w, "POST /graphql", &headers, Resource::Graphql) {
            Ok(c) => c,
            Err(r) => return r,
        }
    };
    let bad = |msg: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"message": msg})),
        )
            .into_response()
    };
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return bad("Problems parsing JSON");
    };
    let Some(query) = req.get("query").and_then(|q| q.as_str()) else {
        return bad("A query attribute must be specified and must be a string.");
    };
    let vars = req
        .get("variables")
        .cloned()
        .unwrap_or(serde_json::json!({}));
    let cost = match cost::score(query, &vars) {
        Ok(c) => c,
        Err(e) => {
            return axum::Json(serde_json::json!({"errors": [{"message": e}]})).into_response();
        }
    };
    {
        let mut w = app.world();
        if w.graphql.remaining() < cost {
            let r = world::refuse(403, "API rate limit exceeded for user ID 1.");
            return server::error(&mut w, Resource::Graphql, &r);
        }
        server::charge(&mut w, Resource::Graphql, cost);
        w.counters.graphql_queries += 1;
    }
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(vars))
        .data(app.clone())
        .data(graphql::QueryCost(cost))
        .data(graphql::Scopes(call.scopes.clone()));
    let resp = app.schema.execute(request).await;
    let mut out = axum::Json(resp).into_response();
    server::rate_headers(&app.world(), Resource::Graphql, out.headers_mut());
    out
}

/// `X-Hub-Signature-256` for a webhook body: `sha256=` + hex HMAC-SHA256 with the hook's
/// secret, as GitHub signs its deliveries.
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    const BLOCK: usize = 64;
    let mut key = secret.as_bytes().to_vec();
    if key.len() > BLOCK {
        key = Sha256::digest(&key).to_vec();
    }
    key.resize(BLOCK, 0);
    let pad = |b: u8| key.iter().map(|k| k ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    format!("sha256={}", hex::encode(outer))
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_match_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" docs.
        assert_eq!(
            super::sign_webhook("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}

//! The daemon `ao start` runs: one poller task per project (ticks never overlap; a webhook or
//! a wake-up runs the next one at once) and an HTTP server on 127.0.0.1 for forge webhooks and
//! the dashboard (behind its token).
//! Its pid file says where it runs, so `ao stop` and a second `ao start` find it.

use crate::Error;
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::tick::tick;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

/// What the pid file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonInfo {
    /// The daemon's pid.
    pub pid: u32,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    /// The config it runs.
    pub config: PathBuf,
    /// Started (epoch ms).
    pub started_at: u64,
}

/// `{data}/daemon-{hash}.json`.
pub fn info_file(data_dir: &Path, hash: &str) -> PathBuf {
    data_dir.join(format!("daemon-{hash}.json"))
}

/// The running daemon for a config, if its pid is alive.
pub fn running(data_dir: &Path, hash: &str) -> Option<DaemonInfo> {
    let text = std::fs::read_to_string(info_file(data_dir, hash)).ok()?;
    let info: DaemonInfo = serde_json::from_str(&text).ok()?;
    crate::proc::alive(info.pid).then_some(info)
}

struct Shared {
    fleet: Arc<Fleet>,
    wake: BTreeMap<String, Arc<Notify>>,
}

/// Runs until `shutdown` resolves: pollers, the webhook server, the pid file.
pub async fn run(
    fleet: Arc<Fleet>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let wake: BTreeMap<String, Arc<Notify>> = fleet
        .config
        .projects
        .keys()
        .map(|p| (p.clone(), Arc::new(Notify::new())))
        .collect();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", fleet.config.port))
        .await
        .map_err(|e| {
            Error::Invalid(format!(
                "cannot listen on 127.0.0.1:{}: {e} (set `port` in the config)",
                fleet.config.port
            ))
        })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    // Before the pid file: whoever sees the daemon up can read the token.
    let token = crate::dashboard::auth::load_or_create(&crate::dashboard::auth::token_file(
        &fleet.data_dir,
        &fleet.config.hash,
    ))?;
    let info = DaemonInfo {
        pid: std::process::id(),
        port,
        config: fleet.config.file.clone(),
        started_at: now_ms(),
    };
    let info_path = info_file(&fleet.data_dir, &fleet.config.hash);
    std::fs::create_dir_all(&fleet.data_dir)
        .map_err(|e| Error::io("could not create", &fleet.data_dir, e))?;
    crate::store::metadata::write_atomic(
        &info_path,
        serde_json::to_string(&info).expect("serialises").as_bytes(),
    )?;
    let shared = Arc::new(Shared {
        fleet: fleet.clone(),
        wake: wake.clone(),
    });
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dash = Arc::new(crate::dashboard::Dash {
        fleet: fleet.clone(),
        tx: events.clone(),
        token,
        stop: stop_rx.clone(),
        port,
    });
    let app = axum::Router::new()
        .route("/webhooks/github", axum::routing::post(webhook))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(shared)
        .merge(crate::dashboard::router(dash, port));
    let mut tasks = vec![tokio::spawn(crate::dashboard::stream::follow(
        fleet.clone(),
        events,
        stop_rx.clone(),
    ))];
    for (project, notify) in wake {
        let fleet = fleet.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match tick(&fleet, &project).await {
                    Ok(r) => {
                        for e in &r.errors {
                            tracing::warn!(project = %project, "tick: {e}");
                        }
                    }
                    Err(e) => tracing::warn!(project = %project, "tick failed: {e}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(fleet.config.poll_interval) => {}
                    _ = notify.notified() => {}
                    _ = stop.changed() => break,
                }
            }
        }));
    }
    let mut stop = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });
    shutdown.await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = server.await;
    let _ = std::fs::remove_file(&info_path);
    fleet.shutdown().await;
    Ok(())
}

/// `POST /webhooks/github`: verified by each project's SCM plugin (no secret configured means
/// refused), parsed, and the project's poller woken for an immediate tick.
async fn webhook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let req = ao_plugin_api::slots::scm::WebhookRequest { headers, body };
    let mut last = "no project has an SCM that takes webhooks".to_string();
    for (id, notify) in &shared.wake {
        let Ok(p) = shared.fleet.project(id) else {
            continue;
        };
        let Ok(Some(scm)) = shared.fleet.scm(p).await else {
            continue;
        };
        match scm.verify_webhook(&req).await {
            Ok(v) if v.ok => {
                let _ = scm.parse_webhook(&req).await;
                notify.notify_one();
                return (StatusCode::ACCEPTED, format!("checking {id}"));
            }
            Ok(v) => last = v.reason.unwrap_or_else(|| "signature mismatch".into()),
            Err(e) => last = e.to_string(),
        }
    }
    (StatusCode::UNAUTHORIZED, last)
}

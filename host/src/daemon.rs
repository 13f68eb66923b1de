//! The daemon `ao start` runs: one poller task per project (ticks never overlap; a webhook or
//! a wake-up runs the next one at once) and an HTTP server on 127.0.0.1 for forge webhooks and
//! the dashboard (behind its token).
//! Its pid file says where it runs, so `ao stop` and a second `ao start` find it.

use crate::Error;
use crate::fleet::current::Current;
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::tick::tick;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

mod listener;
mod reload;
mod replay;

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
    /// Why the config file on disk is not the one running (its last edit was invalid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

/// `{data}/daemon-{hash}.json`.
pub fn info_file(data_dir: &Path, hash: &str) -> PathBuf {
    data_dir.join(format!("daemon-{hash}.json"))
}

/// `{data}/daemon-{hash}.config.yaml`: the text of the config the daemon runs, so `ao status`
/// can still show the fleet while the file on disk holds an edit that cannot run.
pub fn running_config_file(data_dir: &Path, hash: &str) -> PathBuf {
    data_dir.join(format!("daemon-{hash}.config.yaml"))
}

/// Records the text of the config now running (owner-only, like every store file).
fn keep_running_config(data_dir: &Path, hash: &str, text: &str) {
    let path = running_config_file(data_dir, hash);
    if let Err(e) = crate::store::metadata::write_atomic(&path, text.as_bytes()) {
        tracing::warn!("could not record the running config: {e}");
    }
}

/// The running daemon for a config, if its pid is alive.
pub fn running(data_dir: &Path, hash: &str) -> Option<DaemonInfo> {
    let text = std::fs::read_to_string(info_file(data_dir, hash)).ok()?;
    let info: DaemonInfo = serde_json::from_str(&text).ok()?;
    crate::proc::alive(info.pid).then_some(info)
}

struct Shared {
    current: Arc<Current>,
    /// Each project's wake-up, created with its poller (pollers of projects a reload added
    /// included).
    wake: std::sync::Mutex<BTreeMap<String, Arc<Notify>>>,
    /// Verified webhook deliveries, so a replay wakes nothing.
    seen: std::sync::Mutex<replay::Seen>,
}

impl Shared {
    fn wakers(&self) -> Vec<(String, Arc<Notify>)> {
        let wake = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        wake.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Runs until `shutdown` resolves: pollers, the webhook server, the config watch, the pid file.
pub async fn run(
    fleet: Arc<Fleet>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let fd_limit = listener::raise_fd_limit();
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
        config_error: None,
    };
    let info_path = info_file(&fleet.data_dir, &fleet.config.hash);
    crate::paths::secure_data_dir(&fleet.data_dir)
        .map_err(|e| Error::io("could not create", &fleet.data_dir, e))?;
    write_info(&info_path, &info)?;
    if let Ok(text) = crate::files::read_regular(&fleet.config.file, crate::config::MAX_BYTES) {
        keep_running_config(&fleet.data_dir, &fleet.config.hash, &text);
    }
    let current = Arc::new(Current::new(fleet.clone()));
    let shared = Arc::new(Shared {
        current: current.clone(),
        wake: std::sync::Mutex::new(BTreeMap::new()),
        seen: std::sync::Mutex::default(),
    });
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dash = Arc::new(crate::dashboard::Dash {
        fleet: current.clone(),
        tx: events.clone(),
        token,
        stop: stop_rx.clone(),
        port,
    });
    let app = axum::Router::new()
        .route("/webhooks/github", axum::routing::post(webhook))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(shared.clone())
        .merge(crate::dashboard::router(dash, port));
    let pollers = Pollers {
        shared: shared.clone(),
        stop: stop_rx.clone(),
        tasks: std::sync::Mutex::new(vec![tokio::spawn(crate::dashboard::stream::follow(
            current.clone(),
            events,
            stop_rx.clone(),
        ))]),
    };
    for project in fleet.config.projects.keys() {
        pollers.start(project);
    }
    let pollers = Arc::new(pollers);
    let watch = tokio::spawn(reload::watch(
        pollers.clone(),
        info_path.clone(),
        info,
        stop_rx.clone(),
    ));
    let mut stop = stop_rx.clone();
    let listener = listener::Guarded::new(listener, listener::cap(fd_limit));
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = watch.await;
    let tasks = std::mem::take(&mut *pollers.tasks.lock().unwrap_or_else(|e| e.into_inner()));
    for t in tasks {
        let _ = t.await;
    }
    let _ = server.await;
    let _ = std::fs::remove_file(&info_path);
    let _ = std::fs::remove_file(running_config_file(&fleet.data_dir, &fleet.config.hash));
    current.get().shutdown().await;
    Ok(())
}

fn write_info(path: &Path, info: &DaemonInfo) -> Result<(), Error> {
    crate::store::metadata::write_atomic(
        path,
        serde_json::to_string(info).expect("serialises").as_bytes(),
    )
}

/// The per-project poller tasks.
struct Pollers {
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Receiver<bool>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Pollers {
    /// Starts `project`'s poller unless it has one. A poller lives as long as the daemon: while
    /// a reload has removed its project it only sleeps, so a project removed and added back
    /// never gets two pollers whose ticks overlap.
    fn start(&self, project: &str) {
        let notify = {
            let mut wake = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
            if wake.contains_key(project) {
                return;
            }
            let n = Arc::new(Notify::new());
            wake.insert(project.to_string(), n.clone());
            n
        };
        let current = self.shared.current.clone();
        let mut stop = self.stop.clone();
        let project = project.to_string();
        let task = tokio::spawn(async move {
            loop {
                let fleet = current.get();
                if let Ok(p) = fleet.project(&project) {
                    // A spawn killed outright (its `ao spawn` SIGKILLed, or this daemon's
                    // own dashboard spawn cut by a restart) is undone here too.
                    for r in crate::fleet::journal::recover_project(&fleet, p).await {
                        tracing::warn!(project = %project, "{}", r.describe());
                    }
                    // A tick of its own: should it panic, this poller logs it and polls on.
                    let run = tokio::spawn({
                        let (fleet, project) = (fleet.clone(), project.clone());
                        async move { tick(&fleet, &project).await }
                    });
                    match run.await {
                        Ok(Ok(r)) => {
                            for e in &r.errors {
                                tracing::warn!(project = %project, "tick: {e}");
                            }
                        }
                        Ok(Err(e)) => tracing::warn!(project = %project, "tick failed: {e}"),
                        Err(e) => tracing::error!(project = %project, "tick panicked: {e}"),
                    }
                }
                let every = fleet.config.poll_interval;
                drop(fleet);
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = notify.notified() => {}
                    _ = stop.changed() => break,
                }
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }
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
    let fleet = shared.current.get();
    for (id, notify) in shared.wakers() {
        let Ok(p) = fleet.project(&id) else {
            continue;
        };
        let Ok(Some(scm)) = fleet.scm(p).await else {
            continue;
        };
        match scm.verify_webhook(&req).await {
            Ok(v) if v.ok => {
                let delivery = req.headers.get("x-github-delivery").map(String::as_str);
                {
                    let mut seen = shared.seen.lock().unwrap_or_else(|e| e.into_inner());
                    if seen.is_repeat(delivery, &req.body) {
                        return (StatusCode::OK, "a delivery already taken: ignored".into());
                    }
                    seen.remember(delivery, &req.body);
                }
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

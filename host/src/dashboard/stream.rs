//! Live events for the dashboard: every project's `events.jsonl` is followed (a `stat` every
//! 25 ms, new complete lines read once) and each new event is broadcast to every open
//! Server-Sent-Events stream. The log is the source, so events written by other `ao` processes
//! (`ao spawn`, `ao send`) arrive as the engine's own do.

use crate::fleet::Fleet;
use crate::fleet::current::Current;
use crate::store::events::Tail;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the logs are looked at.
const EVERY: Duration = Duration::from_millis(25);

/// One event as JSON text, with its `projectId`.
pub type Line = Arc<String>;

/// Follows the logs until `stop` changes; new events go to `tx`. A project a config reload
/// adds is followed from then on.
pub async fn follow(
    current: Arc<Current>,
    tx: broadcast::Sender<Line>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Only what happens from now on: history is in the API.
    let mut logs: Vec<(String, std::path::PathBuf, Tail)> = Vec::new();
    let mut fleet: Option<Arc<Fleet>> = None;
    loop {
        let now = current.get();
        if !fleet.as_ref().is_some_and(|f| Arc::ptr_eq(f, &now)) {
            for p in now.config.projects.keys() {
                if !logs.iter().any(|(id, _, _)| id == p) {
                    let path = now.store(p).events_file();
                    let tail = Tail::at_end(&path);
                    logs.push((p.clone(), path, tail));
                }
            }
            fleet = Some(now);
        }
        for (project, path, tail) in &mut logs {
            for line in tail.new_lines(path) {
                let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                v["projectId"] = serde_json::json!(project);
                // Nobody listening is fine.
                let _ = tx.send(Arc::new(v.to_string()));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// `GET /api/events/stream`: one SSE `ao` event per new event, until the daemon stops (an
/// open tab must not hold up `ao stop`).
pub fn sse(
    rx: broadcast::Receiver<Line>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold((rx, stop), |(mut rx, mut stop)| async move {
        let got = tokio::select! {
            got = rx.recv() => got,
            _ = stop.changed() => return None,
        };
        let event = match got {
            Ok(line) => Event::default().event("ao").data(line.as_str()),
            // A slow client skips what it missed; the page re-reads the list then.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("lagged").data("{}")
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), (rx, stop)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

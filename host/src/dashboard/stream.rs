//! Live events for the dashboard: every project's `events.jsonl` is followed (a `stat` every
//! 25 ms, new complete lines read once) and each new event is broadcast to every open
//! Server-Sent-Events stream. The log is the source, so events written by other `ao` processes
//! (`ao spawn`, `ao send`) arrive as the engine's own do.

use crate::fleet::Fleet;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the logs are looked at.
const EVERY: Duration = Duration::from_millis(25);

/// One event as JSON text, with its `projectId`.
pub type Line = Arc<String>;

/// Follows the logs until `stop` changes; new events go to `tx`.
pub async fn follow(
    fleet: Arc<Fleet>,
    tx: broadcast::Sender<Line>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let projects: Vec<String> = fleet.config.projects.keys().cloned().collect();
    // Only what happens from now on: history is in the API.
    let mut at: BTreeMap<String, (u64, String)> = projects
        .iter()
        .map(|p| {
            let len = std::fs::metadata(fleet.store(p).events_file())
                .map(|m| m.len())
                .unwrap_or(0);
            (p.clone(), (len, String::new()))
        })
        .collect();
    loop {
        for p in &projects {
            let (offset, partial) = at.get_mut(p).expect("every project has a cursor");
            for line in read_new(&fleet.store(p).events_file(), offset, partial) {
                let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                v["projectId"] = serde_json::json!(p);
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

/// Complete lines appended since `offset` (a rotated, shorter file starts over).
fn read_new(path: &std::path::Path, offset: &mut u64, partial: &mut String) -> Vec<String> {
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
        return Vec::new();
    };
    if len < *offset {
        *offset = 0;
        partial.clear();
    }
    if len == *offset {
        return Vec::new();
    }
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(*offset))?;
        f.take(len - *offset).read_to_string(&mut text)
    });
    if read.is_err() {
        return Vec::new();
    }
    *offset += text.len() as u64;
    partial.push_str(&text);
    let Some(end) = partial.rfind('\n') else {
        return Vec::new();
    };
    let complete: String = partial.drain(..=end).collect();
    complete.lines().map(str::to_owned).collect()
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

#[cfg(test)]
mod tests {
    #[test]
    fn only_complete_new_lines_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("events.jsonl");
        std::fs::write(&f, "{\"a\":1}\n{\"b\"").unwrap();
        let (mut off, mut partial) = (0, String::new());
        assert_eq!(super::read_new(&f, &mut off, &mut partial), ["{\"a\":1}"]);
        assert!(super::read_new(&f, &mut off, &mut partial).is_empty());
        std::fs::write(&f, "{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(super::read_new(&f, &mut off, &mut partial), ["{\"b\":2}"]);
        std::fs::write(&f, "{\"c\":3}\n").unwrap();
        assert_eq!(
            super::read_new(&f, &mut off, &mut partial),
            ["{\"c\":3}"],
            "rotated"
        );
    }
}

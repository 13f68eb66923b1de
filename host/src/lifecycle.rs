//! The lifecycle engine (DESIGN §3): facts in, a pure derivation, events, reactions,
//! notifications.
//!
//! - [`derive`]: `derive(facts, thresholds, now) -> (status, reason)`, pure and table-tested;
//! - [`events`]: the event types with priorities, and the events of one transition (pure);
//! - [`episodes`]: when a reaction acts, retries, escalates or skips (pure);
//! - [`messages`]: the text sent to agents, with the real payload (pure);
//! - [`tick`]: one poll of a project (all the I/O); [`react`]: carrying out its reactions;
//! - [`notify`]: routing by priority to notifier plugins, concurrently, with timeouts.

pub mod derive;
pub mod episodes;
pub mod events;
pub mod messages;
pub mod mirror;
pub mod notify;
pub mod react;
pub mod tick;

use crate::fleet::{Fleet, now_ms};
use crate::store::events::EventRecord;
use events::Event;

/// Logs an event to its project's `events.jsonl` (the one place events are written).
pub fn record(fleet: &Fleet, project: &str, e: &Event) {
    let priority = serde_json::to_value(e.priority)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    fleet.log_event(
        project,
        &EventRecord {
            ts: now_ms(),
            kind: e.kind.as_str().to_string(),
            priority,
            session: e.session.clone(),
            message: e.message.clone(),
            data: e.data.clone(),
        },
    );
}

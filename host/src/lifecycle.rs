//! The lifecycle engine (DESIGN §3): facts in, a pure derivation, events, reactions,
//! notifications.
//!
//! - [`derive`]: `derive(facts, thresholds, now) -> (status, reason)`, pure and table-tested;
//! - [`events`]: the event types with priorities, and the events of one transition (pure);
//! - [`episodes`]: when a reaction acts, retries, escalates or skips (pure);
//! - [`messages`]: the text sent to agents, with the real payload (pure);
//! - [`tick`]: one poll of a project (all the I/O);
//! - [`notify`]: routing by priority to notifier plugins, concurrently, with timeouts.

pub mod derive;
pub mod episodes;
pub mod events;

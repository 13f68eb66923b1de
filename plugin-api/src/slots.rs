//! The seven slot protocols: request/response types (serde), method names, and the trait a plugin
//! implements for each slot.
//!
//! # Evolution rules (protocol 1.x)
//! - Add methods, never rename or remove them. A new method is optional: it gets a default body
//!   in the trait and goes in the trait's `optional` list; the host only calls methods a plugin's
//!   manifest lists.
//! - Add fields only with `#[serde(default)]`; readers ignore unknown fields.
//! - Bump [`crate::manifest::PROTOCOL_VERSION`]'s minor with every addition.
//!
//! Times are Unix epoch milliseconds. Text that came from outside (issues, PRs, CI logs) is
//! untrusted: the host sanitises it before it reaches an agent.

pub mod agent;
pub mod notifier;
pub mod runtime;
pub mod scm;
pub mod terminal;
pub mod tracker;
pub mod workspace;

use crate::sdk::SdkError;

/// The error a default (unimplemented) optional method returns.
pub(crate) fn unsupported(method: &str) -> SdkError {
    SdkError::Unsupported(format!("`{method}` is not implemented by this plugin"))
}

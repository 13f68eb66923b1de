//! `ao`: the host. It finds and loads adapter plugins, and (as later modules land) holds the
//! config, the flat-file store, the lifecycle engine and the dashboard.
//!
//! The binary's command layer lives in `cli/`; everything here is library code that returns
//! [`Error`] and never prints.

pub mod alloc;
pub mod config;
pub mod daemon;
pub mod dashboard;
pub mod error;
pub mod files;
pub mod fleet;
pub mod lifecycle;
pub mod paths;
pub mod plugins;
pub mod proc;
pub mod prompt;
pub mod store;

pub use error::Error;

/// This `ao`'s version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

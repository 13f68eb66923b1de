//! Finding, checking, loading and calling plugins.
//!
//! The pipeline, in order (nothing runs plugin code before step 3, and step 3 runs in a child):
//! 1. [`discovery`]: the search path and the library files in it; a project's `.ao/plugins` only
//!    as far as [`trust`] allows;
//! 2. [`precheck`]: file type and target, permissions, recorded checksum;
//! 3. [`probe`]: open the library in a child process (`ao __plugin-shim probe`) and read its
//!    manifest, so a crashing constructor cannot take `ao` down; results are cached by file
//!    identity;
//! 4. [`compat`]: ABI, protocol semver, target and panic strategy;
//! 5. [`catalog`]: every candidate with a status (`ok`, `incompatible`, `failed`, `shadowed`);
//! 6. [`loader`]: `dlopen` in process (the only caller of abi_stable's loader) and a manifest
//!    cross-check;
//! 7. [`registry`] and [`component`]: components keyed by (slot, name), called through
//!    `spawn_blocking` with a timeout, a concurrency limit, `cancel` on timeout and poisoning
//!    after a panic.

pub mod catalog;
pub mod compat;
pub mod component;
pub mod discovery;
mod host_impl;
pub mod install;
pub mod loader;
pub mod precheck;
pub mod probe;
pub mod registry;
pub mod shim;
pub mod sidecar;
pub mod slots;
mod subprocess;
pub mod template;
mod threads;
pub mod trust;
pub mod wire;

pub use catalog::{Catalog, Entry, Status};
pub use component::{Backend, CallOptions, ComponentHandle};
pub use discovery::{SearchDir, SearchPath, Source};
pub use registry::{Isolation, Registry};

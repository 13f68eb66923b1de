//! `ao-plugin-api`: the only crate an `ao` plugin depends on.
//!
//! The interesting things:
//! - [`slots`]: one module per slot with its protocol types, method names and the trait a plugin
//!   implements ([`slots::notifier::Notifier`], [`slots::runtime::Runtime`], …);
//! - [`export_plugin!`]: the one line that turns those impls into a loadable library;
//! - [`sdk`]: [`sdk::Ctx`] (cancellation, deadline), [`sdk::HostHandle`] (secrets, events) and
//!   [`sdk::SdkError`];
//! - [`manifest`]: what a plugin says about itself, and [`manifest::PROTOCOL_VERSION`];
//! - [`abi`]: the frozen stable-ABI waist (abi_stable lives here and nowhere else). Authors never
//!   touch it.
//!
//! A notifier in full:
//!
//! ```
//! use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
//! use ao_plugin_api::slots::notifier::{Notifier, NotifyOutcome, NotifyRequest};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Config { prefix: String }
//!
//! struct Echo { prefix: String }
//!
//! impl Notifier for Echo {
//!     type Config = Config;
//!     fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
//!         Ok(Echo { prefix: config.prefix })
//!     }
//!     fn notify(&self, _ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
//!         ao_plugin_api::tracing::info!("{}{}", self.prefix, req.notification.title);
//!         Ok(NotifyOutcome::default())
//!     }
//! }
//!
//! ao_plugin_api::export_plugin! {
//!     name: "notifier-echo",
//!     description: "Logs every notification",
//!     components: [ notifier "echo" => Echo ],
//! }
//! # fn main() {}
//! ```

pub mod abi;
pub mod manifest;
pub mod sdk;
pub mod slots;
pub mod status_file;

// Re-exported so plugins log through the same `tracing` the SDK forwards, and so macro output
// can name these crates. Semver: these follow the re-exported crates' majors.
pub use schemars;
pub use serde;
pub use serde_json;
pub use tracing;

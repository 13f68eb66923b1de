//! What a plugin says about itself, and the small JSON envelopes that travel with every call.
//!
//! These types are serde, not ABI: they may gain `#[serde(default)]` fields in minor protocol
//! versions, and readers ignore fields they do not know.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The slot protocol version this crate defines. Semver, additive only within a major: new
/// methods and new `#[serde(default)]` fields bump the minor.
pub const PROTOCOL_VERSION: &str = "1.3.0";

/// The seven pluggable slots. The lifecycle engine is the eighth, and not pluggable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// Where a session runs (tmux, process).
    Runtime,
    /// The adapter for one AI coding CLI.
    Agent,
    /// How a session gets its own copy of the code.
    Workspace,
    /// Issues.
    Tracker,
    /// Pull requests, CI and reviews.
    Scm,
    /// Pushes to a human.
    Notifier,
    /// Lets a human look in on sessions.
    Terminal,
}

impl Slot {
    /// Every slot, in display order.
    pub const ALL: [Slot; 7] = [
        Slot::Runtime,
        Slot::Agent,
        Slot::Workspace,
        Slot::Tracker,
        Slot::Scm,
        Slot::Notifier,
        Slot::Terminal,
    ];

    /// The lowercase name used in manifests, config and component ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Runtime => "runtime",
            Slot::Agent => "agent",
            Slot::Workspace => "workspace",
            Slot::Tracker => "tracker",
            Slot::Scm => "scm",
            Slot::Notifier => "notifier",
            Slot::Terminal => "terminal",
        }
    }

    /// Parses a slot name as written in config or on the command line.
    pub fn parse(s: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|slot| slot.as_str() == s)
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin library's self-description, returned by its root module's `manifest()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Unique plugin id, `[a-z0-9-]+` (e.g. `notifier-webhook`, `github`).
    pub name: String,
    /// The plugin's own version (informational).
    pub version: String,
    /// One line for `ao plugins list`.
    #[serde(default)]
    pub description: String,
    /// The ABI major it was built for (see `abi::ABI_VERSION`).
    pub abi: u32,
    /// The slot protocol version it was built against.
    pub protocol: String,
    /// The `ao-plugin-api` version it was built with.
    #[serde(default)]
    pub sdk_version: String,
    /// The target triple it was built for, e.g. `x86_64-unknown-linux-gnu`.
    #[serde(default)]
    pub target: String,
    /// `unwind` or `abort`; the host only loads `unwind` builds in process.
    #[serde(default)]
    pub panic: String,
    /// What the library provides.
    pub components: Vec<ComponentManifest>,
}

/// One component (slot implementation) inside a library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentManifest {
    /// Which slot it fills.
    pub slot: Slot,
    /// Its name within the slot (`webhook` in `notifier/webhook`).
    pub name: String,
    /// JSON Schema of its config, checked by the host before any plugin code runs.
    #[serde(default)]
    pub config_schema: serde_json::Value,
    /// The protocol methods it implements; the host never calls any other.
    pub methods: Vec<String>,
}

impl ComponentManifest {
    /// `slot/name`, the id used on the command line and in the registry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.slot, self.name)
    }
}

/// Sent with every call: who is asking and how long they will wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallCtx {
    /// Unique per call within a host process; `cancel` names it.
    pub request_id: u64,
    /// Milliseconds the host will wait for this call, counted from when it was sent.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// The session the call is about, when there is one.
    #[serde(default)]
    pub session_id: Option<String>,
    /// A correlation id for logs.
    #[serde(default)]
    pub trace_id: Option<String>,
}

/// Given to `instantiate`: facts about the host the plugin is running in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The `ao` version.
    pub ao_version: String,
    /// The protocol version the host speaks; check it before using newer host verbs.
    pub protocol: String,
    /// The host's ABI major.
    pub abi: u32,
    /// The most verbose log level the host will keep: 1 = error … 5 = trace.
    pub log_level: u8,
    /// `ao`'s data directory.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// A unique id for this instance, for log correlation.
    #[serde(default)]
    pub instance_id: String,
    /// Anything else the host wants to say, for forward compatibility.
    #[serde(default, flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The verbs a plugin may pass to `Host::call_host`.
pub mod host_verbs {
    /// `{"name": "GITHUB_TOKEN"}` → `{"value": "..."}` or `NOT_FOUND`. Only the names the
    /// user's config references with `${NAME}` are answered.
    pub const SECRET_GET: &str = "secret.get";
    /// `{}` → the [`super::HostInfo`] again.
    pub const HOST_INFO: &str = "host.info";
    /// `{"request_id": n}` → `{"cancelled": bool}`.
    pub const IS_CANCELLED: &str = "call.is_cancelled";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_round_trip() {
        for slot in Slot::ALL {
            assert_eq!(Slot::parse(slot.as_str()), Some(slot));
            let json = serde_json::to_string(&slot).unwrap();
            assert_eq!(json, format!("\"{}\"", slot.as_str()));
        }
        assert_eq!(Slot::parse("lifecycle"), None);
    }

    #[test]
    fn manifest_ignores_unknown_fields() {
        let json = r#"{"name":"x","version":"1.0.0","abi":1,"protocol":"1.4.0",
            "components":[],"added_in_1_4":true}"#;
        let m: Manifest = serde_json::from_str(json).unwrap();
        assert_eq!(m.protocol, "1.4.0");
    }
}

//! `plugin.json`, written next to an installed library by `ao plugins install`: what was verified
//! at install time (manifest, sha256), so later loads can refuse a library that changed since.

use ao_plugin_api::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file name.
pub const FILE_NAME: &str = "plugin.json";

/// The contents of `plugin.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// The library's file name in the same directory (never guessed).
    pub library: String,
    /// Its sha256 when installed.
    pub sha256: String,
    /// Its manifest when installed.
    pub manifest: Manifest,
    /// Where it was installed from.
    #[serde(default)]
    pub source: String,
    /// When, as Unix epoch seconds.
    #[serde(default)]
    pub installed_at: u64,
}

impl Sidecar {
    /// Reads and parses a sidecar; `Err` is one line.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let s: Sidecar =
            serde_json::from_str(&text).map_err(|e| format!("corrupt {}: {e}", path.display()))?;
        // The library must sit beside the sidecar: no path components.
        if s.library.is_empty() || s.library.contains(['/', '\\']) || s.library.starts_with('.') {
            return Err(format!(
                "corrupt {}: bad library name `{}`",
                path.display(),
                s.library
            ));
        }
        Ok(s)
    }
}

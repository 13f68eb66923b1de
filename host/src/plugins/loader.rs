//! Opens a plugin library in this process. The only caller of abi_stable's loader.
//!
//! **Invariant:** nothing calls [`open`] on a file that has not passed [`super::precheck`] and a
//! child-process probe ([`super::probe`]): opening runs the library's constructors.

use ao_plugin_api::abi::{self, LibraryError, PluginRootRef};
use ao_plugin_api::manifest::Manifest;
use std::path::Path;

/// A library opened in this process. Libraries are never unloaded (TLS destructors and vtables
/// handed to the host would dangle), so this is `Copy`-cheap to keep around.
#[derive(Clone, Copy)]
pub struct OpenLibrary {
    /// The root module.
    pub root: PluginRootRef,
}

/// Why a library could not be opened: one line, plus abi_stable's full report when it has one.
#[derive(Debug)]
pub struct LoadError {
    /// One line a person can act on.
    pub summary: String,
    /// abi_stable's layout report (hundreds of lines), for `--verbose` or a file.
    pub report: Option<String>,
}

/// Opens the library and reads its manifest.
pub fn open(path: &Path) -> Result<(OpenLibrary, Manifest), LoadError> {
    let header = abi::lib_header_from_path(path).map_err(describe)?;
    let root = header
        .init_root_module::<PluginRootRef>()
        .map_err(describe)?;
    let lib = OpenLibrary { root };
    let abi_version = root.abi();
    if abi_version != abi::ABI_VERSION {
        return Err(LoadError {
            summary: format!(
                "built for plugin ABI {abi_version}, this ao speaks {}: rebuild against \
                 ao-plugin-api {}.x",
                abi::ABI_VERSION,
                abi::ABI_VERSION
            ),
            report: None,
        });
    }
    let json = (root.manifest())();
    let manifest: Manifest = serde_json::from_str(json.as_str()).map_err(|e| LoadError {
        summary: format!("its manifest is unreadable: {e}"),
        report: Some(json.to_string()),
    })?;
    Ok((lib, manifest))
}

fn describe(e: LibraryError) -> LoadError {
    let summary = match &e {
        LibraryError::OpenError { err, .. } => format!("cannot be opened: {err}"),
        LibraryError::GetSymbolError { .. } => {
            "not an ao plugin: it exports no ao root module (was it built with export_plugin!?)"
                .to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "built against ao-plugin-api {actual_version}, this ao expects {expected_version}: \
             rebuild against ao-plugin-api {}.x",
            expected_version.major
        ),
        LibraryError::AbiInstability(_) => {
            "its plugin ABI does not match this ao's: rebuild it against ao-plugin-api 1.x".into()
        }
        LibraryError::InvalidAbiHeader(_) => {
            "built with an incompatible abi_stable: rebuild it against ao-plugin-api 1.x".into()
        }
        LibraryError::RootModule { err, .. } => format!("its initialisation failed: {err}"),
        LibraryError::InvalidCAbi { .. } => {
            "built by a compiler with a different C ABI: rebuild it with this toolchain".into()
        }
        other => first_line(&other.to_string()),
    };
    // Only a layout mismatch has a report worth keeping (hundreds of lines comparing layouts).
    let report = matches!(
        e,
        LibraryError::AbiInstability(_) | LibraryError::InvalidCAbi { .. }
    )
    .then(|| e.to_string());
    LoadError { summary, report }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

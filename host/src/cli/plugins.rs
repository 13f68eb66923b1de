//! `ao plugins …`: one file per subcommand under `plugins/`.

mod call;
mod info;
mod install;
mod list;
mod new;
mod remove;
mod trust;
mod verify;

use crate::cli::Globals;
use anyhow::Result;
use ao::plugins::catalog::ScanOptions;
use ao::plugins::{Catalog, SearchPath};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Every plugin library on the search path, with its status
    List(list::Args),
    /// Everything known about one plugin (by name, or a library file)
    Info(info::Args),
    /// Verify a library in a child process, then copy it into the user plugin directory
    Install(install::Args),
    /// Remove a plugin from the user plugin directory
    Remove(remove::Args),
    /// Open plugins in a child process and report what is wrong with them
    Verify(verify::Args),
    /// Allow the plugins in a project's .ao/plugins directory to load
    Trust(trust::Args),
    /// Generate a new plugin crate from the SDK template
    New(new::Args),
    /// Instantiate one component and print the JSON answer of one protocol method
    Call(call::Args),
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    match args.command {
        Command::List(a) => list::run(a, globals),
        Command::Info(a) => info::run(a, globals),
        Command::Install(a) => install::run(a, globals),
        Command::Remove(a) => remove::run(a),
        Command::Verify(a) => verify::run(a, globals),
        Command::Trust(a) => trust::run(a),
        Command::New(a) => new::run(a),
        Command::Call(a) => call::run(a, globals),
    }
}

/// The search path from the global flags and the environment.
fn search_path(globals: &Globals) -> SearchPath {
    SearchPath::from_env(&globals.plugin_dirs)
}

/// Scans the search path with the probe cache.
pub(crate) fn scan(globals: &Globals) -> Catalog {
    Catalog::scan(&search_path(globals), &ScanOptions::for_current_exe())
}

/// Scans with the config's extra plugin directories after the `--plugin-dir` ones.
pub(crate) fn scan_with(globals: &Globals, config: &ao::config::Config) -> Catalog {
    let mut dirs = globals.plugin_dirs.clone();
    dirs.extend(config.plugin_dirs.iter().cloned());
    Catalog::scan(
        &SearchPath::from_env(&dirs),
        &ScanOptions::for_current_exe(),
    )
}

/// Every component of every usable library.
pub(crate) fn components(catalog: &Catalog) -> Vec<ao_plugin_api::manifest::ComponentManifest> {
    catalog
        .entries
        .iter()
        .filter(|e| e.status == ao::plugins::Status::Ok)
        .flat_map(|e| e.manifest.iter().flat_map(|m| m.components.iter().cloned()))
        .collect()
}

/// Problems with the plugins a config names (see `ao::config::plugin_config::problems`).
pub(crate) fn config_problems(
    catalog: &Catalog,
    config: &ao::config::Config,
    text: &str,
) -> Vec<ao::config::Problem> {
    ao::config::plugin_config::problems(config, text, &components(catalog))
}

/// `notifier/webhook, tracker/github`.
fn component_ids(entry: &ao::plugins::Entry) -> String {
    entry
        .manifest
        .as_ref()
        .map(|m| {
            m.components
                .iter()
                .map(|c| c.id())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "-".into())
}

/// The JSON shape of one catalog entry, shared by `list --json`, `info --json` and `verify --json`.
fn entry_json(e: &ao::plugins::Entry) -> serde_json::Value {
    let (status, reason) = match &e.status {
        ao::plugins::Status::Ok => ("ok", None),
        ao::plugins::Status::Incompatible(r) => ("incompatible", Some(r.clone())),
        ao::plugins::Status::Failed(r) => ("failed", Some(r.clone())),
        ao::plugins::Status::Shadowed(by) => {
            ("shadowed", Some(format!("shadowed by {}", by.display())))
        }
    };
    let m = e.manifest.as_ref();
    serde_json::json!({
        "name": e.name,
        "version": m.map(|m| &m.version),
        "description": m.map(|m| &m.description),
        "status": status,
        "reason": reason,
        "compatible": matches!(e.status, ao::plugins::Status::Ok | ao::plugins::Status::Shadowed(_)),
        "protocol": m.map(|m| &m.protocol),
        "abi": m.map(|m| m.abi),
        "target": m.map(|m| &m.target),
        "slots": m.map(|m| {
            let mut s: Vec<_> = m.components.iter().map(|c| c.slot.as_str()).collect();
            s.dedup();
            s
        }),
        "components": m.map(|m| m.components.iter().map(|c| serde_json::json!({
            "id": c.id(), "slot": c.slot, "name": c.name, "methods": c.methods,
        })).collect::<Vec<_>>()),
        "path": e.path,
        "source": e.dir.source,
        "dir": e.dir.path,
        "sha256": e.sha256,
        "installed": e.sidecar.is_some(),
    })
}

//! `ao plugins list`: every library on the search path with its status. Exits 0 even when some
//! libraries are broken: the listing is the report.

use crate::cli::{Globals, output};
use anyhow::Result;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Print `{"data": [...], "meta": {...}}` instead of a table
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let search = super::search_path(globals);
    let catalog = ao::plugins::Catalog::scan(
        &search,
        &ao::plugins::catalog::ScanOptions::for_current_exe(),
    );
    if args.json {
        output::json(&serde_json::json!({
            "data": catalog.entries.iter().map(super::entry_json).collect::<Vec<_>>(),
            "meta": {
                "protocol": ao_plugin_api::manifest::PROTOCOL_VERSION,
                "abi": ao_plugin_api::abi::ABI_VERSION,
                "searchPath": search.dirs.iter().map(|d| serde_json::json!({
                    "dir": d.path, "source": d.source,
                })).collect::<Vec<_>>(),
            },
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if catalog.entries.is_empty() {
        output::note("no plugins found; searched:");
        for d in &search.dirs {
            output::note(&format!("  {} ({})", d.path.display(), d.source.as_str()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows = catalog
        .entries
        .iter()
        .map(|e| {
            let m = e.manifest.as_ref();
            vec![
                e.name.clone(),
                m.map_or("-".into(), |m| m.version.clone()),
                super::component_ids(e),
                m.map_or("-".into(), |m| m.protocol.clone()),
                format!("{} {}", e.dir.source.as_str(), e.dir.path.display()),
                e.status.label(),
            ]
        })
        .collect();
    output::out(&output::table(
        &[
            "NAME",
            "VERSION",
            "COMPONENTS",
            "PROTOCOL",
            "SOURCE",
            "STATUS",
        ],
        rows,
    ))?;
    Ok(ExitCode::SUCCESS)
}

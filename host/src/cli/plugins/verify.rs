//! `ao plugins verify [<name>|<file>]`: re-checks libraries from scratch (no cache), opening each
//! in a child process, so a crashing constructor is reported instead of killing `ao`.

use crate::cli::{Globals, output};
use anyhow::{Result, bail};
use ao::plugins::catalog::ScanOptions;
use ao::plugins::discovery::Candidate;
use ao::plugins::{Catalog, Status};
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A plugin name or a library file; all plugins when omitted
    target: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let fresh = ScanOptions {
        cache: None,
        ..ScanOptions::for_current_exe()
    };
    let candidates = match &args.target {
        Some(t) if Path::new(t).is_file() => {
            vec![Candidate::for_file(Path::new(t))?]
        }
        Some(name) => {
            // Find the files by name first (cheaply, from the cache), then re-check only those.
            let catalog = super::scan(globals);
            let paths: Vec<_> = catalog.all_named(name).map(|e| e.path.clone()).collect();
            if paths.is_empty() {
                let names: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
                bail!(ao::Error::PluginNotFound {
                    name: name.clone(),
                    hint: ao::error::did_you_mean(name, names)
                });
            }
            super::search_path(globals)
                .candidates()
                .into_iter()
                .filter(|c| paths.contains(&c.path))
                .collect()
        }
        None => super::search_path(globals).candidates(),
    };
    let catalog = Catalog::scan_candidates(candidates, &fresh);
    let bad = catalog
        .entries
        .iter()
        .filter(|e| matches!(e.status, Status::Failed(_) | Status::Incompatible(_)))
        .count();
    if args.json {
        output::json(&serde_json::json!({
            "data": catalog.entries.iter().map(super::entry_json).collect::<Vec<_>>(),
            "meta": { "failed": bad },
        }))?;
    } else {
        let rows = catalog
            .entries
            .iter()
            .map(|e| {
                let version = e
                    .manifest
                    .as_ref()
                    .map_or("-".into(), |m| m.version.clone());
                vec![
                    e.name.clone(),
                    version,
                    e.path.display().to_string(),
                    e.status.label(),
                ]
            })
            .collect();
        output::out(&output::table(
            &["NAME", "VERSION", "LIBRARY", "RESULT"],
            rows,
        ))?;
    }
    Ok(if bad > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

//! `ao plugins install <file|dir>`.

use crate::cli::{Globals, output};
use anyhow::{Context, Result};
use ao::plugins::catalog::ScanOptions;
use ao::plugins::{Catalog, Status};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A plugin library, or a directory holding exactly one
    source: PathBuf,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let root = ao::paths::user_plugin_dir()
        .context("cannot tell where the user plugin directory is (is HOME set?)")?;
    let done = ao::plugins::install::install(&args.source, &root, &ScanOptions::for_current_exe())
        .with_context(|| format!("could not install {}", args.source.display()))?;
    let replaced = done
        .replaced
        .map(|v| format!(" (replaced {v})"))
        .unwrap_or_default();
    output::out(&format!(
        "installed {} {} into {}{replaced}",
        done.name,
        done.version,
        done.dir.display()
    ))?;
    // An earlier copy on the search path would still win; say so rather than surprise later.
    let catalog = Catalog::scan(
        &super::search_path(globals),
        &ScanOptions::for_current_exe(),
    );
    if let Some(e) = catalog
        .all_named(&done.name)
        .find(|e| e.path.starts_with(&done.dir))
        && let Status::Shadowed(by) = &e.status
    {
        output::note(&format!(
            "warning: {} is shadowed by {}, which is earlier on the search path",
            done.name,
            by.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

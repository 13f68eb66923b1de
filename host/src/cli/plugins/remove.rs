//! `ao plugins remove <name>`.

use crate::cli::output;
use anyhow::{Context, Result};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The plugin's name
    name: String,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let root = ao::paths::user_plugin_dir()
        .context("cannot tell where the user plugin directory is (is HOME set?)")?;
    let dir = ao::plugins::install::remove(&args.name, &root)?;
    output::out(&format!("removed {} from {}", args.name, dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

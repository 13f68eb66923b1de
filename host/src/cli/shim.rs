//! `ao __plugin-shim`: the child side of plugin isolation. `probe <lib>` opens a library and
//! prints one JSON line describing it; the parent survives whatever the library does.

use crate::cli::output;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, clap::Subcommand)]
enum Op {
    /// Open a library and print its manifest (or why it cannot be opened) as one JSON line
    Probe { library: PathBuf },
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.op {
        Op::Probe { library } => {
            let reply = ao::plugins::probe::child_main(&library);
            output::out(&serde_json::to_string(&reply)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

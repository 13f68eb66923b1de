//! `ao __plugin-shim`: the child side of plugin isolation. `probe <lib>` opens a library and
//! prints one JSON line describing it; `serve <lib> <component>` runs one component for a parent
//! in `isolation: subprocess` mode. The parent survives whatever the library does.

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
    /// Serve one component of a library over stdin/stdout (JSON lines) until stdin closes
    Serve { library: PathBuf, component: String },
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.op {
        Op::Probe { library } => {
            let reply = ao::plugins::probe::child_main(&library);
            output::out(&serde_json::to_string(&reply)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Op::Serve { library, component } => {
            let proto = ao::plugins::shim::protocol_stdout()?;
            let code = ao::plugins::shim::serve(
                &library,
                &component,
                Box::new(std::io::BufReader::new(std::io::stdin())),
                Box::new(proto),
            );
            // Exit now: a call stuck in plugin code must not keep this process alive.
            std::process::exit(code)
        }
    }
}

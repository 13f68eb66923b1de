//! `ao session ls`: the sessions as a flat list.

use crate::cli::context::{self, ago, now_ms};
use crate::cli::{Globals, output};
use anyhow::Result;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List sessions
    Ls(context::ListFlags),
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    match args.command {
        Command::Ls(flags) => ls(flags, globals),
    }
}

fn ls(flags: context::ListFlags, globals: &Globals) -> Result<ExitCode> {
    let l = context::listing(&flags, globals)?;
    if flags.json {
        context::print_json(&l)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    let rows = l
        .sessions
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.project.clone(),
                s.status.as_str().to_string(),
                s.branch.clone().unwrap_or_else(|| "-".into()),
                format!("{} ago", ago(s.created_at, now)),
            ]
        })
        .collect();
    output::out(&output::table(
        &["SESSION", "PROJECT", "STATUS", "BRANCH", "CREATED"],
        rows,
    ))?;
    if l.hidden > 0 {
        output::note(&format!(
            "{} ended session(s) hidden: --include-terminated shows them",
            l.hidden
        ));
    }
    Ok(ExitCode::SUCCESS)
}

//! `ao session ls`: the sessions as a flat list.

use crate::cli::context::{self, ago, now_ms};
use crate::cli::{Globals, output};
use anyhow::Result;
use ao::store::view::SessionList;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List sessions
    Ls(LsArgs),
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
    /// Print `{"data": [...], "meta": {...}}`
    #[arg(long)]
    json: bool,
    /// Include sessions that have ended
    #[arg(long)]
    include_terminated: bool,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    match args.command {
        Command::Ls(a) => ls(a, globals),
    }
}

fn ls(args: LsArgs, globals: &Globals) -> Result<ExitCode> {
    let config = context::load_config(&globals.with(&args.cfg))?;
    let g = context::gather(&config)?;
    context::warn_corrupt(&g.corrupt);
    let hidden = g
        .sessions
        .iter()
        .filter(|s| !args.include_terminated && s.status.is_terminal())
        .count();
    let shown: Vec<_> = g
        .sessions
        .iter()
        .filter(|s| args.include_terminated || !s.status.is_terminal())
        .collect();
    if args.json {
        output::json(&crate::cli::status::Envelope {
            data: SessionList(&shown),
            meta: serde_json::json!({ "hiddenTerminatedCount": hidden }),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    let rows = shown
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
    if hidden > 0 {
        output::note(&format!(
            "{hidden} ended session(s) hidden: --include-terminated shows them"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

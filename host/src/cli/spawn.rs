//! `ao spawn [issue]`: one worker session, as a transaction (a failure leaves nothing behind).
//! Prints `SESSION=<id>` for scripts.

use crate::cli::{Globals, fleet, output};
use anyhow::Result;
use ao::fleet::spawn::{SpawnRequest, spawn};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The tracker issue to work on (e.g. 42)
    issue: Option<String>,
    /// The project (default: the only one, or the one holding the current directory)
    #[arg(long)]
    project: Option<String>,
    /// The agent plugin (default: the project's)
    #[arg(long)]
    agent: Option<String>,
    /// The branch (default: from the issue, else session/<id>)
    #[arg(long)]
    branch: Option<String>,
    /// An instruction for the agent (the task itself when there is no issue)
    #[arg(long)]
    prompt: Option<String>,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let opened = fleet::open(&globals.with(&args.cfg))?;
    let project = fleet::pick_project(&opened.fleet, args.project.as_deref())?;
    let req = SpawnRequest {
        project,
        issue: args.issue.map(|i| i.trim_start_matches('#').to_string()),
        agent: args.agent,
        branch: args.branch,
        prompt: args.prompt,
    };
    let spawned = match opened.run(async |f| {
        fleet::interrupt_on_signals(f);
        spawn(f, &req).await
    }) {
        Ok(s) => s,
        Err(ao::Error::Interrupted) => {
            output::note("spawn interrupted: nothing was left behind");
            return Ok(fleet::interrupted());
        }
        Err(e) => return Err(e.into()),
    };
    let s = &spawned.session;
    output::note(&format!(
        "spawned {} on {} in {}",
        s.id,
        s.branch.as_deref().unwrap_or("?"),
        s.workspace.as_deref().unwrap_or("?")
    ));
    if let ao::fleet::launch::Up::NoSignYet(after) = spawned.up {
        output::note(&format!(
            "warning: the agent is running but showed no sign of life within {}s; `ao status` follows it",
            after.as_secs()
        ));
    }
    if spawned.prompt_acknowledged == Some(false) {
        output::note(&format!(
            "warning: the agent did not acknowledge its task yet; check with `ao send {} ...`",
            s.id
        ));
    }
    output::out(&format!("SESSION={}\n", s.id))?;
    Ok(ExitCode::SUCCESS)
}

//! `ao session ls|kill|restore|cleanup`.

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
    /// Stop a session's agent and remove its workspace (kept if it holds unpushed work)
    Kill(IdArgs),
    /// Bring an ended session back, continuing the agent's conversation
    Restore(IdArgs),
    /// End sessions whose PR closed or whose agent is gone, and stop runtime sessions no live
    /// session owns
    Cleanup(CleanupArgs),
}

#[derive(Debug, clap::Args)]
struct IdArgs {
    /// Session ids
    #[arg(required = true)]
    sessions: Vec<String>,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

#[derive(Debug, clap::Args)]
struct CleanupArgs {
    /// Only say what would be cleaned up
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    match args.command {
        Command::Ls(flags) => ls(flags, globals),
        Command::Kill(a) => kill(a, globals),
        Command::Restore(a) => restore(a, globals),
        Command::Cleanup(a) => cleanup(a, globals),
    }
}

fn kill(a: IdArgs, globals: &Globals) -> Result<ExitCode> {
    let opened = crate::cli::fleet::open(&globals.with(&a.cfg))?;
    opened.run(async |f| -> Result<ExitCode> {
        for id in &a.sessions {
            let s = ao::fleet::send::find(f, id)?;
            let k = ao::fleet::kill::kill(f, &s, ao::fleet::kill::KillReason::User).await?;
            output::note(&k.describe(id, "killed"));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn restore(a: IdArgs, globals: &Globals) -> Result<ExitCode> {
    let opened = crate::cli::fleet::open(&globals.with(&a.cfg))?;
    opened.run(async |f| -> Result<ExitCode> {
        for id in &a.sessions {
            let s = ao::fleet::send::find(f, id)?;
            let r = ao::fleet::kill::restore(f, &s).await?;
            output::note(&format!("{id}: {}", r.status_reason));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn cleanup(a: CleanupArgs, globals: &Globals) -> Result<ExitCode> {
    use ao::store::session::Status;
    let mut opened = crate::cli::fleet::open(&globals.with(&a.cfg))?;
    opened.recover = !a.dry_run;
    opened.run(async |f| -> Result<ExitCode> {
        let mut n = 0;
        if a.dry_run {
            for (_, id) in ao::fleet::journal::dead(f) {
                n += 1;
                output::note(&format!("{id}: would undo an interrupted spawn"));
            }
        }
        for p in f.config.projects.keys() {
            for item in f.store(p).list_sessions()? {
                let ao::store::sessions::Listed::Session(s) = item else {
                    continue;
                };
                let pr_closed = s.pr_fact.as_ref().is_some_and(|pr| pr.state != "open");
                let gone = matches!(s.status, Status::Killed | Status::Merged);
                if s.role != ao::store::session::Role::Worker || !(pr_closed || gone) {
                    continue;
                }
                if matches!(s.status, Status::Cleanup | Status::Terminated) {
                    continue;
                }
                n += 1;
                if a.dry_run {
                    output::note(&format!("{}: would clean up ({})", s.id, s.status.as_str()));
                    continue;
                }
                let k = ao::fleet::kill::kill(f, &s, ao::fleet::kill::KillReason::Cleanup).await?;
                output::note(&k.describe(&s.id, "cleaned up"));
            }
        }
        n += remove_leftovers(f, a.dry_run).await?;
        if n + crate::cli::fleet::recovered() == 0 {
            output::note("nothing to clean up");
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Removes (or with `dry_run` names) the runtime sessions no live session owns; how many.
pub(crate) async fn remove_leftovers(f: &ao::fleet::Fleet, dry_run: bool) -> Result<usize> {
    use ao::fleet::leftovers;
    let (left, unknown) = leftovers::find(f).await?;
    for why in unknown {
        output::note(&format!("warning: runtime sessions not checked: {why}"));
    }
    for l in &left {
        if dry_run {
            output::note(&format!(
                "{}: would stop (no live session owns it)",
                leftovers::describe(l)
            ));
            continue;
        }
        leftovers::remove(f, l).await?;
        output::note(&format!(
            "{}: stopped (no live session owned it)",
            leftovers::describe(l)
        ));
    }
    Ok(left.len())
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

//! `ao batch-spawn <issues...>`: one worker session per issue, a few at a time, with a progress
//! bar. Issues that already have a live session (or appear twice) are skipped, not spawned
//! twice. Prints `SESSION=<id> ISSUE=<n>` per spawned session; exits 1 if any spawn failed
//! (each failure undid its own steps, like `ao spawn`).

use crate::cli::{Globals, fleet, output};
use anyhow::{Result, bail};
use ao::fleet::spawn::{SpawnRequest, spawn};
use ao::store::sessions::Listed;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The tracker issues to work on (e.g. 12 13 14)
    #[arg(required = true, value_name = "ISSUE")]
    issues: Vec<String>,
    /// The project (default: the only one, or the one holding the current directory)
    #[arg(long)]
    project: Option<String>,
    /// The agent plugin (default: the project's)
    #[arg(long)]
    agent: Option<String>,
    /// How many sessions are set up at the same time
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=32))]
    concurrency: u16,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let mut wanted: Vec<String> = Vec::new();
    for raw in &args.issues {
        let issue = raw.trim().trim_start_matches('#').to_string();
        if issue.is_empty() {
            bail!("`{raw}` is not an issue: give issue numbers or ids, e.g. 12 13");
        }
        if wanted.contains(&issue) {
            output::note(&format!("#{issue} is listed twice: spawning it once"));
            continue;
        }
        wanted.push(issue);
    }
    let opened = fleet::open(&globals.with(&args.cfg))?;
    let project = fleet::pick_project(&opened.fleet, args.project.as_deref())?;
    // Issues with a live session are skipped: a second agent on the same issue is never wanted.
    let mut live: BTreeMap<String, String> = BTreeMap::new();
    for l in opened.fleet.store(&project).list_sessions()? {
        if let Listed::Session(s) = l
            && !s.status.is_terminal()
            && let Some(i) = &s.issue
        {
            live.insert(i.clone(), s.id.clone());
        }
    }
    let (skip, todo): (Vec<String>, Vec<String>) =
        wanted.into_iter().partition(|i| live.contains_key(i));
    for i in &skip {
        output::note(&format!("skipped #{i}: {} is already on it", live[i]));
    }
    if todo.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }

    let bar = ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} spawning {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let concurrency = usize::from(args.concurrency);
    let agent = args.agent.clone();
    let results = opened.run(async |f| {
        fleet::interrupt_on_signals(f);
        futures_util::stream::iter(todo)
            .map(|issue| {
                let req = SpawnRequest {
                    project: project.clone(),
                    issue: Some(issue.clone()),
                    agent: agent.clone(),
                    ..SpawnRequest::default()
                };
                bar.set_message(format!("#{issue}"));
                async move { (issue, spawn(f, &req).await) }
            })
            .buffer_unordered(concurrency)
            .map(|(issue, r)| {
                bar.inc(1);
                // Printed above the bar (and plainly when there is no bar).
                bar.suspend(|| match &r {
                    Ok(s) => output::note(&format!(
                        "spawned {} on #{issue} ({})",
                        s.session.id,
                        s.session.branch.as_deref().unwrap_or("?")
                    )),
                    Err(ao::Error::Interrupted) => {
                        output::note(&format!("not spawned #{issue}: interrupted"))
                    }
                    Err(e) => output::note(&format!("failed #{issue}: {e}")),
                });
                (issue, r)
            })
            .collect::<Vec<_>>()
            .await
    });
    bar.finish_and_clear();

    let mut failed = 0;
    let mut spawned = 0;
    let mut interrupted = 0;
    let mut lines = String::new();
    for (issue, r) in &results {
        match r {
            Ok(s) => {
                spawned += 1;
                lines.push_str(&format!("SESSION={} ISSUE={issue}\n", s.session.id));
            }
            Err(ao::Error::Interrupted) => interrupted += 1,
            Err(_) => failed += 1,
        }
    }
    if !lines.is_empty() {
        output::out(&lines)?;
    }
    output::note(&format!(
        "{spawned} spawned, {} skipped, {failed} failed{}",
        skip.len(),
        if interrupted > 0 {
            format!(", {interrupted} interrupted (undone)")
        } else {
            String::new()
        }
    ));
    Ok(if interrupted > 0 {
        fleet::interrupted()
    } else if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

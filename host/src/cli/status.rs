//! `ao status [--json]`: every session grouped by project, from the stored facts (it spawns
//! nothing and calls no plugin, so it is fast at any fleet size). `--watch`: see `watch.rs`.

use crate::cli::context::{self, ago, now_ms};
use crate::cli::{Globals, output};
use anyhow::Result;
use ao::store::session::{Session, Status};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    list: context::ListFlags,
    /// A full-screen view that keeps itself up to date (attach, send a message)
    #[arg(long, conflicts_with = "json")]
    watch: bool,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    if args.watch {
        return crate::cli::watch::run(&globals.with(&args.list.cfg));
    }
    let l = context::listing(&args.list, globals)?;
    if args.list.json {
        context::print_json(&l)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    let color = output::color_stdout();
    let mut text = String::new();
    for (id, project) in &l.config.projects {
        let rows: Vec<Vec<String>> = l
            .sessions
            .iter()
            .filter(|s| &s.project == id)
            .map(|s| row(s, now, color))
            .collect();
        let repo = project
            .repo
            .as_deref()
            .map(|r| format!("{r}, "))
            .unwrap_or_default();
        text.push_str(&format!("{id} ({repo}{})\n", project.path.display()));
        if rows.is_empty() {
            text.push_str("  no active sessions\n\n");
            continue;
        }
        let table = output::table(
            &["SESSION", "STATUS", "ACTIVITY", "BRANCH", "PR", "SUMMARY"],
            rows,
        );
        for line in table.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
    }
    if l.hidden > 0 {
        text.push_str(&format!(
            "{} ended session(s) hidden: --include-terminated shows them\n",
            l.hidden
        ));
    }
    output::out(text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

fn row(s: &Session, now: u64, color: bool) -> Vec<String> {
    let activity = match &s.activity_fact {
        Some(a) => {
            let state = serde_json::to_value(a.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            format!("{state} {} ago", ago(a.at, now))
        }
        None => "-".into(),
    };
    let pr = match (&s.pr, &s.pr_fact) {
        (Some(url), Some(f)) => format!("#{} ci:{} review:{}", pr_number(url), f.ci, f.review),
        (Some(url), None) => format!("#{}", pr_number(url)),
        _ => "-".into(),
    };
    let summary: String = s
        .summary
        .as_deref()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    vec![
        s.id.clone(),
        paint(s.status, color),
        activity,
        s.branch.clone().unwrap_or_else(|| "-".into()),
        pr,
        summary,
    ]
}

fn pr_number(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Status names read the same without colour; colour only adds emphasis.
fn paint(st: Status, color: bool) -> String {
    let code = match st {
        Status::NeedsInput | Status::Stuck | Status::Errored | Status::Killed => "31",
        Status::CiFailed | Status::ChangesRequested => "33",
        Status::Approved | Status::Mergeable | Status::Merged => "32",
        _ => "",
    };
    if color && !code.is_empty() {
        format!("\x1b[{code}m{}\x1b[0m", st.as_str())
    } else {
        st.as_str().to_string()
    }
}

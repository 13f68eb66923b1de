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
            &[
                "SESSION", "STATUS", "ACTIVITY", "BRANCH", "PR", "COST", "DETAIL",
            ],
            rows,
        );
        for line in table.lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        // A reason the table had to cut is said in full below it: it is what the human acts on.
        for s in l.sessions.iter().filter(|s| &s.project == id) {
            if needs_attention(s) && cell(&s.status_reason) != s.status_reason {
                text.push_str(&format!("  {}: {}\n", s.id, one_line(&s.status_reason)));
            }
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
    // What needs a human shows why; everything else its summary.
    let detail = if needs_attention(s) && !s.status_reason.is_empty() {
        s.status_reason.as_str()
    } else {
        s.summary.as_deref().unwrap_or("")
    };
    let detail = cell(detail);
    vec![
        s.id.clone(),
        paint(s.status, color),
        activity,
        s.branch.clone().unwrap_or_else(|| "-".into()),
        pr,
        s.cost.as_ref().map_or_else(|| "-".into(), cost_cell),
        detail,
    ]
}

fn needs_attention(s: &Session) -> bool {
    matches!(
        s.status,
        Status::NeedsInput | Status::Errored | Status::Stuck | Status::Killed
    ) && !s.status_reason.is_empty()
}

fn one_line(text: &str) -> String {
    shown(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The DETAIL cell: the text's first line, cut to 80 characters.
fn cell(text: &str) -> String {
    shown(text.lines().next().unwrap_or(""))
        .chars()
        .take(80)
        .collect()
}

/// Text an agent or a forge wrote, fit for a terminal: the prompt's own cleaning (no control
/// characters or escape sequences, no bidirectional overrides).
fn shown(text: &str) -> String {
    ao::prompt::sanitize(text, 64 * 1024)
}

/// `12.3k tok $0.42`: every token the agent spent (cache included) and its price.
pub(crate) fn cost_cell(c: &ao_plugin_api::slots::agent::Cost) -> String {
    let tokens = c.input_tokens + c.output_tokens + c.cache_read_tokens + c.cache_write_tokens;
    let t = if tokens >= 1_000_000 {
        format!("{:.1}M", tokens as f64 / 1e6)
    } else if tokens >= 1_000 {
        format!("{:.1}k", tokens as f64 / 1e3)
    } else {
        tokens.to_string()
    };
    match c.usd {
        Some(usd) => format!("{t} tok ${usd:.2}"),
        None => format!("{t} tok"),
    }
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

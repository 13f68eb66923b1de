//! `ao report <state>` and `ao acknowledge`: an agent says what it is doing (upstream's states
//! and aliases). Run from inside a session, where ao set `AO_SESSION` and `AO_DATA_DIR`. Every
//! attempt, accepted or refused, is appended to `sessions/.agent-report-audit/{id}.ndjson`.

use crate::cli::context::now_ms;
use anyhow::{Context, Result, anyhow, bail};
use ao::store::ProjectStore;
use ao::store::session::{ReportFact, Role, Session};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// The audit log keeps at most this many entries, and this many bytes.
const AUDIT_ENTRIES: usize = 200;
const AUDIT_BYTES: u64 = 256 * 1024;

/// Report this session's state (run by the agent)
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// started, working, waiting, needs-input, fixing-ci, addressing-reviews, pr-created,
    /// draft-pr-created, ready-for-review, completed
    state: String,
    /// What the human should know (the question, for needs-input)
    #[arg(long)]
    note: Option<String>,
    /// The PR's URL (for PR states)
    #[arg(long)]
    pr_url: Option<String>,
    /// The PR's number (for PR states; must agree with --pr-url)
    #[arg(long)]
    pr_number: Option<u64>,
    #[command(flatten)]
    target: Target,
}

/// Which session (ao sets both variables in every session it starts).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Target {
    /// The session id
    #[arg(long, env = "AO_SESSION", value_name = "ID")]
    session: Option<String>,
    /// The project's data directory
    #[arg(long, env = "AO_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Acknowledge the task (`ao report started`)
#[derive(Debug, clap::Args)]
pub(crate) struct AckArgs {
    #[command(flatten)]
    target: Target,
}

/// A reported state's canonical name, from the name or an alias (case-insensitive). `done` is
/// deliberately not accepted: it is ambiguous between "PR open" and "finished".
pub(crate) fn canonical(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "started" | "start" => "started",
        "working" | "work" => "working",
        "waiting" | "wait" => "waiting",
        "needs-input" | "input" => "needs_input",
        "fixing-ci" | "ci" => "fixing_ci",
        "addressing-reviews" | "reviews" => "addressing_reviews",
        "pr-created" => "pr_created",
        "draft-pr-created" => "draft_pr_created",
        "ready-for-review" => "ready_for_review",
        "completed" | "complete" => "completed",
        _ => return None,
    })
}

/// Why a report is refused, if it is.
pub(crate) fn refusal(s: &Session) -> Option<String> {
    if s.role == Role::Orchestrator {
        return Some("the orchestrator session does not report".into());
    }
    if s.status.is_terminal() {
        return Some(format!("the session has ended ({})", s.status.as_str()));
    }
    if let Some(pr) = s
        .pr_fact
        .as_ref()
        .filter(|p| p.state == "merged" || p.state == "closed")
    {
        return Some(format!("its PR is already {}", pr.state));
    }
    if let Some(rt) = &s.runtime_fact
        && (!rt.session_exists || rt.process_running == Some(false))
    {
        return Some("its runtime has exited".into());
    }
    None
}

fn pr_number_of(url: &str) -> Option<u64> {
    let (_, tail) = url
        .rsplit_once("/pull/")
        .or_else(|| url.rsplit_once("/merge_requests/"))?;
    tail.trim_end_matches('/').parse().ok()
}

fn audit(store: &ProjectStore, id: &str, entry: serde_json::Value) -> Result<()> {
    let dir = store.sessions_dir().join(".agent-report-audit");
    ao::paths::private_dir_all(&dir)?;
    let path = dir.join(format!("{id}.ndjson"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > AUDIT_BYTES) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let keep = lines[lines.len().saturating_sub(AUDIT_ENTRIES / 2)..].join("\n");
        ao_plugin_api::sdk::agent::write_if_changed(&path, format!("{keep}\n").as_bytes())?;
    }
    let mut line = serde_json::to_vec(&entry)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?
        .write_all(&line)?;
    Ok(())
}

fn store_of(target: &Target) -> Result<(ProjectStore, String)> {
    let (Some(id), Some(dir)) = (target.session.clone(), target.data_dir.clone()) else {
        bail!(
            "not inside an ao session: AO_SESSION and AO_DATA_DIR are unset (or pass --session and --data-dir)"
        );
    };
    if !ao::store::ids::valid_component(&id) {
        bail!("session id {id:?} is not valid");
    }
    Ok((ProjectStore::at(dir), id))
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let state = canonical(&args.state).ok_or_else(|| {
        anyhow!(
            "unknown state {:?}: use started, working, waiting, needs-input, fixing-ci, \
             addressing-reviews, pr-created, draft-pr-created, ready-for-review or completed",
            args.state
        )
    })?;
    if let (Some(url), Some(n)) = (&args.pr_url, args.pr_number)
        && pr_number_of(url) != Some(n)
    {
        bail!("--pr-url {url} and --pr-number {n} disagree");
    }
    if let Some(url) = &args.pr_url
        && (!url.starts_with("https://") || pr_number_of(url).is_none())
    {
        bail!("--pr-url {url} is not a pull request URL (https://…/pull/N)");
    }
    let (store, id) = store_of(&args.target)?;
    let session = store
        .session(&id)?
        .ok_or_else(|| anyhow!("no session {id} in {}", store.root().display()))?;
    let now = now_ms();
    let actor = std::env::var("USER").unwrap_or_default();
    let note = args.note.as_deref().map(|n| ao::prompt::sanitize(n, 2000));
    if let Some(why) = refusal(&session) {
        audit(
            &store,
            &id,
            serde_json::json!({"at": now, "state": state, "accepted": false, "reason": why, "actor": actor}),
        )?;
        bail!("report refused: {why}");
    }
    let before = session.report_fact.clone();
    let updated = store
        .update_session(&id, |s| {
            s.report_fact = Some(ReportFact {
                state: state.to_owned(),
                note: note.clone(),
                at: now,
            });
            if let Some(url) = &args.pr_url {
                s.pr = Some(url.clone());
            }
        })
        .with_context(|| format!("recording the report of {id}"))?;
    audit(
        &store,
        &id,
        serde_json::json!({"at": now, "state": state, "accepted": true, "actor": actor,
            "before": before, "after": updated.report_fact, "pr": updated.pr}),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn acknowledge(args: AckArgs) -> Result<ExitCode> {
    run(Args {
        state: "started".into(),
        note: None,
        pr_url: None,
        pr_number: None,
        target: args.target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_aliases() {
        assert_eq!(canonical("Needs-Input"), Some("needs_input"));
        assert_eq!(canonical("input"), Some("needs_input"));
        assert_eq!(canonical("ci"), Some("fixing_ci"));
        assert_eq!(canonical("complete"), Some("completed"));
        assert_eq!(canonical("done"), None);
        assert_eq!(pr_number_of("https://github.com/a/b/pull/12"), Some(12));
    }
}

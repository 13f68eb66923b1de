//! `derive(facts, thresholds, now) -> (status, reason)`: the one place a status is decided.
//!
//! Pure: no I/O, no clock. Precedence, first match wins (DESIGN §3):
//! 1. a status a command set for good (killed, cleanup, terminated, done, errored, merged) stays;
//! 2. runtime probes: a session or agent process seen gone on `confirmations` consecutive probes
//!    is `killed`; fewer is "detecting" (the previous status stays, the reason says so);
//! 3. the agent waits for a human → `needs_input`;
//! 4. the agent's turn ended on an API error → `errored`, with the kind (auth, billing, quota,
//!    rate-limited, overloaded) and the error's text: not terminal, the agent recovers when
//!    asked again;
//! 5. PR ground truth (merged, closed, CI, reviews, mergeability);
//! 6. a fresh self-report (`ao report`);
//! 7. the agent claims to work but neither its signals nor its screen moved past the stuck
//!    threshold → `stuck`; an agent that finished its turn is `idle`, never stuck;
//! 8. otherwise working (or idle, or still spawning within its grace).
//!
//! A signal older than a contrary one never wins: the agent plugin already resolved its layered
//! signals into one `ActivityFact`, and self-reports only count while fresh and newer than it.

use crate::store::session::{ActivityFact, PrFact, ReportFact, Role, RuntimeFact, Status};
use ao_plugin_api::slots::agent::ActivityState;

/// Tunables of the derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Working with nothing moving for longer than this is stuck (`agent-stuck.threshold`).
    pub stuck_ms: Option<u64>,
    /// A self-report counts for this long.
    pub report_fresh_ms: u64,
    /// A new session may show no activity for this long before it counts as working.
    pub spawn_grace_ms: u64,
    /// Consecutive "gone" probes before `killed`.
    pub confirmations: u32,
    /// A PR with no passing check and no approval may still read as mergeable
    /// (`lifecycle.mergeWithoutEvidence`; off: nothing then says the PR is good).
    pub merge_without_evidence: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            stuck_ms: Some(10 * 60_000),
            report_fresh_ms: 5 * 60_000,
            spawn_grace_ms: 60_000,
            confirmations: 2,
            merge_without_evidence: false,
        }
    }
}

/// Everything the derivation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Worker or orchestrator.
    pub role: Role,
    /// The stored status before this derivation.
    pub previous: Status,
    /// When the session was created.
    pub created_at: u64,
    /// The latest runtime probe.
    pub runtime: Option<&'a RuntimeFact>,
    /// The latest resolved agent activity.
    pub activity: Option<&'a ActivityFact>,
    /// The latest PR observation.
    pub pr: Option<&'a PrFact>,
    /// The latest self-report.
    pub report: Option<&'a ReportFact>,
    /// Consecutive "gone" observations before this one.
    pub gone_streak: u32,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The status.
    pub status: Status,
    /// Why, in one line.
    pub reason: String,
    /// Consecutive "gone" observations including this one (0 when alive).
    pub gone_streak: u32,
}

fn done(status: Status, reason: impl Into<String>) -> Derived {
    Derived {
        status,
        reason: reason.into(),
        gone_streak: 0,
    }
}

/// Decides the status. See the module docs for the precedence.
pub fn derive(f: &Facts<'_>, t: &Thresholds, now: u64) -> Derived {
    use Status::*;
    if matches!(f.previous, Killed | Cleanup | Terminated | Done | Merged) {
        return Derived {
            status: f.previous,
            reason: String::new(),
            gone_streak: 0,
        };
    }
    if let Some(gone) = gone_why(f) {
        let streak = f.gone_streak + 1;
        if streak >= t.confirmations.max(1) {
            return Derived {
                status: Killed,
                reason: format!("{gone} (seen on {streak} probes)"),
                gone_streak: streak,
            };
        }
        return Derived {
            status: f.previous,
            reason: format!("detecting: {gone}; confirming on the next probe"),
            gone_streak: streak,
        };
    }
    let activity = f.activity;
    if let Some(a) = activity.filter(|a| a.state == ActivityState::WaitingInput) {
        let mut reason = match a.detail.as_deref() {
            // The question itself is what the human needs to see, in one short line.
            Some(q) => format!("the agent asks: {}", one_line(q, 300)),
            None => format!("the agent waits for input ({})", source(a)),
        };
        if let Some(d) = a.dialog.as_ref().filter(|d| !d.options.is_empty()) {
            reason.push_str(&format!(" [{}]", one_line(&d.options.join(" · "), 200)));
        }
        return done(NeedsInput, reason);
    }
    if let Some(a) = activity.filter(|a| a.state == ActivityState::Blocked) {
        let text = a
            .detail
            .as_deref()
            .unwrap_or("the agent stopped on an error");
        return done(
            Errored,
            format!(
                "{} error: {}",
                error_kind(text).as_str(),
                one_line(text, 300)
            ),
        );
    }
    if let Some(pr) = f.pr
        && let Some(d) = from_pr(pr, t)
    {
        return d;
    }
    if f.role == Role::Worker
        && let Some(d) = f.report.and_then(|r| from_report(r, activity, t, now))
    {
        return d;
    }
    if let Some(a) = activity {
        if matches!(a.state, ActivityState::Ready | ActivityState::Idle) {
            return done(Idle, format!("finished its turn ({})", source(a)));
        }
        if a.state == ActivityState::Active {
            // Progress is a new signal or a screen that moved, whichever is newer.
            let moved = f
                .runtime
                .and_then(|r| r.screen_changed_at)
                .unwrap_or(0)
                .max(a.at);
            let still_ms = now.saturating_sub(moved);
            if t.stuck_ms.is_some_and(|limit| still_ms >= limit) {
                return done(
                    Stuck,
                    format!(
                        "claims to be working, but nothing moved for {} ({})",
                        minutes(still_ms),
                        source(a)
                    ),
                );
            }
            return done(Working, format!("active ({})", source(a)));
        }
    }
    if f.previous == Spawning && now.saturating_sub(f.created_at) < t.spawn_grace_ms {
        return done(Spawning, "starting; no activity signal yet");
    }
    done(Working, "no activity signal; assumed working")
}

/// What kind of API error a message describes, from the words the CLIs and the APIs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key is wrong or missing (401, `authentication_failed`).
    Auth,
    /// Out of credit (402, "credit balance is too low").
    Billing,
    /// A usage quota or limit window is used up.
    Quota,
    /// Too many requests for now (429).
    RateLimited,
    /// The provider is overloaded (529, 503).
    Overloaded,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Its name in reasons and event data.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Billing => "billing",
            ErrorKind::Quota => "quota",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Other => "API",
        }
    }

    /// Errors that pass by themselves: the human is told only if they last.
    pub fn transient(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Overloaded)
    }
}

/// Reads an error message into its kind: the specific words first (an OpenAI 429 can be
/// `insufficient_quota`), then an HTTP status that stands as a number of its own (never a
/// substring: a gateway's port 42973 is not a 429), then the general words.
pub fn error_kind(text: &str) -> ErrorKind {
    let t = text.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
    let code = |c: &str| {
        t.split(|ch: char| !ch.is_ascii_alphanumeric())
            .any(|tok| tok == c)
    };
    if any(&[
        "authenticat",
        "api key",
        "api_key",
        "unauthorized",
        "/login",
        "not set",
    ]) || code("401")
    {
        ErrorKind::Auth
    } else if any(&["credit balance", "billing", "payment"]) || code("402") {
        ErrorKind::Billing
    } else if any(&["quota", "usage limit", "limit reached"]) && !any(&["rate limit"]) {
        ErrorKind::Quota
    } else if code("429") || any(&["rate limit", "rate_limit", "ratelimit", "too many requests"]) {
        ErrorKind::RateLimited
    } else if code("529") || code("503") || any(&["overloaded", "server_error", "unavailable"]) {
        ErrorKind::Overloaded
    } else {
        ErrorKind::Other
    }
}

/// Why the agent looks gone, if it does.
fn gone_why(f: &Facts<'_>) -> Option<String> {
    if let Some(r) = f.runtime {
        if !r.session_exists {
            return Some("the runtime session is gone".into());
        }
        if r.process_running == Some(false) {
            return Some(exited(r));
        }
    }
    let exited = f.activity.is_some_and(|a| a.state == ActivityState::Exited);
    // An exit signal older than a probe that saw the process running is stale.
    let contradicted = match (f.activity, f.runtime) {
        (Some(a), Some(r)) => r.process_running == Some(true) && r.at > a.at,
        _ => false,
    };
    (exited && !contradicted).then(|| "the agent exited".into())
}

/// An exited agent, in the runtime's words and the CLI's own: the last of its last lines that
/// reads as an error (they name the fix: a missing key, a refused flag), else its very last.
fn exited(r: &RuntimeFact) -> String {
    let mut why = r
        .exit_detail
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| "the agent process exited".into());
    let said = r
        .last_lines
        .iter()
        .rev()
        .find(|l| reads_as_error(l))
        .or(r.last_lines.last());
    if let Some(line) = said {
        why.push_str(&format!(": {:?}", line.trim()));
    }
    why
}

fn reads_as_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "error",
        "fatal",
        "panic",
        "cannot",
        "can't",
        "could not",
        "couldn't",
        "refus",
        "denied",
        "invalid",
        "not found",
        "not set",
        "unknown",
        "failed",
        "missing",
        "unauthorized",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn from_pr(pr: &PrFact, t: &Thresholds) -> Option<Derived> {
    use Status::*;
    let sha = short(&pr.head_sha);
    Some(match pr.state.as_str() {
        "merged" => done(Merged, "the PR was merged"),
        "closed" => done(Idle, "the PR was closed without merging"),
        "open" => {
            if pr.ci == "failing" {
                let which = if pr.failed_checks.is_empty() {
                    String::new()
                } else {
                    format!(": {}", pr.failed_checks.join(", "))
                };
                done(CiFailed, format!("CI failing on {sha}{which}"))
            } else if pr.review == "changes_requested" {
                done(
                    ChangesRequested,
                    format!(
                        "changes requested ({} unresolved thread{})",
                        pr.unresolved_threads,
                        plural(pr.unresolved_threads)
                    ),
                )
            } else if pr.mergeable
                && pr.ci != "pending"
                && matches!(pr.review.as_str(), "approved" | "none")
            {
                // Mergeable means something says the PR is good: a passing check or an
                // approval. A repository with no checks and no review rules offers neither,
                // and "nothing failed" is not evidence (a PR was once auto-merged 4 s after it
                // opened).
                if pr.ci == "passing" || pr.review == "approved" || t.merge_without_evidence {
                    done(Mergeable, format!("green and mergeable at {sha}"))
                } else {
                    done(
                        PrOpen,
                        format!(
                            "PR open at {sha}: no check ran and nobody approved it, so nothing \
                             says it is good (not merged; lifecycle.mergeWithoutEvidence allows it)"
                        ),
                    )
                }
            } else if pr.review == "approved" {
                let why = if pr.conflicts {
                    "conflicts with the base".to_string()
                } else if pr.ci == "pending" {
                    "CI still running".to_string()
                } else {
                    "not mergeable yet".to_string()
                };
                done(Approved, format!("approved; {why}"))
            } else if pr.review == "review_required" && pr.ci != "pending" {
                done(ReviewPending, "waiting for a review")
            } else {
                let ci = if pr.ci == "pending" {
                    "CI running"
                } else {
                    "open"
                };
                done(PrOpen, format!("PR {ci} at {sha}"))
            }
        }
        _ => return None,
    })
}

fn from_report(
    r: &ReportFact,
    activity: Option<&ActivityFact>,
    t: &Thresholds,
    now: u64,
) -> Option<Derived> {
    // Fresh, and not older than a contrary activity signal (a future timestamp within a minute
    // is clock skew; beyond that the report is ignored).
    let fresh = r.at <= now + 60_000 && now.saturating_sub(r.at) <= t.report_fresh_ms;
    if !fresh || activity.is_some_and(|a| a.at > r.at) {
        return None;
    }
    let status = match r.state.as_str() {
        "needs_input" => Status::NeedsInput,
        "completed" => Status::Done,
        "waiting" | "ready_for_review" | "pr_created" => Status::Idle,
        "started" | "working" | "fixing_ci" | "addressing_reviews" | "draft_pr_created" => {
            Status::Working
        }
        _ => return None,
    };
    let note = r
        .note
        .as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    Some(done(status, format!("reported {}{note}", r.state)))
}

fn source(a: &ActivityFact) -> String {
    serde_json::to_value(a.source)
        .ok()
        .and_then(|v| v.as_str().map(|s| format!("via {s}")))
        .unwrap_or_default()
}

/// The first 7 characters of a commit id, as git shows it.
pub(crate) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn minutes(ms: u64) -> String {
    let m = ms / 60_000;
    if m == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{m}m")
    }
}

/// `text` on one line, cut to `max` characters with an ellipsis.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
#[path = "derive_tests.rs"]
mod tests;

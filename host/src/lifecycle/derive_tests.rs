//! Table tests of the derivation: every status it can produce and every precedence rule.

use super::*;
use crate::store::session::{ActivityFact, PrFact, ReportFact, Role, RuntimeFact, Status};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState};

const NOW: u64 = 10_000_000;
const MIN: u64 = 60_000;

fn alive() -> RuntimeFact {
    RuntimeFact {
        session_exists: true,
        process_running: Some(true),
        at: NOW,
        ..RuntimeFact::default()
    }
}
fn moved(ago: u64) -> RuntimeFact {
    RuntimeFact {
        screen_hash: Some(7),
        screen_changed_at: Some(NOW - ago),
        ..alive()
    }
}
fn failed(text: &str, ago: u64) -> ActivityFact {
    ActivityFact {
        detail: Some(text.into()),
        source: ActivitySource::Screen,
        ..act(ActivityState::Blocked, ago)
    }
}
fn gone() -> RuntimeFact {
    RuntimeFact {
        session_exists: false,
        process_running: None,
        at: NOW,
        ..RuntimeFact::default()
    }
}
fn died_saying(lines: &[&str]) -> RuntimeFact {
    RuntimeFact {
        exit_detail: Some("the agent exited with status 1".into()),
        last_lines: lines.iter().map(|l| l.to_string()).collect(),
        ..exited_proc()
    }
}
fn exited_proc() -> RuntimeFact {
    RuntimeFact {
        session_exists: true,
        process_running: Some(false),
        at: NOW,
        ..RuntimeFact::default()
    }
}
fn act(state: ActivityState, ago: u64) -> ActivityFact {
    ActivityFact {
        state,
        source: ActivitySource::Hook,
        at: NOW - ago,
        detail: None,
        dialog: None,
    }
}
fn pr(state: &str, ci: &str, review: &str, mergeable: bool) -> PrFact {
    PrFact {
        state: state.into(),
        head_sha: "abcdef0123".into(),
        ci: ci.into(),
        review: review.into(),
        mergeable,
        failed_checks: if ci == "failing" {
            vec!["test".into()]
        } else {
            vec![]
        },
        at: NOW,
        ..PrFact::default()
    }
}
fn report(state: &str, ago: u64) -> ReportFact {
    ReportFact {
        state: state.into(),
        note: None,
        at: NOW - ago,
    }
}

struct Case {
    name: &'static str,
    previous: Status,
    role: Role,
    age: u64,
    runtime: Option<RuntimeFact>,
    activity: Option<ActivityFact>,
    pr: Option<PrFact>,
    report: Option<ReportFact>,
    streak: u32,
    want: Status,
    reason_has: &'static str,
}

fn case(name: &'static str, want: Status, reason_has: &'static str) -> Case {
    Case {
        name,
        previous: Status::Working,
        role: Role::Worker,
        age: 30 * MIN,
        runtime: Some(alive()),
        activity: None,
        pr: None,
        report: None,
        streak: 0,
        want,
        reason_has,
    }
}

fn run(c: &Case) -> Derived {
    let f = Facts {
        role: c.role,
        previous: c.previous,
        created_at: NOW - c.age,
        runtime: c.runtime.as_ref(),
        activity: c.activity.as_ref(),
        pr: c.pr.as_ref(),
        report: c.report.as_ref(),
        gone_streak: c.streak,
    };
    derive(&f, &Thresholds::default(), NOW)
}

#[test]
fn the_table() {
    use ActivityState as A;
    use Status::*;
    #[rustfmt::skip]
    let cases = vec![
        // 1. Statuses set for good stay.
        Case { previous: Killed, runtime: Some(alive()), activity: Some(act(A::Active, 0)), ..case("killed stays", Killed, "") },
        Case { previous: Cleanup, ..case("cleanup stays", Cleanup, "") },
        Case { previous: Terminated, ..case("terminated stays", Terminated, "") },
        Case { previous: Done, ..case("done stays", Done, "") },
        Case { previous: Errored, activity: Some(failed("API Error: 529", 5 * MIN)), ..case("errored stays while the error is the latest news", Errored, "overloaded") },
        Case { previous: Merged, pr: Some(pr("open", "failing", "none", false)), ..case("merged stays", Merged, "") },
        // 2. Runtime probes, with the detecting grace.
        Case { runtime: Some(gone()), ..case("gone once: detecting", Working, "detecting: the runtime session is gone") },
        Case { runtime: Some(gone()), streak: 1, ..case("gone twice: killed", Killed, "seen on 2 probes") },
        Case { runtime: Some(exited_proc()), streak: 1, pr: Some(pr("open", "failing", "none", false)), ..case("dead process beats PR facts", Killed, "agent process exited") },
        Case { runtime: Some(died_saying(&["Welcome", "Error: OPENAI_API_KEY is not set", "  run with --help"])), streak: 1, ..case("an exited agent's error line is the reason", Killed, "the agent exited with status 1: \"Error: OPENAI_API_KEY is not set\"") },
        Case { runtime: Some(died_saying(&["a", "b", "bye"])), streak: 1, ..case("else its last line", Killed, "status 1: \"bye\"") },
        Case { previous: CiFailed, runtime: Some(exited_proc()), ..case("detecting keeps the previous status", CiFailed, "detecting") },
        Case { runtime: None, activity: Some(act(A::Exited, 0)), streak: 1, ..case("exit signal without a probe", Killed, "the agent exited") },
        Case { runtime: Some(RuntimeFact { at: NOW, ..alive() }), activity: Some(act(A::Exited, MIN)), ..case("an exit older than a live probe is stale", Working, "assumed working") },
        // 3. The agent asks.
        Case { activity: Some(act(A::WaitingInput, 0)), pr: Some(pr("open", "failing", "none", false)), ..case("input beats PR facts", NeedsInput, "waits for input (via hook)") },
        Case { activity: Some(ActivityFact { detail: Some("Which  language?\nFrench or Spanish".into()), ..act(A::WaitingInput, 0) }), ..case("the question is the reason, on one line", NeedsInput, "the agent asks: Which language? French or Spanish") },
        // 4. PR ground truth.
        Case { pr: Some(pr("merged", "passing", "approved", false)), ..case("merged", Merged, "merged") },
        Case { pr: Some(pr("closed", "passing", "none", false)), ..case("closed", Idle, "closed without merging") },
        Case { pr: Some(pr("open", "failing", "approved", true)), ..case("ci failing beats approval", CiFailed, "CI failing on abcdef0: test") },
        Case { pr: Some(PrFact { unresolved_threads: 2, ..pr("open", "passing", "changes_requested", true) }), ..case("changes requested", ChangesRequested, "2 unresolved threads") },
        Case { pr: Some(pr("open", "passing", "approved", true)), ..case("approved and green", Mergeable, "green and mergeable") },
        Case { pr: Some(pr("open", "passing", "none", true)), ..case("no review rules, green", Mergeable, "mergeable") },
        Case { pr: Some(pr("open", "none", "approved", true)), ..case("no checks, approved", Mergeable, "mergeable") },
        Case { pr: Some(pr("open", "none", "none", true)), ..case("no checks, no review: no evidence", PrOpen, "nobody approved it") },
        Case { pr: Some(pr("open", "pending", "approved", true)), ..case("approved, CI running", Approved, "CI still running") },
        Case { pr: Some(PrFact { conflicts: true, ..pr("open", "passing", "approved", false) }), ..case("approved, conflicts", Approved, "conflicts") },
        Case { pr: Some(pr("open", "passing", "review_required", false)), ..case("waiting for review", ReviewPending, "waiting for a review") },
        Case { pr: Some(pr("open", "pending", "review_required", false)), ..case("CI running first", PrOpen, "CI running") },
        Case { pr: Some(pr("open", "none", "none", false)), ..case("open, nothing known", PrOpen, "open at") },
        Case { pr: Some(pr("open", "passing", "review_required", false)), activity: Some(act(A::Idle, 60 * MIN)), ..case("PR truth beats stuck", ReviewPending, "") },
        // 5. Fresh self-reports.
        Case { report: Some(report("needs_input", MIN)), ..case("reported needs input", NeedsInput, "reported needs_input") },
        Case { report: Some(report("completed", MIN)), ..case("reported completed", Done, "reported completed") },
        Case { report: Some(report("waiting", MIN)), ..case("reported waiting", Idle, "reported waiting") },
        Case { report: Some(report("fixing_ci", MIN)), activity: Some(act(A::Idle, 2 * MIN)), ..case("a report newer than activity", Working, "reported fixing_ci") },
        Case { report: Some(report("completed", 10 * MIN)), activity: Some(act(A::Active, 0)), ..case("a stale report is ignored", Working, "active (via hook)") },
        Case { report: Some(report("completed", 2 * MIN)), activity: Some(act(A::Active, MIN)), ..case("a report older than activity is ignored", Working, "active") },
        Case { role: Role::Orchestrator, report: Some(report("completed", MIN)), activity: Some(act(A::Active, 0)), ..case("orchestrators do not report", Working, "active") },
        // 4. Errors.
        Case { activity: Some(failed("API Error: 529 Overloaded. This is a server-side issue", MIN)), ..case("overloaded", Errored, "overloaded error: API Error: 529 Overloaded") },
        Case { activity: Some(failed("authentication_failed", 0)), ..case("auth", Errored, "auth error: authentication_failed") },
        Case { activity: Some(failed("Your credit balance is too low", 0)), ..case("billing", Errored, "billing error") },
        Case { activity: Some(failed("You exceeded your current quota", 0)), ..case("quota", Errored, "quota error") },
        Case { activity: Some(failed("unexpected status 429 Too Many Requests", 0)), ..case("rate limited", Errored, "rate-limited error") },
        Case { activity: Some(act(A::Blocked, 12 * MIN)), ..case("blocked without text", Errored, "API error: the agent stopped on an error") },
        Case { previous: Errored, activity: Some(act(A::Active, 0)), ..case("errored recovers when asked again", Working, "active") },
        Case { pr: Some(pr("open", "failing", "none", false)), activity: Some(failed("API Error: 401", 0)), ..case("an error outranks the PR", Errored, "auth error") },
        // 7. Stuck only for claimed work that does not move; a finished turn is idle.
        Case { activity: Some(act(A::Idle, 60 * MIN)), ..case("idle for an hour is idle", Idle, "finished its turn (via hook)") },
        Case { activity: Some(act(A::Ready, 2 * MIN)), ..case("ready, recently", Idle, "finished its turn") },
        Case { activity: Some(act(A::Active, 11 * MIN)), ..case("active, nothing moved", Stuck, "claims to be working, but nothing moved for 11m") },
        Case { runtime: Some(moved(11 * MIN)), activity: Some(act(A::Active, 20 * MIN)), ..case("active, screen frozen", Stuck, "nothing moved for 11m") },
        Case { runtime: Some(moved(MIN)), activity: Some(act(A::Active, 30 * MIN)), ..case("a long tool run that redraws", Working, "active") },
        Case { previous: Stuck, activity: Some(act(A::Active, 0)), ..case("stuck recovers when active", Working, "active") },
        Case { previous: NeedsInput, activity: Some(act(A::Active, 0)), ..case("answered questions clear", Working, "active") },
        // 7. Working / spawning.
        Case { previous: Spawning, age: 10_000, runtime: Some(alive()), ..case("spawning within grace", Spawning, "starting") },
        Case { previous: Spawning, age: 2 * MIN, ..case("spawning past grace", Working, "assumed working") },
        Case { activity: Some(act(A::Active, 0)), ..case("active", Working, "active (via hook)") },
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let d = run(c);
        if d.status != c.want || !d.reason.contains(c.reason_has) {
            failures.push(format!(
                "{}: got {:?} ({:?}), want {:?} containing {:?}",
                c.name, d.status, d.reason, c.want, c.reason_has
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every status the engine derives (not the ones commands set) appears as an outcome.
    for s in [
        Status::Spawning,
        Status::Working,
        Status::PrOpen,
        Status::CiFailed,
        Status::ReviewPending,
        Status::ChangesRequested,
        Status::Approved,
        Status::Mergeable,
        Status::Merged,
        Status::NeedsInput,
        Status::Errored,
        Status::Stuck,
        Status::Killed,
        Status::Idle,
        Status::Done,
    ] {
        assert!(
            cases
                .iter()
                .any(|c| c.want == s && (c.previous != s || s == Status::Spawning)),
            "{s:?} never derived"
        );
    }
}

#[test]
fn the_gone_streak_resets_when_alive_again() {
    let mut c = case("x", Status::Working, "");
    c.runtime = Some(gone());
    let first = run(&c);
    assert_eq!(first.gone_streak, 1);
    c.runtime = Some(alive());
    c.streak = first.gone_streak;
    assert_eq!(run(&c).gone_streak, 0);
}

#[test]
fn stuck_can_be_disabled() {
    let c = Case {
        activity: Some(act(ActivityState::Active, 100 * MIN)),
        ..case("x", Status::Working, "")
    };
    let f = Facts {
        role: c.role,
        previous: c.previous,
        created_at: 0,
        runtime: c.runtime.as_ref(),
        activity: c.activity.as_ref(),
        pr: None,
        report: None,
        gone_streak: 0,
    };
    let t = Thresholds {
        stuck_ms: None,
        ..Thresholds::default()
    };
    assert_eq!(derive(&f, &t, NOW).status, Status::Working);
}

#[test]
fn error_kinds_and_which_pass_by_themselves() {
    for (text, kind, transient) in [
        ("API Error: 529 Overloaded", ErrorKind::Overloaded, true),
        (
            "API Error: 529 Overloaded. check your inference gateway (127.0.0.1:42973).",
            ErrorKind::Overloaded,
            true,
        ),
        (
            "You exceeded your current quota (429 insufficient_quota)",
            ErrorKind::Quota,
            false,
        ),
        (
            "unexpected status 503 Service Unavailable",
            ErrorKind::Overloaded,
            true,
        ),
        (
            "Rate limit reached for requests",
            ErrorKind::RateLimited,
            true,
        ),
        (
            "Failed to authenticate. API Error: 401",
            ErrorKind::Auth,
            false,
        ),
        ("OPENAI_API_KEY: Not set", ErrorKind::Auth, false),
        ("5-hour limit reached", ErrorKind::Quota, false),
        ("billing_error", ErrorKind::Billing, false),
        ("something odd", ErrorKind::Other, false),
    ] {
        assert_eq!(error_kind(text), kind, "{text}");
        assert_eq!(kind.transient(), transient, "{text}");
    }
}

#[test]
fn merging_without_evidence_is_the_users_explicit_choice() {
    let p = pr("open", "none", "none", true);
    let f = Facts {
        role: Role::Worker,
        previous: Status::PrOpen,
        created_at: NOW - 30 * MIN,
        runtime: None,
        activity: None,
        pr: Some(&p),
        report: None,
        gone_streak: 0,
    };
    assert_eq!(
        derive(&f, &Thresholds::default(), NOW).status,
        Status::PrOpen
    );
    let t = Thresholds {
        merge_without_evidence: true,
        ..Thresholds::default()
    };
    assert_eq!(derive(&f, &t, NOW).status, Status::Mergeable);
}

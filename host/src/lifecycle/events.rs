//! The event types (the seed's list, each emitted by a real transition) with their priorities,
//! and the pure function that turns one session's old and new facts into events.

use crate::config::model::PriorityName;
use crate::lifecycle::derive::short;
use crate::store::session::{Session, Status};

/// Every event ao emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// `ao spawn` finished.
    SessionSpawned,
    /// The agent started (or went back to) working.
    SessionWorking,
    /// No progress past the stuck threshold.
    SessionStuck,
    /// The agent asks a human.
    SessionNeedsInput,
    /// The agent or its runtime is gone.
    SessionKilled,
    /// The agent's turn ended on an API error (auth, billing, quota, rate limit, overload).
    SessionErrored,
    /// A worker finished its turn with no PR: it waits for the human.
    SessionIdle,
    /// A PR was found for the session.
    PrCreated,
    /// The PR's head moved.
    PrUpdated,
    /// The PR was merged (by anyone).
    PrMerged,
    /// The PR was closed unmerged.
    PrClosed,
    /// CI turned green.
    CiPassing,
    /// CI turned red.
    CiFailing,
    /// The CI failures were delivered to the agent.
    CiFixSent,
    /// The CI failures could not be delivered.
    CiFixFailed,
    /// The PR waits for a review.
    ReviewPending,
    /// The PR was approved.
    ReviewApproved,
    /// A reviewer asked for changes.
    ReviewChangesRequested,
    /// Review comments were delivered to the agent.
    ReviewCommentsSent,
    /// Approved, green, mergeable.
    MergeReady,
    /// The PR conflicts with its base.
    MergeConflicts,
    /// ao merged the PR.
    MergeCompleted,
    /// A reaction acted.
    ReactionTriggered,
    /// A reaction decided not to act, and why.
    ReactionSkipped,
    /// A reaction gave up and told a human.
    ReactionEscalated,
    /// Every worker session ended.
    AllComplete,
    /// A notifier failed.
    NotifyFailed,
    /// The daemon took a changed config file.
    ConfigReloaded,
    /// The config file was edited into one that cannot run; the previous one keeps running.
    ConfigInvalid,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 29] = [
        EventKind::SessionSpawned,
        EventKind::SessionWorking,
        EventKind::SessionStuck,
        EventKind::SessionNeedsInput,
        EventKind::SessionKilled,
        EventKind::SessionErrored,
        EventKind::SessionIdle,
        EventKind::PrCreated,
        EventKind::PrUpdated,
        EventKind::PrMerged,
        EventKind::PrClosed,
        EventKind::CiPassing,
        EventKind::CiFailing,
        EventKind::CiFixSent,
        EventKind::CiFixFailed,
        EventKind::ReviewPending,
        EventKind::ReviewApproved,
        EventKind::ReviewChangesRequested,
        EventKind::ReviewCommentsSent,
        EventKind::MergeReady,
        EventKind::MergeConflicts,
        EventKind::MergeCompleted,
        EventKind::ReactionTriggered,
        EventKind::ReactionSkipped,
        EventKind::ReactionEscalated,
        EventKind::AllComplete,
        EventKind::NotifyFailed,
        EventKind::ConfigReloaded,
        EventKind::ConfigInvalid,
    ];

    /// The dotted name in `events.jsonl`.
    pub fn as_str(self) -> &'static str {
        use EventKind::*;
        match self {
            SessionSpawned => "session.spawned",
            SessionWorking => "session.working",
            SessionStuck => "session.stuck",
            SessionNeedsInput => "session.needs_input",
            SessionErrored => "session.errored",
            SessionIdle => "session.idle",
            SessionKilled => "session.killed",
            PrCreated => "pr.created",
            PrUpdated => "pr.updated",
            PrMerged => "pr.merged",
            PrClosed => "pr.closed",
            CiPassing => "ci.passing",
            CiFailing => "ci.failing",
            CiFixSent => "ci.fix_sent",
            CiFixFailed => "ci.fix_failed",
            ReviewPending => "review.pending",
            ReviewApproved => "review.approved",
            ReviewChangesRequested => "review.changes_requested",
            ReviewCommentsSent => "review.comments_sent",
            MergeReady => "merge.ready",
            MergeConflicts => "merge.conflicts",
            MergeCompleted => "merge.completed",
            ReactionTriggered => "reaction.triggered",
            ReactionSkipped => "reaction.skipped",
            ReactionEscalated => "reaction.escalated",
            AllComplete => "summary.all_complete",
            NotifyFailed => "notify.failed",
            ConfigReloaded => "config.reloaded",
            ConfigInvalid => "config.invalid",
        }
    }

    /// How loudly a human should hear of it.
    pub fn priority(self) -> PriorityName {
        use EventKind::*;
        use PriorityName::*;
        match self {
            SessionStuck | SessionNeedsInput | SessionKilled | SessionErrored
            | ReactionEscalated => Urgent,
            // A merge reaches the human once, as `pr.merged`, whoever merged it.
            MergeReady | PrMerged | PrClosed | ReviewApproved | SessionIdle => Action,
            CiFailing
            | CiFixFailed
            | ReviewChangesRequested
            | MergeConflicts
            | NotifyFailed
            | ConfigInvalid => Warning,
            _ => Info,
        }
    }

    /// The reaction key that handles this event, if any.
    pub fn reaction_key(self) -> Option<&'static str> {
        use EventKind::*;
        Some(match self {
            CiFailing => "ci-failed",
            ReviewChangesRequested => "changes-requested",
            MergeConflicts => "merge-conflicts",
            MergeReady => "approved-and-green",
            SessionStuck => "agent-stuck",
            SessionNeedsInput => "agent-needs-input",
            SessionKilled => "agent-exited",
            SessionErrored => "agent-errored",
            SessionIdle => "agent-idle",
            PrClosed => "pr-closed",
            AllComplete => "all-complete",
            _ => return None,
        })
    }
}

/// An event about to be logged (and maybe notified).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Priority (the kind's, unless a reaction set one).
    pub priority: PriorityName,
    /// The session.
    pub session: Option<String>,
    /// One line for people.
    pub message: String,
    /// Details.
    pub data: serde_json::Value,
}

impl Event {
    /// An event of `kind` about `session` at the kind's priority.
    pub fn new(kind: EventKind, session: &str, message: impl Into<String>) -> Event {
        Event {
            kind,
            priority: kind.priority(),
            session: Some(session.to_string()),
            message: message.into(),
            data: serde_json::Value::Null,
        }
    }

    /// With details.
    pub fn with_data(mut self, data: serde_json::Value) -> Event {
        self.data = data;
        self
    }
}

/// The events one derivation produced, from the session before and after it.
pub fn transition_events(old: &Session, new: &Session) -> Vec<Event> {
    use EventKind::*;
    let id = new.id.as_str();
    let mut out = Vec::new();
    let (op, np) = (old.pr_fact.as_ref(), new.pr_fact.as_ref());
    if old.pr.is_none()
        && let Some(url) = &new.pr
    {
        out.push(Event::new(PrCreated, id, format!("PR opened: {url}")));
    }
    if let (Some(o), Some(n)) = (op, np)
        && o.state == "open"
        && n.state == "open"
        && o.head_sha != n.head_sha
        && !o.head_sha.is_empty()
    {
        out.push(Event::new(
            PrUpdated,
            id,
            format!("new commits on the PR (head {})", short(&n.head_sha)),
        ));
    }
    if let Some(n) = np {
        let o = op.cloned().unwrap_or_default();
        if n.state != o.state {
            match n.state.as_str() {
                "merged" => out.push(Event::new(PrMerged, id, "the PR was merged")),
                "closed" => out.push(Event::new(
                    PrClosed,
                    id,
                    "the PR was closed without merging",
                )),
                _ => {}
            }
        }
        if n.state == "open" {
            if n.ci == "passing" && o.ci != "passing" {
                out.push(Event::new(
                    CiPassing,
                    id,
                    format!("CI passed on {}", short(&n.head_sha)),
                ));
            }
            if n.conflicts && !o.conflicts {
                out.push(Event::new(
                    MergeConflicts,
                    id,
                    "the PR conflicts with its base branch",
                ));
            }
        }
    }
    if new.status != old.status {
        let reason = &new.status_reason;
        let kind = match new.status {
            Status::Working => Some(SessionWorking),
            Status::Stuck => Some(SessionStuck),
            Status::NeedsInput => Some(SessionNeedsInput),
            Status::Killed => Some(SessionKilled),
            Status::Errored => Some(SessionErrored),
            Status::Idle if new.pr.is_none() => Some(SessionIdle),
            Status::CiFailed => Some(CiFailing),
            Status::ReviewPending => Some(ReviewPending),
            Status::ChangesRequested => Some(ReviewChangesRequested),
            Status::Approved => Some(ReviewApproved),
            Status::Mergeable => Some(MergeReady),
            _ => None,
        };
        if let Some(kind) = kind {
            out.push(Event::new(kind, id, reason.clone()));
        }
    }
    // A status change is also an event when the status came back with a new reason to be
    // reported (CI failing again on a new head is a new failure).
    if new.status == old.status
        && new.status == Status::CiFailed
        && let (Some(o), Some(n)) = (op, np)
        && (o.head_sha != n.head_sha || o.failed_checks != n.failed_checks)
    {
        out.push(Event::new(CiFailing, id, new.status_reason.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::session::PrFact;

    fn session(status: Status) -> Session {
        let mut s = Session::new("app-1", "app", 0);
        s.status = status;
        s
    }

    fn with_pr(mut s: Session, ci: &str, sha: &str) -> Session {
        s.pr = Some("https://forge/acme/app/pull/1".into());
        s.pr_fact = Some(PrFact {
            state: "open".into(),
            ci: ci.into(),
            head_sha: sha.into(),
            failed_checks: if ci == "failing" {
                vec!["test".into()]
            } else {
                vec![]
            },
            ..PrFact::default()
        });
        s
    }

    fn kinds(old: &Session, new: &Session) -> Vec<&'static str> {
        transition_events(old, new)
            .iter()
            .map(|e| e.kind.as_str())
            .collect()
    }

    #[test]
    fn a_pr_appearing_failing_ci_then_a_fix() {
        let working = session(Status::Working);
        let failing = with_pr(session(Status::CiFailed), "failing", "aaa1111");
        assert_eq!(kinds(&working, &failing), ["pr.created", "ci.failing"]);
        let fixed = with_pr(session(Status::ReviewPending), "passing", "bbb2222");
        assert_eq!(
            kinds(&failing, &fixed),
            ["pr.updated", "ci.passing", "review.pending"]
        );
        let failing_again = with_pr(session(Status::CiFailed), "failing", "ccc3333");
        let failing_new_head = with_pr(session(Status::CiFailed), "failing", "ddd4444");
        assert_eq!(
            kinds(&failing_again, &failing_new_head),
            ["pr.updated", "ci.failing"]
        );
        assert!(kinds(&failing_again, &failing_again.clone()).is_empty());
    }

    #[test]
    fn every_kind_has_a_distinct_name_and_the_reaction_keys_exist() {
        let names: std::collections::BTreeSet<_> =
            EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len());
        for k in EventKind::ALL {
            if let Some(key) = k.reaction_key() {
                assert!(crate::config::reactions::KEYS.contains(&key), "{key}");
            }
        }
    }
}

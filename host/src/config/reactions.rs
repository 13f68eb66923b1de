//! The reaction keys, their built-in defaults, and the merge of partial overrides.
//!
//! Upstream replaced a default wholesale when the user wrote any part of it, so
//! `ci-failed: {retries: 5}` silently turned the CI reaction into a bare notification. Here a
//! user's fields override only themselves: defaults ← global `reactions` ← project `reactions`.

use crate::config::model::{EscalateAfter, PriorityName, ReactionAction, ReactionConfig};

/// Every reaction key, in the order `ao config-help` lists them.
pub const KEYS: [&str; 12] = [
    "ci-failed",
    "changes-requested",
    "bugbot-comments",
    "merge-conflicts",
    "approved-and-green",
    "agent-stuck",
    "agent-needs-input",
    "agent-exited",
    "agent-errored",
    "agent-idle",
    "pr-closed",
    "all-complete",
];

/// The built-in settings of a key (every field set).
pub fn default_for(key: &str) -> ReactionConfig {
    let r = |auto: bool, action: ReactionAction, priority: PriorityName| ReactionConfig {
        auto: Some(auto),
        action: Some(action),
        priority: Some(priority),
        ..ReactionConfig::default()
    };
    use PriorityName::*;
    use ReactionAction::*;
    match key {
        "ci-failed" => ReactionConfig {
            retries: Some(2),
            escalate_after: Some(EscalateAfter::Attempts(2)),
            message: Some("CI failed on your PR. Read the failures below, fix them, and push.".into()),
            ..r(true, SendToAgent, Warning)
        },
        "changes-requested" => ReactionConfig {
            escalate_after: Some(EscalateAfter::After("30m".into())),
            message: Some("A reviewer asked for changes. Address every comment below, push, and resolve the threads.".into()),
            ..r(true, SendToAgent, Warning)
        },
        "bugbot-comments" => ReactionConfig {
            escalate_after: Some(EscalateAfter::After("30m".into())),
            message: Some("An automated reviewer left comments. Address the ones below and push.".into()),
            ..r(true, SendToAgent, Warning)
        },
        "merge-conflicts" => ReactionConfig {
            escalate_after: Some(EscalateAfter::After("15m".into())),
            message: Some("Your branch conflicts with the base branch. Rebase on it, resolve the conflicts, and push.".into()),
            ..r(true, SendToAgent, Warning)
        },
        "approved-and-green" => r(false, Notify, Action),
        "agent-stuck" => ReactionConfig { threshold: Some("10m".into()), ..r(true, Notify, Urgent) },
        "agent-needs-input" => r(true, Notify, Urgent),
        "agent-exited" => r(true, Notify, Urgent),
        // Auth, billing and quota errors at once; overloads and rate limits only when they
        // outlast the threshold (they pass by themselves).
        "agent-errored" => ReactionConfig { threshold: Some("5m".into()), ..r(true, Notify, Urgent) },
        // Once per finished turn without a PR: the worker waits for the human.
        "agent-idle" => r(true, Notify, Action),
        "pr-closed" => r(true, Notify, Action),
        "all-complete" => r(true, Notify, Info),
        _ => ReactionConfig::default(),
    }
}

/// `over`'s fields where set, `base`'s elsewhere.
pub fn merge(base: &ReactionConfig, over: &ReactionConfig) -> ReactionConfig {
    ReactionConfig {
        auto: over.auto.or(base.auto),
        action: over.action.or(base.action),
        message: over.message.clone().or_else(|| base.message.clone()),
        retries: over.retries.or(base.retries),
        escalate_after: over
            .escalate_after
            .clone()
            .or_else(|| base.escalate_after.clone()),
        threshold: over.threshold.clone().or_else(|| base.threshold.clone()),
        priority: over.priority.or(base.priority),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_override_keeps_the_rest_of_the_default() {
        let user = ReactionConfig {
            retries: Some(5),
            ..ReactionConfig::default()
        };
        let merged = merge(&default_for("ci-failed"), &user);
        assert_eq!(merged.retries, Some(5));
        assert_eq!(merged.action, Some(ReactionAction::SendToAgent));
        assert_eq!(merged.auto, Some(true));
        assert!(merged.message.unwrap().starts_with("CI failed"));
    }

    #[test]
    fn every_key_has_a_complete_default() {
        for k in KEYS {
            let d = default_for(k);
            assert!(
                d.auto.is_some() && d.action.is_some() && d.priority.is_some(),
                "{k}"
            );
        }
    }
}

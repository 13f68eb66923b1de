//! Reaction episodes: when a reaction acts, retries, escalates or says why it did not. Pure.
//!
//! An episode is keyed by the reaction and lives while its condition holds (CI: until CI
//! passes or the PR closes — a push that is still being checked does not end it). Inside an
//! episode each new *fingerprint* (CI: head SHA + failed checks; reviews: the unresolved comment
//! ids) is a new trigger and costs an attempt, and so is a re-send after the agent finished a
//! turn without fixing anything — after a pause of 1, 2, then 4 minutes, and never a fourth
//! time: that goes to a human instead. Past `retries` or `escalateAfter` the episode escalates
//! once to a human and stays quiet until it ends. This is upstream's design with its defect removed:
//! leaving a status no longer resets the count, so escalation is reachable.

use crate::config::Reaction;
use crate::config::model::ReactionAction;
use crate::config::validate::Escalation;
use crate::store::session::{Episode, Session, Status};
use ao_plugin_api::slots::agent::ActivityState;

/// What a reaction's condition says about a session now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// It applies; this is what it is about.
    Trigger(String),
    /// The episode stays open but there is nothing to act on (CI running after a push).
    Holding,
    /// The episode is over.
    Over,
}

/// The condition of `key` for a session (after this tick's derivation), `threshold_ms` the
/// reaction's `threshold` (how long a passing error is waited out).
pub fn condition(key: &str, s: &Session, threshold_ms: Option<u64>, now: u64) -> Condition {
    let pr = s.pr_fact.as_ref();
    let open = pr.is_some_and(|p| p.state == "open");
    let at = s.status_at.unwrap_or(0).to_string();
    let when = |cond: bool, fp: String| {
        if cond {
            Condition::Trigger(fp)
        } else {
            Condition::Over
        }
    };
    match key {
        "ci-failed" => match pr {
            Some(p) if open && p.ci == "failing" => {
                Condition::Trigger(format!("{}:{}", p.head_sha, p.failed_checks.join(",")))
            }
            Some(p) if open && p.ci != "passing" => Condition::Holding,
            _ => Condition::Over,
        },
        "changes-requested" => match pr {
            Some(p) if open && !p.threads_key.is_empty() => {
                Condition::Trigger(p.threads_key.clone())
            }
            Some(p) if open && p.review == "changes_requested" => {
                // Changes requested in a review body without inline threads.
                Condition::Trigger(format!("review@{}", p.head_sha))
            }
            _ => Condition::Over,
        },
        "bugbot-comments" => match pr {
            Some(p) if open && !p.bot_threads_key.is_empty() => {
                Condition::Trigger(p.bot_threads_key.clone())
            }
            _ => Condition::Over,
        },
        "merge-conflicts" => match pr {
            Some(p) if open && p.conflicts => Condition::Trigger(p.head_sha.clone()),
            _ => Condition::Over,
        },
        "approved-and-green" => match pr {
            Some(p) if s.status == Status::Mergeable => {
                Condition::Trigger(format!("{}:{}", p.head_sha, p.ci))
            }
            _ => Condition::Over,
        },
        "agent-stuck" => when(s.status == Status::Stuck, at),
        "agent-needs-input" => when(s.status == Status::NeedsInput, at),
        "agent-exited" => when(s.status == Status::Killed, at),
        "agent-errored" if s.status == Status::Errored => {
            let text = s
                .activity_fact
                .as_ref()
                .and_then(|a| a.detail.as_deref())
                .unwrap_or("");
            let since = s.status_at.unwrap_or(now);
            let waited = now.saturating_sub(since) >= threshold_ms.unwrap_or(0);
            if crate::lifecycle::derive::error_kind(text).transient() && !waited {
                Condition::Holding
            } else {
                Condition::Trigger(at)
            }
        }
        "agent-idle" => when(
            s.status == Status::Idle
                && s.role == crate::store::session::Role::Worker
                && s.pr.is_none(),
            at,
        ),
        "pr-closed" => match pr {
            Some(p) if p.state == "closed" => Condition::Trigger(p.number.to_string()),
            _ => Condition::Over,
        },
        _ => Condition::Over,
    }
}

/// What to do about one reaction now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing (no trigger, or nothing new).
    Nothing,
    /// Act: this is attempt `attempt` of the episode.
    Act {
        /// 1-based.
        attempt: u32,
        /// A re-send of the same trigger.
        resend: bool,
    },
    /// Tell a human it is not getting better, once.
    Escalate {
        /// Why, in words.
        why: String,
    },
    /// Not acting, and why (logged once per trigger).
    Skip {
        /// Why, in words.
        why: String,
    },
}

/// Decides, and updates the episode as if the decision were carried out. `agent` is the
/// agent's activity and its time; `head` the PR's head commit. The same trigger is sent again
/// only when the agent finished a turn after the last send without pushing anything (a push
/// means it acted; the forge's answer to it is awaited instead).
pub fn decide(
    r: &Reaction,
    episode: Option<&Episode>,
    cond: &Condition,
    agent: Option<(ActivityState, u64)>,
    head: Option<&str>,
    now: u64,
) -> (Decision, Option<Episode>) {
    let fp = match cond {
        Condition::Over => return (Decision::Nothing, None),
        Condition::Holding => return (Decision::Nothing, episode.cloned()),
        Condition::Trigger(fp) => fp.clone(),
    };
    let mut ep = episode.cloned().unwrap_or(Episode {
        fingerprint: fp.clone(),
        since: now,
        ..Episode::default()
    });
    ep.fingerprint = fp.clone();
    if ep.escalated {
        return (Decision::Nothing, Some(ep));
    }
    let new_trigger = ep.acted_on != fp;
    let agent_directed = r.action != ReactionAction::Notify;
    if agent_directed && !r.auto {
        if !new_trigger {
            return (Decision::Nothing, Some(ep));
        }
        ep.acted_on = fp;
        ep.last_at = now;
        let why = "`auto: false`: a human decides (notified instead)".to_string();
        return (Decision::Skip { why }, Some(ep));
    }
    let resend = !new_trigger
        && r.action == ReactionAction::SendToAgent
        && head.unwrap_or_default() == ep.head
        && agent.is_some_and(|(state, at)| {
            matches!(state, ActivityState::Ready | ActivityState::Idle) && at > ep.last_at
        });
    if !new_trigger && !resend {
        return (Decision::Nothing, Some(ep));
    }
    if let Some(why) = exhausted(r, &ep, now) {
        ep.escalated = true;
        ep.last_at = now;
        return (Decision::Escalate { why }, Some(ep));
    }
    // Brakes on the same trigger sent again (an agent that ends its turns without acting got
    // the same review comments 23 times in 30 s): a growing pause between sends, and after a
    // few, a human is told instead.
    if resend {
        if ep.resends >= RESENDS_MAX {
            ep.escalated = true;
            ep.last_at = now;
            let why = format!(
                "sent {} times; the agent ended each turn without acting on it",
                ep.resends + 1
            );
            return (Decision::Escalate { why }, Some(ep));
        }
        if now.saturating_sub(ep.last_at) < resend_pause(ep.resends) {
            return (Decision::Nothing, Some(ep));
        }
    }
    ep.attempts += 1;
    ep.resends = if resend { ep.resends + 1 } else { 0 };
    ep.acted_on = fp;
    ep.last_at = now;
    ep.head = head.unwrap_or_default().to_string();
    let attempt = ep.attempts;
    (Decision::Act { attempt, resend }, Some(ep))
}

/// Re-sends of one trigger before a human is told instead.
pub const RESENDS_MAX: u32 = 3;

/// The pause before re-send number `done + 1` of one trigger: 1, 2, 4 minutes.
pub fn resend_pause(done: u32) -> u64 {
    60_000u64 << done.min(6)
}

/// Whether another attempt would be one too many.
fn exhausted(r: &Reaction, ep: &Episode, now: u64) -> Option<String> {
    if let Some(n) = r.retries
        && ep.attempts >= n
    {
        return Some(format!(
            "{} attempt{} did not fix it",
            ep.attempts,
            s(ep.attempts)
        ));
    }
    match r.escalate_after {
        Some(Escalation::Attempts(n)) if ep.attempts >= n => Some(format!(
            "{} attempt{} did not fix it",
            ep.attempts,
            s(ep.attempts)
        )),
        Some(Escalation::After(d)) if now.saturating_sub(ep.since) >= d.as_millis() as u64 => {
            Some(format!(
                "still unresolved after {}",
                humantime::format_duration(std::time::Duration::from_secs(
                    now.saturating_sub(ep.since) / 1000
                ))
            ))
        }
        _ => None,
    }
}

fn s(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::PriorityName;
    use crate::store::session::PrFact;
    use std::time::Duration;

    fn ci_reaction(retries: Option<u32>) -> Reaction {
        Reaction {
            auto: true,
            action: ReactionAction::SendToAgent,
            message: Some("fix CI".into()),
            retries,
            escalate_after: None,
            threshold: None,
            priority: PriorityName::Warning,
        }
    }

    fn failing(sha: &str) -> Session {
        let mut s = Session::new("app-1", "app", 0);
        s.status = Status::CiFailed;
        s.pr_fact = Some(PrFact {
            state: "open".into(),
            ci: "failing".into(),
            head_sha: sha.into(),
            failed_checks: vec!["test".into()],
            ..PrFact::default()
        });
        s
    }

    fn step(
        r: &Reaction,
        ep: &mut Option<Episode>,
        s: &Session,
        agent: Option<(ActivityState, u64)>,
        now: u64,
    ) -> Decision {
        let head = s.pr_fact.as_ref().map(|p| p.head_sha.as_str());
        let (d, next) = decide(
            r,
            ep.as_ref(),
            &condition("ci-failed", s, None, now),
            agent,
            head,
            now,
        );
        *ep = next;
        d
    }

    #[test]
    fn a_ci_failure_never_fixed_escalates_after_the_retries() {
        let r = ci_reaction(Some(2));
        let mut ep = None;
        let a = failing("aaa");
        assert_eq!(
            step(&r, &mut ep, &a, None, 1),
            Decision::Act {
                attempt: 1,
                resend: false
            }
        );
        // Same trigger, agent still busy: nothing.
        assert_eq!(
            step(&r, &mut ep, &a, Some((ActivityState::Active, 2)), 2),
            Decision::Nothing
        );
        // The agent pushed; CI is running: the episode holds.
        let mut pending = failing("bbb");
        pending.pr_fact.as_mut().unwrap().ci = "pending".into();
        assert_eq!(step(&r, &mut ep, &pending, None, 3), Decision::Nothing);
        assert!(ep.is_some());
        // Fails again on the new head: attempt 2.
        assert_eq!(
            step(&r, &mut ep, &failing("bbb"), None, 4),
            Decision::Act {
                attempt: 2,
                resend: false
            }
        );
        // The agent finishes its turn without pushing: a third attempt would exceed retries.
        let d = step(
            &r,
            &mut ep,
            &failing("bbb"),
            Some((ActivityState::Ready, 5)),
            6,
        );
        assert_eq!(
            d,
            Decision::Escalate {
                why: "2 attempts did not fix it".into()
            }
        );
        // Escalated once; quiet afterwards, even on a new head.
        assert_eq!(
            step(
                &r,
                &mut ep,
                &failing("ccc"),
                Some((ActivityState::Ready, 9)),
                10
            ),
            Decision::Nothing
        );
        // CI passes: the episode ends; a later failure starts afresh.
        let mut green = failing("ddd");
        green.pr_fact.as_mut().unwrap().ci = "passing".into();
        assert_eq!(step(&r, &mut ep, &green, None, 11), Decision::Nothing);
        assert!(ep.is_none());
        assert_eq!(
            step(&r, &mut ep, &failing("eee"), None, 12),
            Decision::Act {
                attempt: 1,
                resend: false
            }
        );
    }

    #[test]
    fn a_resend_after_the_agent_finished_its_turn_counts() {
        let r = ci_reaction(Some(3));
        let mut ep = None;
        let a = failing("aaa");
        step(&r, &mut ep, &a, None, 10);
        // A "ready" older than the send is not a finished turn.
        assert_eq!(
            step(&r, &mut ep, &a, Some((ActivityState::Ready, 5)), 11),
            Decision::Nothing
        );
        // A finished turn, but too soon after the send: the pause holds it back.
        assert_eq!(
            step(&r, &mut ep, &a, Some((ActivityState::Ready, 12)), 13),
            Decision::Nothing
        );
        assert_eq!(
            step(
                &r,
                &mut ep,
                &a,
                Some((ActivityState::Ready, 12)),
                10 + 60_000
            ),
            Decision::Act {
                attempt: 2,
                resend: true
            }
        );
    }

    /// An agent that ends every turn without acting on the same review comments: sent again
    /// after 1, 2 and 4 minutes, then a human is told (there were 23 sends in 30 s before).
    #[test]
    fn resends_of_one_trigger_pause_longer_each_time_then_escalate() {
        let r = ci_reaction(None);
        let mut ep = None;
        let a = failing("aaa");
        let mut now = 1_000;
        assert!(matches!(
            step(&r, &mut ep, &a, None, now),
            Decision::Act {
                attempt: 1,
                resend: false
            }
        ));
        let mut sends = 1;
        let mut escalated = None;
        // An agent that finishes a turn every second, for an hour.
        for _ in 0..3_600 {
            now += 1_000;
            match step(&r, &mut ep, &a, Some((ActivityState::Ready, now - 1)), now) {
                Decision::Act { resend: true, .. } => sends += 1,
                Decision::Escalate { why } => {
                    escalated = Some((now, why));
                    break;
                }
                Decision::Nothing => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sends, 1 + RESENDS_MAX);
        let (at, why) = escalated.expect("a human is told");
        assert!(why.contains("sent 4 times"), "{why}");
        // 1 + 2 + 4 minutes of pauses, then the next finished turn escalates.
        assert!(
            (1_000 + 7 * 60_000..1_000 + 8 * 60_000 + 2_000).contains(&at),
            "{at}"
        );
        assert_eq!(
            step(
                &r,
                &mut ep,
                &a,
                Some((ActivityState::Ready, now + 5)),
                now + 10
            ),
            Decision::Nothing
        );
    }

    #[test]
    fn escalate_after_a_duration() {
        let r = Reaction {
            retries: None,
            escalate_after: Some(Escalation::After(Duration::from_secs(60))),
            ..ci_reaction(None)
        };
        let mut ep = None;
        step(&r, &mut ep, &failing("a"), None, 0);
        assert_eq!(
            step(&r, &mut ep, &failing("b"), None, 30_000),
            Decision::Act {
                attempt: 2,
                resend: false
            }
        );
        assert!(
            matches!(step(&r, &mut ep, &failing("c"), None, 61_000), Decision::Escalate { why } if why == "still unresolved after 1m 1s")
        );
    }

    #[test]
    fn auto_off_skips_with_a_reason_once_per_trigger() {
        let r = Reaction {
            auto: false,
            ..ci_reaction(Some(2))
        };
        let mut ep = None;
        assert!(matches!(
            step(&r, &mut ep, &failing("a"), None, 1),
            Decision::Skip { .. }
        ));
        assert_eq!(step(&r, &mut ep, &failing("a"), None, 2), Decision::Nothing);
        assert!(matches!(
            step(&r, &mut ep, &failing("b"), None, 3),
            Decision::Skip { .. }
        ));
    }

    #[test]
    fn notifications_fire_once_per_entry() {
        let r = Reaction {
            action: ReactionAction::Notify,
            retries: None,
            ..ci_reaction(None)
        };
        let mut s = Session::new("app-1", "app", 0);
        s.status = Status::Stuck;
        s.status_at = Some(100);
        let (d, ep) = decide(
            &r,
            None,
            &condition("agent-stuck", &s, None, 0),
            Some((ActivityState::Idle, 200)),
            None,
            300,
        );
        assert_eq!(
            d,
            Decision::Act {
                attempt: 1,
                resend: false
            }
        );
        let (d, ep) = decide(
            &r,
            ep.as_ref(),
            &condition("agent-stuck", &s, None, 0),
            Some((ActivityState::Idle, 400)),
            None,
            500,
        );
        assert_eq!(d, Decision::Nothing);
        s.status = Status::Working;
        assert_eq!(
            decide(
                &r,
                ep.as_ref(),
                &condition("agent-stuck", &s, None, 0),
                None,
                None,
                600
            ),
            (Decision::Nothing, None)
        );
    }
}

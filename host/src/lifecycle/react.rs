//! Carrying out reactions for one session in a tick: decide per key (`episodes`), then send
//! the payload to the agent, notify a human, merge, skip with a reason or escalate, and log
//! each decision.

use crate::Error;
use crate::config::model::ReactionAction;
use crate::config::{Project, Reaction};
use crate::fleet::Fleet;
use crate::lifecycle::episodes::{Condition, Decision, condition, decide};
use crate::lifecycle::events::{Event, EventKind};
use crate::lifecycle::{messages, notify, record};
use crate::store::session::{Role, Session, Status};
use ao_plugin_api::slots::scm::{CheckStatus, CiLogsRequest, MergeRequest, PrFacts};

pub(crate) struct ReactionCtx<'a> {
    pub(crate) fleet: &'a Fleet,
    pub(crate) p: &'a Project,
    pub(crate) facts: Option<&'a PrFacts>,
    pub(crate) now: u64,
}

impl ReactionCtx<'_> {
    /// Runs every reaction of the project against the session; returns the events it logged.
    pub(crate) async fn react(
        &mut self,
        s: &Session,
        events: &[Event],
    ) -> Result<Vec<Event>, Error> {
        let mut out = Vec::new();
        let agent = s.activity_fact.as_ref().map(|a| (a.state, a.at));
        let mut episodes = s.episodes.clone();
        for (key, r) in &self.p.reactions {
            if key == "all-complete" || (s.role == Role::Orchestrator && key != "agent-exited") {
                continue;
            }
            // An agent at a dialog takes no message (delivery would refuse it): the reaction
            // holds, costing no attempt, and says so once, when the dialog appears.
            if s.status == Status::NeedsInput && r.action == ReactionAction::SendToAgent {
                let pending = !matches!(condition(key, s, None, self.now), Condition::Over);
                let just_asked = events
                    .iter()
                    .any(|e| e.kind == EventKind::SessionNeedsInput);
                if pending && just_asked {
                    let e = Event::new(
                        EventKind::ReactionSkipped,
                        &s.id,
                        format!("{key}: held until the human answers the agent's question"),
                    )
                    .with_data(serde_json::json!({ "reaction": key, "action": "send-to-agent" }));
                    record(self.fleet, &self.p.id, &e);
                    out.push(e);
                }
                continue;
            }
            let threshold = r.threshold.map(|d| d.as_millis() as u64);
            let cond = condition(key, s, threshold, self.now);
            let head = s.pr_fact.as_ref().map(|f| f.head_sha.as_str());
            let (decision, ep) = decide(r, episodes.get(key), &cond, agent, head, self.now);
            match ep {
                Some(ep) => episodes.insert(key.clone(), ep),
                None => episodes.remove(key),
            };
            let trigger = events
                .iter()
                .find(|e| e.kind.reaction_key() == Some(key.as_str()))
                .cloned()
                .unwrap_or_else(|| standing_event(key, s));
            match decision {
                Decision::Nothing => {}
                Decision::Skip { why } => {
                    let e = Event::new(EventKind::ReactionSkipped, &s.id, format!("{key}: {why}"))
                        .with_data(serde_json::json!({ "reaction": key, "trigger": trigger.kind.as_str() }));
                    record(self.fleet, &self.p.id, &e);
                    let mut human = trigger.clone();
                    human.priority = r.priority;
                    notify::notify(self.fleet, &self.p.id, &human, s.pr.as_deref()).await;
                    out.push(e);
                }
                Decision::Escalate { why } => {
                    let mut e = Event::new(
                        EventKind::ReactionEscalated,
                        &s.id,
                        format!("{key}: {why}; {}", s.status_reason),
                    )
                    .with_data(serde_json::json!({ "reaction": key }));
                    e.priority = crate::config::model::PriorityName::Urgent;
                    record(self.fleet, &self.p.id, &e);
                    notify::notify(self.fleet, &self.p.id, &e, s.pr.as_deref()).await;
                    out.push(e);
                }
                Decision::Act { attempt, resend } => {
                    let acted = self.act(key, r, s, &trigger, attempt, resend).await;
                    if !acted.1 {
                        // Not delivered: the same trigger is tried again next tick.
                        if let Some(ep) = episodes.get_mut(key) {
                            ep.acted_on.clear();
                        }
                    }
                    out.extend(acted.0);
                }
            }
        }
        if episodes != s.episodes {
            self.fleet
                .store(&self.p.id)
                .update_session(&s.id, |x| x.episodes = episodes)?;
        }
        Ok(out)
    }

    /// Carries out one action; returns its events and whether it took effect.
    async fn act(
        &self,
        key: &str,
        r: &Reaction,
        s: &Session,
        trigger: &Event,
        attempt: u32,
        resend: bool,
    ) -> (Vec<Event>, bool) {
        let (fleet, pid) = (self.fleet, self.p.id.as_str());
        let data = |extra: serde_json::Value| {
            let mut d =
                serde_json::json!({ "reaction": key, "attempt": attempt, "resend": resend });
            if let (Some(o), Some(e)) = (d.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            d
        };
        let log = |e: Event| {
            record(fleet, pid, &e);
            e
        };
        match r.action {
            ReactionAction::Notify => {
                let mut human = trigger.clone();
                human.priority = r.priority;
                if let Some(m) = &r.message {
                    human.message = format!("{m} ({})", trigger.message);
                }
                let e = log(Event::new(
                    EventKind::ReactionTriggered,
                    &s.id,
                    format!("{key}: notified"),
                )
                .with_data(data(serde_json::json!({"action": "notify"}))));
                notify::notify(fleet, pid, &human, s.pr.as_deref()).await;
                (vec![e], true)
            }
            ReactionAction::SendToAgent => {
                let text = self.message(key, r, s).await;
                let outcome = crate::fleet::send::send(fleet, s, &text).await;
                if let Ok(o) = &outcome
                    && let Some(d) = &o.dialog
                {
                    // Never typed into a dialog: the message waits until the human answered it
                    // (the same trigger is tried again next tick).
                    let e = log(Event::new(
                        EventKind::ReactionSkipped,
                        &s.id,
                        format!("{key}: held back: the agent is asking the human ({}): {}", d.kind, d.question),
                    )
                    .with_data(data(serde_json::json!({"action": "send-to-agent", "delivered": false, "dialog": d}))));
                    return (vec![e], false);
                }
                let (ok, why) = match &outcome {
                    Ok(o) if o.acknowledged => (true, String::new()),
                    Ok(o) => (false, format!("not acknowledged: {}", o.evidence)),
                    Err(e) => (false, e.to_string()),
                };
                let kind = match (key, ok) {
                    ("ci-failed", true) => EventKind::CiFixSent,
                    ("ci-failed", false) => EventKind::CiFixFailed,
                    ("changes-requested" | "bugbot-comments", true) => {
                        EventKind::ReviewCommentsSent
                    }
                    _ => EventKind::ReactionTriggered,
                };
                let msg = if ok {
                    format!(
                        "{key}: sent to the agent (attempt {attempt}{})",
                        if resend { ", again" } else { "" }
                    )
                } else {
                    format!("{key}: could not deliver to the agent: {why}")
                };
                let e = log(Event::new(kind, &s.id, msg).with_data(data(serde_json::json!({"action": "send-to-agent", "delivered": ok, "message": text}))));
                (vec![e], ok)
            }
            ReactionAction::AutoMerge => {
                let (Some(f), Ok(Some(scm))) = (self.facts, fleet.scm(self.p).await) else {
                    let e = log(Event::new(
                        EventKind::ReactionSkipped,
                        &s.id,
                        format!("{key}: no PR facts this tick; merging later"),
                    )
                    .with_data(data(serde_json::Value::Null)));
                    return (vec![e], false);
                };
                let req = MergeRequest {
                    pr: f.info.key.clone(),
                    method: Default::default(),
                    expected_head_sha: Some(f.head_sha.clone()),
                };
                match scm.merge(&req).await {
                    Ok(o) if o.merged => {
                        let e = log(Event::new(
                            EventKind::MergeCompleted,
                            &s.id,
                            format!(
                                "merged PR #{} ({})",
                                f.info.key.number,
                                o.sha.as_deref().unwrap_or("?")
                            ),
                        )
                        .with_data(data(
                            serde_json::json!({"action": "auto-merge", "sha": o.sha}),
                        )));
                        // The human hears of it once, from the `pr.merged` that follows.
                        (vec![e], true)
                    }
                    Ok(o) => {
                        let e = log(Event::new(
                            EventKind::ReactionSkipped,
                            &s.id,
                            format!("{key}: the forge refused the merge: {}", o.message),
                        )
                        .with_data(data(serde_json::json!({"action": "auto-merge"}))));
                        (vec![e], true)
                    }
                    Err(err) => {
                        let e = log(Event::new(
                            EventKind::ReactionSkipped,
                            &s.id,
                            format!("{key}: merge failed: {err}"),
                        )
                        .with_data(data(serde_json::json!({"action": "auto-merge"}))));
                        (vec![e], false)
                    }
                }
            }
        }
    }

    /// The text sent to the agent for `key`, with the real payload.
    async fn message(&self, key: &str, r: &Reaction, s: &Session) -> String {
        let intro = r.message.clone().unwrap_or_default();
        let Some(f) = self.facts else {
            return format!("{intro}\n\n({})", s.status_reason);
        };
        match key {
            "ci-failed" => {
                let failed: Vec<_> =
                    f.ci.checks
                        .iter()
                        .filter(|c| c.status == CheckStatus::Failed)
                        .cloned()
                        .collect();
                let logs = match self.fleet.scm(self.p).await {
                    Ok(Some(scm)) => scm
                        .ci_logs(&CiLogsRequest {
                            repo: f.info.key.repo.clone(),
                            checks: failed,
                            max_bytes: 3_000,
                        })
                        .await
                        .map(|l| l.excerpts)
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                messages::ci_failed(&intro, f, &logs)
            }
            "changes-requested" | "bugbot-comments" => {
                let bot = key == "bugbot-comments";
                let comments: Vec<_> = f
                    .unresolved_threads
                    .iter()
                    .filter(|c| !c.is_resolved && c.is_bot == bot)
                    .collect();
                messages::review_comments(&intro, f, &comments)
            }
            "merge-conflicts" => messages::conflicts(&intro, f),
            _ => intro,
        }
    }
}

/// An event describing a condition that holds without a transition this tick (e.g. after a
/// restart of the daemon).
fn standing_event(key: &str, s: &Session) -> Event {
    let kind = EventKind::ALL
        .into_iter()
        .find(|k| k.reaction_key() == Some(key))
        .unwrap_or(EventKind::ReactionTriggered);
    Event::new(kind, &s.id, s.status_reason.clone())
}

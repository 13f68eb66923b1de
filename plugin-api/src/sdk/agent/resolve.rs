//! Combining an agent's activity signals into one answer, with its provenance.
//!
//! Upstream's top complaint was wrong status: a stale "waiting" that never cleared, "idle" for
//! a busy agent, approval prompts missed because the screen was only read when nothing else
//! answered. The rules here:
//! - the process table is ground truth for "exited": a gone process beats every signal, and a
//!   running one discards "exited" claims;
//! - otherwise the **freshest** conclusive signal wins, whatever its kind, so a stale hook
//!   record never overrides a newer transcript entry or a screen captured now; signals within
//!   [`TIE_MS`] of each other go to the stronger source (hook > transcript > screen);
//! - when the winner only corroborates a stronger signal's state (the screen shows the idle
//!   prompt the `Stop` hook reported ten minutes ago), the stronger one is reported, because its
//!   time says since when;
//! - "ready" older than the idle threshold is reported as "idle". "active" never decays here:
//!   a long tool run is still work, and telling it from a hang is the lifecycle engine's job
//!   (it sees the signal's time).

use crate::slots::agent::{Activity, ActivitySource, ActivityState};

/// Signals this close together count as simultaneous.
pub const TIE_MS: u64 = 1_000;
/// Ready for longer than this is idle, unless the host says otherwise.
pub const DEFAULT_IDLE_MS: u64 = 5 * 60 * 1000;

/// One observation of the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// What it says.
    pub state: ActivityState,
    /// Where it came from.
    pub source: ActivitySource,
    /// When it was produced.
    pub at_ms: u64,
    /// The question asked, the tool running, the error.
    pub detail: Option<String>,
}

impl Signal {
    /// A signal without detail.
    pub fn new(state: ActivityState, source: ActivitySource, at_ms: u64) -> Self {
        Self {
            state,
            source,
            at_ms,
            detail: None,
        }
    }
}

fn strength(source: ActivitySource) -> u8 {
    match source {
        ActivitySource::Process => 5,
        ActivitySource::Hook => 4,
        ActivitySource::SelfReport => 3,
        ActivitySource::Transcript => 2,
        ActivitySource::Screen => 1,
    }
}

/// Ready and idle are one state seen at different ages.
fn same_class(a: ActivityState, b: ActivityState) -> bool {
    use ActivityState::*;
    a == b || matches!((a, b), (Ready | Idle, Ready | Idle))
}

/// The answer from `signals` at `now_ms`; `None` when there is no evidence at all (the host
/// keeps its previous fact and calls the session "detecting", rather than guessing).
pub fn resolve(
    process_running: Option<bool>,
    signals: Vec<Signal>,
    now_ms: u64,
    idle_after_ms: u64,
) -> Option<Activity> {
    if process_running == Some(false) {
        return Some(Activity {
            state: ActivityState::Exited,
            source: ActivitySource::Process,
            at_ms: Some(now_ms),
            detail: None,
            dialog: None,
        });
    }
    let signals: Vec<Signal> = signals
        .into_iter()
        .filter(|s| !(process_running == Some(true) && s.state == ActivityState::Exited))
        .collect();
    // The freshest signal, and any within TIE_MS of it, compete on strength.
    let newest = signals.iter().map(|s| s.at_ms).max()?;
    // Within a tie an error is the more specific news: an agent that failed also "waits for
    // input" (Aider's notification fires either way).
    let winner = signals
        .iter()
        .filter(|s| newest - s.at_ms < TIE_MS)
        .max_by(|a, b| {
            (a.state == ActivityState::Blocked)
                .cmp(&(b.state == ActivityState::Blocked))
                .then(strength(a.source).cmp(&strength(b.source)))
                .then(a.at_ms.cmp(&b.at_ms))
        })?;
    // A stronger signal saying the same thing explains since when, unless something said
    // otherwise in between.
    let contradicted_at = signals
        .iter()
        .filter(|s| !same_class(s.state, winner.state))
        .map(|s| s.at_ms)
        .max()
        .unwrap_or(0);
    let chosen = signals
        .iter()
        .filter(|s| strength(s.source) > strength(winner.source))
        .filter(|s| same_class(s.state, winner.state) && s.at_ms >= contradicted_at)
        .max_by_key(|s| s.at_ms)
        .unwrap_or(winner);
    let mut state = chosen.state;
    if state == ActivityState::Ready && now_ms.saturating_sub(chosen.at_ms) > idle_after_ms {
        state = ActivityState::Idle;
    }
    Some(Activity {
        state,
        source: chosen.source,
        at_ms: Some(chosen.at_ms),
        detail: chosen.detail.clone().or_else(|| winner.detail.clone()),
        dialog: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActivitySource::*;
    use ActivityState::*;

    const NOW: u64 = 10_000_000;

    fn s(state: ActivityState, source: ActivitySource, ago_s: u64) -> Signal {
        Signal::new(state, source, NOW - ago_s * 1000)
    }

    fn r(
        running: Option<bool>,
        signals: Vec<Signal>,
    ) -> Option<(ActivityState, ActivitySource, u64)> {
        resolve(running, signals, NOW, DEFAULT_IDLE_MS)
            .map(|a| (a.state, a.source, (NOW - a.at_ms.unwrap()) / 1000))
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn table() {
        let cases: Vec<(
            &str,
            Option<bool>,
            Vec<Signal>,
            Option<(ActivityState, ActivitySource, u64)>,
        )> = vec![
            ("no evidence is no answer", Some(true), vec![], None),
            (
                "a gone process beats a fresh hook",
                Some(false),
                vec![s(Active, Hook, 0)],
                Some((Exited, Process, 0)),
            ),
            (
                "a running process discards an exit claim",
                Some(true),
                vec![s(Exited, Hook, 5), s(Ready, Transcript, 60)],
                Some((Ready, Transcript, 60)),
            ),
            (
                "the hook alone",
                None,
                vec![s(Active, Hook, 30)],
                Some((Active, Hook, 30)),
            ),
            (
                "an error ties with a hook's ready: the error wins",
                Some(true),
                vec![s(Ready, Hook, 0), s(Blocked, Transcript, 0)],
                Some((Blocked, Transcript, 0)),
            ),
            (
                "a stale waiting hook loses to a newer transcript entry",
                None,
                vec![s(WaitingInput, Hook, 600), s(Active, Transcript, 5)],
                Some((Active, Transcript, 5)),
            ),
            (
                "a permission prompt on screen now beats an older active hook",
                Some(true),
                vec![s(Active, Hook, 40), s(WaitingInput, Screen, 0)],
                Some((WaitingInput, Screen, 0)),
            ),
            (
                "simultaneous signals go to the stronger source",
                None,
                vec![s(Ready, Transcript, 2), s(Active, Hook, 2)],
                Some((Active, Hook, 2)),
            ),
            (
                "the screen corroborating a Stop hook keeps the hook's time",
                Some(true),
                vec![s(Ready, Hook, 120), s(Ready, Screen, 0)],
                Some((Ready, Hook, 120)),
            ),
            (
                "but not across a contradicting signal",
                Some(true),
                vec![
                    s(WaitingInput, Hook, 300),
                    s(Active, Transcript, 60),
                    s(WaitingInput, Screen, 0),
                ],
                Some((WaitingInput, Screen, 0)),
            ),
            (
                "ready past the threshold is idle",
                None,
                vec![s(Ready, Hook, 301)],
                Some((Idle, Hook, 301)),
            ),
            (
                "active never decays",
                None,
                vec![s(Active, Hook, 3600)],
                Some((Active, Hook, 3600)),
            ),
            (
                "blocked from the transcript",
                None,
                vec![s(Blocked, Transcript, 10)],
                Some((Blocked, Transcript, 10)),
            ),
            (
                "screen only",
                None,
                vec![s(Active, Screen, 0)],
                Some((Active, Screen, 0)),
            ),
        ];
        for (name, running, signals, want) in cases {
            assert_eq!(r(running, signals), want, "{name}");
        }
    }
}

//! A spawn is done when the agent is up. After the runtime started it, the agent's process is
//! watched until it shows a sign of life (its plugin reads any state from its hooks, transcript
//! or screen: working, ready, asking, even an error) or exits, with a deadline. An agent that
//! dies at launch is a failed spawn carrying the CLI's own last lines: upstream said "spawned"
//! and, seconds later, "killed" with the reason left on a dead pane.

use crate::Error;
use crate::config::Project;
use crate::fleet::{Fleet, now_ms};
use crate::plugins::slots::{AgentClient, RuntimeClient};
use ao_plugin_api::slots::agent::{ActivityRequest, ActivityState, DetectActivityRequest};
use ao_plugin_api::slots::runtime::{IsAliveRequest, Liveness, ProbeRequest, RuntimeHandle};
use std::time::{Duration, Instant};

/// Lines of the screen each look brings: the CLI's last words are at the bottom.
const SCREEN_LINES: u32 = 60;
/// Between looks.
const EVERY: Duration = Duration::from_millis(200);
/// How long an ended session's exit status is waited for.
const CONFIRM: Duration = Duration::from_millis(800);
/// A running session with no agent process in it is believed only when it lasts this long: a
/// launch script or a node wrapper may not have started the agent on the first looks.
const MISSING: Duration = Duration::from_secs(3);
/// Lines of an exited agent's screen quoted in errors and reasons.
pub(crate) const LAST_LINES: usize = 6;

/// The session being watched.
pub(crate) struct Launched<'a> {
    pub agent_name: &'a str,
    pub agent: &'a AgentClient,
    pub runtime: &'a RuntimeClient,
    pub handle: &'a RuntimeHandle,
    pub process_names: &'a [String],
    pub session_id: &'a str,
    pub workspace: &'a str,
    pub agent_session_id: Option<String>,
    /// When the launch began (epoch ms): older signals are another life's.
    pub created_at: u64,
}

/// How the wait ended, when the agent did not die.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Up {
    /// Seen in this state.
    Seen(ActivityState),
    /// Still running at the deadline, with nothing any signal could read yet.
    NoSignYet(Duration),
}

/// Waits until the agent of a just-started runtime session shows a sign of life or exits.
/// An exit (or a runtime session that vanished) is `Error::LaunchFailed` with its last lines.
pub(crate) async fn wait_until_up(
    fleet: &Fleet,
    p: &Project,
    s: &Launched<'_>,
    deadline: Duration,
) -> Result<Up, Error> {
    let start = Instant::now();
    let mut missing_since: Option<Instant> = None;
    loop {
        let look = look(s).await;
        match &look {
            Some(l) if !l.session_exists => {
                return Err(failed(s, "its runtime session ended at once", None));
            }
            Some(l) if l.process_running == Some(false) => {
                let since = *missing_since.get_or_insert_with(Instant::now);
                // The session's own process ended ("exited"): tmux marks a pane dead when its
                // output closes, a moment before it has the exit status, so a few more looks
                // usually bring it. Otherwise the session runs but no agent process shows
                // (a wrapper still starting it): believed only when it lasts.
                let ended = l.detail.contains("exited") || l.detail.contains("killed");
                let settled = l.detail.contains("status") || l.detail.contains("signal");
                let waited = since.elapsed();
                if (ended && (settled || waited >= CONFIRM)) || waited >= MISSING {
                    return Err(failed(s, &l.detail, l.screen.as_deref()));
                }
            }
            Some(l) => {
                missing_since = None;
                if let Some(state) = activity(fleet, p, s, l).await {
                    return Ok(Up::Seen(state));
                }
            }
            // A failed probe is no evidence either way; the deadline still holds.
            None => {}
        }
        if start.elapsed() >= deadline {
            return Ok(Up::NoSignYet(deadline));
        }
        tokio::time::sleep(EVERY).await;
    }
}

async fn look(s: &Launched<'_>) -> Option<Liveness> {
    let answer = s
        .runtime
        .probe(&ProbeRequest {
            targets: vec![IsAliveRequest {
                handle: s.handle.clone(),
                process_names: s.process_names.to_vec(),
                mirror: None,
            }],
            capture_lines: Some(SCREEN_LINES),
            status_tail_bytes: Some(ao_plugin_api::status_file::REMOTE_TAIL),
            mirror_bytes: None,
        })
        .await
        .inspect_err(|e| tracing::debug!("{}: launch probe: {e}", s.session_id))
        .ok()?;
    answer.results.get(&s.handle.id).cloned()
}

/// Any state but "exited" the agent's own plugin reads is a sign of life.
async fn activity(
    fleet: &Fleet,
    p: &Project,
    s: &Launched<'_>,
    l: &Liveness,
) -> Option<ActivityState> {
    let now = now_ms();
    let req = ActivityRequest {
        session_id: s.session_id.to_string(),
        workspace_path: s.workspace.to_string(),
        status_file: Some(fleet.status_file(&p.id, s.session_id).display().to_string()),
        status_tail: l.status_tail.clone(),
        // Nothing is brought over before the agent is up.
        inside: None,
        agent_session_id: s.agent_session_id.clone(),
        screen: l.screen.clone(),
        screen_at_ms: l.screen.as_ref().map(|_| now),
        created_at_ms: Some(s.created_at),
        process_running: l.process_running,
        idle_threshold_ms: None,
        now_ms: Some(now),
    };
    let live = |state: ActivityState| state != ActivityState::Exited;
    // A restored session's hooks remember its last life: only what happened since counts.
    if let Ok(Some(a)) = s.agent.activity(&req).await
        && live(a.state)
        && a.at_ms.is_none_or(|t| t >= s.created_at)
    {
        return Some(a.state);
    }
    // The screen alone, read now: an old hook that agrees with it would lend it its old time.
    let screen = l.screen.clone()?;
    let seen = s
        .agent
        .detect_activity(&DetectActivityRequest { screen })
        .await
        .ok()?;
    seen.state.filter(|st| live(*st))
}

fn failed(s: &Launched<'_>, why: &str, screen: Option<&str>) -> Error {
    Error::LaunchFailed {
        agent: s.agent_name.to_string(),
        why: why.trim().to_string(),
        last_lines: screen
            .map(|t| last_lines(t, LAST_LINES))
            .unwrap_or_default(),
    }
}

/// The last `n` non-blank lines of a screen, trimmed, control characters dropped and each
/// capped: what a CLI said before it died, fit for an error, a reason or a notification.
pub fn last_lines(screen: &str, n: usize) -> Vec<String> {
    let mut out: Vec<String> = screen
        .lines()
        .rev()
        .map(|l| {
            let clean: String = l.chars().filter(|c| !c.is_control()).collect();
            let clean = clean.trim();
            let mut capped: String = clean.chars().take(200).collect();
            if clean.chars().count() > 200 {
                capped.push('…');
            }
            capped
        })
        // tmux's own note on a dead pane is not the agent's.
        .filter(|l| !l.is_empty() && !l.starts_with("Pane is dead"))
        .take(n)
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_are_the_bottom_non_blank_ones_in_order() {
        let screen = "banner\n\nError: cannot run as root\n  use --help\n\x1b\n\nPane is dead (status 1, Sat Dec  5 12:00:00 2026)\n\n";
        assert_eq!(
            last_lines(screen, 2),
            vec!["Error: cannot run as root", "use --help"]
        );
        assert_eq!(last_lines(screen, 10).len(), 3);
        assert!(last_lines("", 3).is_empty());
        let long = "x".repeat(500);
        assert_eq!(last_lines(&long, 1)[0].chars().count(), 201);
    }
}

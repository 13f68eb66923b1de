//! One poll of one project: gather facts (one runtime probe per runtime plugin, bringing every
//! live screen with it; one SCM batch; agent activity per session with bounded concurrency), derive, log the transitions, run the
//! reactions, notify, clean up merged sessions, and notice when everything is done.

use crate::Error;
use crate::config::Project;
use crate::config::model::ReactionAction;
use crate::fleet::kill::{KillReason, kill};
use crate::fleet::launch::{LAST_LINES, last_lines};
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::derive::{Facts, Thresholds, derive};
use crate::lifecycle::events::{Event, EventKind, transition_events};
use crate::lifecycle::react::ReactionCtx;
use crate::lifecycle::{mirror, notify, record};
use crate::store::session::{ActivityFact, PrFact, Role, RuntimeFact, Session, Status};
use crate::store::sessions::Listed;
use ao_plugin_api::slots::agent::{
    ActivityRequest, ActivitySource, ActivityState, Inside, SessionInfo, SessionInfoRequest,
};
use ao_plugin_api::slots::runtime::{IsAliveRequest, Liveness, ProbeRequest, RuntimeHandle};
use ao_plugin_api::slots::scm::{
    CheckStatus, CiStatus, EnrichBatchRequest, Mergeable, PrFacts, PrInfo, PrKey, PrState,
    ReviewDecision,
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// Sessions checked at once.
const CONCURRENCY: usize = 8;
/// Lines of each screen the probe brings back: enough for a dialog with its context.
const SCREEN_LINES: u32 = 40;

/// What one tick saw and did.
#[derive(Debug, Default, Clone)]
pub struct TickReport {
    /// Sessions looked at.
    pub checked: usize,
    /// `(session, from, to)` for every status change.
    pub transitions: Vec<(String, Status, Status)>,
    /// Events logged.
    pub events: Vec<Event>,
    /// Things that went wrong without stopping the tick.
    pub errors: Vec<String>,
}

/// What the tick's batch calls (probe, SCM) need of a session. Each check reads its whole
/// session again, so a tick never holds every session at once: at 1,000 sessions, whole
/// sessions were 4 MB of the tick's memory peak.
struct Brief {
    id: String,
    role: Role,
    merged: bool,
    handle: Option<RuntimeHandle>,
    process_names: Vec<String>,
    pr: Option<String>,
    branch: Option<String>,
    agent: Option<String>,
    agent_session_id: Option<String>,
    created_at: u64,
}

impl Brief {
    fn of(s: Session) -> Self {
        Self {
            agent: s.agent,
            agent_session_id: s.agent_session_id,
            created_at: s.created_at,
            merged: s.status == Status::Merged,
            id: s.id,
            role: s.role,
            handle: s.runtime_handle,
            process_names: s.process_names,
            pr: s.pr,
            branch: s.branch,
        }
    }
}

/// This tick's knowledge about PRs.
#[derive(Default)]
struct PrView {
    facts: HashMap<String, PrFacts>,
    detected: HashMap<String, PrInfo>,
    /// The SCM could not be asked (the whole batch failed): keep the stored PR facts.
    unavailable: bool,
}

/// Runs one tick of `project`.
pub async fn tick(fleet: &Fleet, project: &str) -> Result<TickReport, Error> {
    let p = fleet.project(project)?.clone();
    let store = fleet.store(&p.id);
    let mut report = TickReport::default();
    let mut sessions = Vec::new();
    let mut all_workers_done = true;
    let mut workers = 0;
    store.each_session(|item| match item {
        Listed::Session(s) => {
            if s.role == Role::Worker {
                workers += 1;
                all_workers_done &= s.status.is_terminal();
            }
            if !s.status.is_terminal() || s.status == Status::Merged {
                sessions.push(Brief::of(*s));
            }
        }
        Listed::Reserved { .. } => all_workers_done = false,
        Listed::Corrupt { path, reason } => report
            .errors
            .push(format!("{}: corrupt: {reason}", path.display())),
    })?;
    let live: Vec<&Brief> = sessions.iter().filter(|s| !s.merged).collect();
    // The runtime probe waits on tmux, the SCM batch on the network: at once, not in turn.
    let (mut probe_errors, mut scm_errors) = (Vec::new(), Vec::new());
    let (mut probes, prs) = futures_util::future::join(
        probe(fleet, &p, &live, &mut probe_errors),
        enrich(fleet, &p, &live, &mut scm_errors),
    )
    .await;
    report
        .errors
        .extend(probe_errors.into_iter().chain(scm_errors));
    let thresholds = Thresholds {
        stuck_ms: p
            .reactions
            .get("agent-stuck")
            .and_then(|r| r.threshold)
            .map(|d| d.as_millis() as u64),
        merge_without_evidence: fleet.config.merge_without_evidence,
        ..Thresholds::default()
    };
    // At most CONCURRENCY checks exist at once: a check's future is a few kB, and 1,000 of
    // them made up front were a tenth of a 1,000-session tick's peak heap. A plain loop over
    // FuturesUnordered, since a closure inside a stream combinator trips the compiler's Send
    // check for the daemon's spawned task.
    let mut results: Vec<Result<Option<Checked>, Error>> = Vec::with_capacity(sessions.len());
    {
        let mut pending = sessions.iter();
        let mut running = futures_util::stream::FuturesUnordered::new();
        loop {
            while running.len() < CONCURRENCY
                && let Some(s) = pending.next()
            {
                // The session's screen is handed over, so screens go as their checks end.
                let liveness = probes.remove(&s.id);
                running.push(check(fleet, &p, &s.id, liveness, &prs, &thresholds));
            }
            match running.next().await {
                Some(r) => results.push(r),
                None => break,
            }
        }
    }
    for r in results {
        match r {
            // Gone or ended since the listing: nothing to check.
            Ok(None) => {}
            Ok(Some(c)) => {
                report.checked += 1;
                if let Some(t) = c.transition {
                    report.transitions.push(t);
                }
                report.events.extend(c.events);
            }
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    all_complete(fleet, &p, workers > 0 && all_workers_done, &mut report).await;
    drop((sessions, probes, prs));
    crate::alloc::release_free();
    Ok(report)
}

/// One `probe` call per runtime plugin for every live session.
async fn probe(
    fleet: &Fleet,
    p: &Project,
    live: &[&Brief],
    errors: &mut Vec<String>,
) -> HashMap<String, Liveness> {
    let mut by_runtime: BTreeMap<String, Vec<&Brief>> = BTreeMap::new();
    for s in live {
        if let Some(h) = &s.handle {
            by_runtime.entry(h.runtime.clone()).or_default().push(s);
        }
    }
    let mut out = HashMap::new();
    for (name, group) in by_runtime {
        let mut targets = Vec::with_capacity(group.len());
        let mut mirrored = 0;
        for s in &group {
            let Some(handle) = s.handle.clone() else {
                continue;
            };
            // The agent's records inside a container or pod come with its screen.
            let of = mirror::Of {
                id: &s.id,
                handle: Some(&handle),
                agent: s.agent.as_deref(),
                agent_session_id: s.agent_session_id.as_deref(),
                created_at: s.created_at,
            };
            let mirror = mirror::request(fleet, p, of).await;
            mirrored += usize::from(mirror.is_some());
            targets.push(IsAliveRequest {
                handle,
                process_names: s.process_names.clone(),
                mirror,
            });
        }
        // Every live screen too, in bulk: dialogs and API errors reach no hook.
        let answer = match fleet.runtime(p, &name).await {
            Ok(rt) => {
                rt.probe(&ProbeRequest {
                    targets,
                    capture_lines: Some(SCREEN_LINES),
                    status_tail_bytes: Some(ao_plugin_api::status_file::REMOTE_TAIL),
                    mirror_bytes: Some(mirror::chunk(mirrored)),
                })
                .await
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok(mut r) => {
                for s in group {
                    let id = s.handle.as_ref().map(|h| h.id.as_str()).unwrap_or_default();
                    // Moved, not cloned: every live screen is in here, and two copies of a
                    // 1,000-session fleet's screens were a tick's largest memory peak.
                    if let Some(l) = r.results.remove(id) {
                        out.insert(s.id.clone(), l);
                    }
                }
            }
            // No answer is no evidence: nobody is declared dead on a failed probe.
            Err(e) => errors.push(format!("runtime/{name} probe: {e}")),
        }
    }
    out
}

/// The one SCM batch call of the tick.
async fn enrich(fleet: &Fleet, p: &Project, live: &[&Brief], errors: &mut Vec<String>) -> PrView {
    let mut view = PrView::default();
    let (Some(repo), Ok(Some(scm))) = (p.repo.clone(), fleet.scm(p).await) else {
        return view;
    };
    let mut req = EnrichBatchRequest {
        prs: Vec::new(),
        branches: BTreeMap::new(),
    };
    for s in live.iter().filter(|s| s.role == Role::Worker) {
        match s.pr.as_deref().and_then(pr_number) {
            Some(number) => req.prs.push(PrKey {
                repo: repo.clone(),
                number,
            }),
            None => {
                if let Some(b) = &s.branch {
                    req.branches
                        .entry(repo.clone())
                        .or_default()
                        .push(b.clone());
                }
            }
        }
    }
    if req.prs.is_empty() && req.branches.is_empty() {
        return view;
    }
    match scm.enrich_batch(&req).await {
        Ok(r) => {
            for (key, why) in &r.errors {
                errors.push(format!("scm {key}: {why}"));
            }
            view.facts = r.prs.into_iter().collect();
            for (_, branches) in r.detected {
                view.detected.extend(branches);
            }
        }
        Err(e) => {
            view.unavailable = true;
            errors.push(format!("scm batch: {e}"));
        }
    }
    view
}

fn pr_number(url: &str) -> Option<u64> {
    url.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

struct Checked {
    transition: Option<(String, Status, Status)>,
    events: Vec<Event>,
}

/// One session: facts → derive → store → events → reactions. `None` when the session is gone
/// or ended since the tick listed it.
async fn check(
    fleet: &Fleet,
    p: &Project,
    id: &str,
    mut liveness: Option<Liveness>,
    prs: &PrView,
    thresholds: &Thresholds,
) -> Result<Option<Checked>, Error> {
    let now = now_ms();
    let store = fleet.store(&p.id);
    let Some(s) = store.session(id)? else {
        return Ok(None);
    };
    let s = &s;
    if s.status == Status::Merged {
        let events = cleanup_if_merged(fleet, p, s, now).await?;
        return Ok(Some(Checked {
            transition: None,
            events,
        }));
    }
    if s.status.is_terminal() {
        return Ok(None);
    }
    let screen = liveness.as_mut().and_then(|l| l.screen.take());
    let status_tail = liveness.as_mut().and_then(|l| l.status_tail.take());
    let files = liveness
        .as_mut()
        .map(|l| std::mem::take(&mut l.files))
        .unwrap_or_default();
    let copy = mirror::root(fleet, &p.id, id);
    if !files.is_empty()
        && let Err(e) = crate::store::mirror::apply(&copy, &files)
    {
        tracing::warn!("{id}: keeping the agent's records from inside: {e}");
    }
    let inside = mirror::inside(s.runtime_handle.as_ref(), &copy);
    let runtime_fact = liveness.map(|l| {
        let hash = screen.as_deref().map(screen_hash);
        let before = s.runtime_fact.as_ref();
        let changed = match (hash, before.and_then(|r| r.screen_hash)) {
            (Some(h), Some(old)) if h == old => before.and_then(|r| r.screen_changed_at),
            (Some(_), _) => Some(now),
            (None, _) => before.and_then(|r| r.screen_changed_at),
        };
        // A gone agent's last words, kept for its `killed` reason.
        let gone = l.process_running == Some(false);
        RuntimeFact {
            session_exists: l.session_exists,
            process_running: l.process_running,
            at: now,
            screen_hash: hash.or(before.and_then(|r| r.screen_hash)),
            screen_changed_at: changed,
            exit_detail: gone.then(|| l.detail.clone()),
            last_lines: match (gone, screen.as_deref()) {
                (true, Some(t)) => last_lines(t, LAST_LINES),
                _ => Vec::new(),
            },
        }
    });
    let seen = Seen {
        screen,
        status_tail: status_tail.as_deref(),
        inside: inside.clone(),
    };
    let mut activity = activity(fleet, p, s, runtime_fact.as_ref(), seen, now).await;
    // The same thing seen on screen again is the same fact: it keeps the time it was first
    // seen ("waiting since"), and an unchanged fact costs no write.
    if let (Some(a), Some(old)) = (activity.as_mut(), s.activity_fact.as_ref())
        && a.source == ActivitySource::Screen
        && (a.state, a.source, &a.detail, &a.dialog)
            == (old.state, old.source, &old.detail, &old.dialog)
    {
        a.at = old.at;
    }
    // Tokens and cost: read when the agent did something since the last read (its activity
    // moved, which includes its first sighting), and once more on the tick after, since a
    // transcript can land after the hook that moved it; a quiet agent costs no read.
    let moved = match (&activity, &s.activity_fact) {
        (Some(a), Some(old)) => (a.state, a.at) != (old.state, old.at),
        (Some(_), None) => true,
        _ => false,
    };
    let info = if moved || s.info_due {
        session_info(fleet, p, s, status_tail.as_deref(), inside).await
    } else {
        None
    };
    let detected = s
        .branch
        .as_ref()
        .filter(|_| s.pr.is_none())
        .and_then(|b| prs.detected.get(b));
    let key =
        s.pr.as_deref()
            .and_then(pr_number)
            .or(detected.map(|d| d.key.number))
            .and_then(|n| p.repo.as_ref().map(|r| format!("{r}#{n}")));
    let facts = key.as_ref().and_then(|k| prs.facts.get(k));
    let pr_fact = facts.map(|f| to_fact(f, now));

    let new = store.update_session(&s.id, |x| {
        if let Some(r) = &runtime_fact {
            x.runtime_fact = Some(r.clone());
        }
        if let Some(a) = &activity {
            x.activity_fact = Some(a.clone());
            x.last_activity_at = Some(x.last_activity_at.unwrap_or(0).max(a.at));
        }
        if let Some(d) = detected {
            x.pr = Some(d.url.clone());
        }
        x.info_due = moved;
        if let Some(i) = &info {
            if i.cost.is_some() {
                x.cost = i.cost.clone();
            }
            if let Some(sum) = i.summary.as_ref().filter(|_| !i.summary_is_fallback) {
                x.summary = Some(sum.clone());
            }
            if x.agent_session_id.is_none() {
                x.agent_session_id = i.agent_session_id.clone();
            }
        }
        if let Some(f) = &pr_fact {
            x.pr_fact = Some(f.clone());
        }
        let d = derive(
            &Facts {
                role: x.role,
                previous: x.status,
                created_at: x.created_at,
                runtime: x.runtime_fact.as_ref(),
                activity: x.activity_fact.as_ref(),
                pr: x.pr_fact.as_ref(),
                report: x.report_fact.as_ref(),
                gone_streak: x.gone_streak,
            },
            thresholds,
            now,
        );
        x.gone_streak = d.gone_streak;
        if d.status != x.status {
            x.status = d.status;
            x.status_at = Some(now);
        }
        if !d.reason.is_empty() {
            x.status_reason = d.reason;
        }
    })?;
    let mut events = transition_events(s, &new);
    let transition = (new.status != s.status).then(|| (s.id.clone(), s.status, new.status));
    for e in &events {
        record(fleet, &p.id, e);
    }
    let mut ctx = ReactionCtx {
        fleet,
        p,
        facts,
        now,
    };
    let reacted = ctx.react(&new, &events).await?;
    // Events no reaction answered for: a human hears of the ones that need judgment.
    for e in &events {
        let handled = e
            .kind
            .reaction_key()
            .is_some_and(|k| p.reactions.contains_key(k));
        if !handled
            && matches!(
                e.priority,
                crate::config::model::PriorityName::Urgent
                    | crate::config::model::PriorityName::Action
            )
        {
            notify::notify(fleet, &p.id, e, new.pr.as_deref()).await;
        }
    }
    events.extend(reacted);
    Ok(Some(Checked { transition, events }))
}

/// What this tick's probe brought from inside the session.
struct Seen<'a> {
    screen: Option<String>,
    /// The status file's end, for a session whose files live in its runtime.
    status_tail: Option<&'a str>,
    /// Where such a session keeps its files, and the host's copy of its agent's records.
    inside: Option<Inside>,
}

/// The agent's activity, from its plugin: hooks, transcript and this tick's screen (which
/// alone shows dialogs and errors that reach no hook).
async fn activity(
    fleet: &Fleet,
    p: &Project,
    s: &Session,
    runtime: Option<&RuntimeFact>,
    seen: Seen<'_>,
    now: u64,
) -> Option<ActivityFact> {
    let Seen {
        screen,
        status_tail,
        inside,
    } = seen;
    let agent = fleet
        .agent(p, s.agent.as_deref().unwrap_or(&p.agent))
        .await
        .ok()?;
    let req = ActivityRequest {
        session_id: s.id.clone(),
        workspace_path: s.workspace.clone().unwrap_or_default(),
        status_file: Some(fleet.status_file(&p.id, &s.id).display().to_string()),
        status_tail: status_tail.map(str::to_owned),
        inside,
        agent_session_id: s.agent_session_id.clone(),
        screen_at_ms: screen.as_ref().map(|_| now),
        screen,
        created_at_ms: Some(s.created_at),
        process_running: runtime.and_then(|r| r.process_running),
        idle_threshold_ms: None,
        now_ms: Some(now),
    };
    let answer = agent.activity(&req).await.ok().flatten()?;
    Some(ActivityFact {
        state: answer.state,
        source: answer.source,
        at: answer.at_ms.unwrap_or(now),
        detail: answer.detail.filter(|d| !d.trim().is_empty()),
        dialog: answer.dialog,
    })
}

/// The agent's own record of the session (tokens, cost, title); `None` when it cannot say.
async fn session_info(
    fleet: &Fleet,
    p: &Project,
    s: &Session,
    status_tail: Option<&str>,
    inside: Option<Inside>,
) -> Option<SessionInfo> {
    let agent = fleet
        .agent(p, s.agent.as_deref().unwrap_or(&p.agent))
        .await
        .ok()?;
    agent
        .session_info(&SessionInfoRequest {
            session_id: s.id.clone(),
            workspace_path: s.workspace.clone().unwrap_or_default(),
            agent_session_id: s.agent_session_id.clone(),
            status_file: Some(fleet.status_file(&p.id, &s.id).display().to_string()),
            status_tail: status_tail.map(str::to_owned),
            inside,
            created_at_ms: Some(s.created_at),
        })
        .await
        .inspect_err(|e| tracing::debug!("{}: session_info: {e}", s.id))
        .ok()
}

/// A hash of the screen with trailing blanks dropped: equal screens, equal hashes.
fn screen_hash(screen: &str) -> u32 {
    ao_plugin_api::sdk::agent::screen::fnv1a(
        screen
            .lines()
            .flat_map(|l| l.trim_end().bytes().chain(std::iter::once(b'\n'))),
    )
}

/// The compact stored form of a PR's facts.
fn to_fact(f: &PrFacts, now: u64) -> PrFact {
    let key = |bot: bool| {
        let mut ids: Vec<&str> = f
            .unresolved_threads
            .iter()
            .filter(|c| !c.is_resolved && c.is_bot == bot)
            .map(|c| c.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.join(",")
    };
    PrFact {
        state: match f.state {
            PrState::Open => "open",
            PrState::Merged => "merged",
            PrState::Closed => "closed",
        }
        .into(),
        head_sha: f.head_sha.clone(),
        ci: match f.ci.status {
            CiStatus::Pending => "pending",
            CiStatus::Passing => "passing",
            CiStatus::Failing => "failing",
            CiStatus::None => "none",
        }
        .into(),
        review: match f.review_decision {
            ReviewDecision::Approved => "approved",
            ReviewDecision::ChangesRequested => "changes_requested",
            ReviewDecision::ReviewRequired => "review_required",
            ReviewDecision::None => "none",
        }
        .into(),
        // Mergeable for the engine means the forge would merge it now: no conflicts, not a
        // draft, and nothing in branch protection blocking it.
        mergeable: f.mergeable == Mergeable::Mergeable
            && !f.info.is_draft
            && f.merge_state_status.as_deref().is_none_or(|m| {
                matches!(
                    m.to_ascii_lowercase().as_str(),
                    "clean" | "has_hooks" | "unstable"
                )
            }),
        conflicts: f.mergeable == Mergeable::Conflicting,
        unresolved_threads: f
            .unresolved_threads
            .iter()
            .filter(|c| !c.is_resolved)
            .count() as u32,
        number: f.info.key.number,
        draft: f.info.is_draft,
        failed_checks: f
            .ci
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
            .map(|c| c.name.clone())
            .collect(),
        threads_key: key(false),
        bot_threads_key: key(true),
        at: now,
    }
}

/// Auto-cleanup of a merged session: at once when its agent is quiet, else after the grace.
async fn cleanup_if_merged(
    fleet: &Fleet,
    p: &Project,
    s: &Session,
    now: u64,
) -> Result<Vec<Event>, Error> {
    if !fleet.config.auto_cleanup_on_merge {
        return Ok(Vec::new());
    }
    let busy = s
        .activity_fact
        .as_ref()
        .is_some_and(|a| matches!(a.state, ActivityState::Active | ActivityState::WaitingInput));
    let since = s.status_at.unwrap_or(now);
    if busy && now.saturating_sub(since) < fleet.config.merge_cleanup_grace.as_millis() as u64 {
        return Ok(Vec::new());
    }
    let k = kill(fleet, s, KillReason::Cleanup).await?;
    let mut msg = "PR merged: session cleaned up".to_string();
    if !k.detail.is_empty() {
        msg.push_str(&format!(" ({})", k.detail));
    }
    let e = Event::new(EventKind::ReactionTriggered, &s.id, msg).with_data(serde_json::json!({
        "action": "cleanup", "runtimeStopped": k.runtime_stopped, "workspaceRemoved": k.workspace_removed,
    }));
    record(fleet, &p.id, &e);
    Ok(vec![e])
}

/// `all-complete`: once, when every worker session of the project has ended (the orchestrator
/// does not count, unlike upstream, where it kept this from ever firing).
async fn all_complete(fleet: &Fleet, p: &Project, done: bool, report: &mut TickReport) {
    let marker = fleet.store(&p.id).root().join("all-complete");
    if !done {
        let _ = std::fs::remove_file(&marker);
        return;
    }
    if marker.exists() || std::fs::write(&marker, now_ms().to_string()).is_err() {
        return;
    }
    let mut e = Event::new(
        EventKind::AllComplete,
        "",
        format!("every session of {} has ended", p.id),
    );
    e.session = None;
    record(fleet, &p.id, &e);
    if let Some(r) = p
        .reactions
        .get("all-complete")
        .filter(|r| r.action == ReactionAction::Notify)
    {
        let mut human = e.clone();
        human.priority = r.priority;
        notify::notify(fleet, &p.id, &human, None).await;
    }
    report.events.push(e);
}

#[cfg(test)]
mod tests {
    #[test]
    fn pr_numbers_come_from_urls() {
        assert_eq!(
            super::pr_number("http://127.0.0.1:9/acme/app/pull/12"),
            Some(12)
        );
        assert_eq!(
            super::pr_number("https://github.com/acme/app/pull/3/"),
            Some(3)
        );
        assert_eq!(super::pr_number("nonsense"), None);
    }
}

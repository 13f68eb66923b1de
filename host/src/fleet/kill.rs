//! Ending sessions and bringing them back: `ao session kill|restore|cleanup`, and the engine's
//! auto-cleanup after a merge.

use crate::Error;
use crate::fleet::launch::{Launched, wait_until_up};
use crate::fleet::spawn::{Start, launch_request, start_runtime};
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::events::{Event, EventKind};
use crate::store::session::{Role, Session, Status};
use ao_plugin_api::slots::runtime::HandleRequest;
use ao_plugin_api::slots::workspace::{self, PostCreate};

/// Why a session is being ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    /// `ao session kill`.
    User,
    /// Its PR merged (auto-cleanup) or `ao session cleanup`.
    Cleanup,
}

/// What a kill did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Killed {
    /// The runtime session was stopped.
    pub runtime_stopped: bool,
    /// The workspace was removed (false when it holds unpushed work: kept, and `detail` says).
    pub workspace_removed: bool,
    /// What was kept and why.
    pub detail: String,
}

impl Killed {
    /// `app-3: killed; workspace removed` (or why it was kept), for people.
    pub fn describe(&self, id: &str, what: &str) -> String {
        let mut line = format!("{id}: {what}");
        if self.workspace_removed {
            line.push_str("; workspace removed");
        }
        if !self.detail.is_empty() {
            line.push_str(&format!("; {}", self.detail));
        }
        line
    }
}

/// Stops the runtime, removes the workspace unless it holds unsaved work (never forced), and
/// records the end. Idempotent.
pub async fn kill(fleet: &Fleet, s: &Session, why: KillReason) -> Result<Killed, Error> {
    let p = fleet.project(&s.project)?;
    let mut out = Killed {
        runtime_stopped: false,
        workspace_removed: false,
        detail: String::new(),
    };
    if let Some(h) = &s.runtime_handle {
        let rt = fleet.runtime(p, &h.runtime).await?;
        rt.destroy(&HandleRequest { handle: h.clone() }).await?;
        out.runtime_stopped = true;
    }
    // An orchestrator runs in the project checkout itself: that is never ao's to remove.
    if let Some(path) = s
        .workspace
        .as_ref()
        .filter(|_| s.role != Role::Orchestrator)
    {
        let ws = fleet.workspace(p).await?;
        let req = workspace::DestroyRequest {
            path: path.clone(),
            root: fleet.store(&p.id).worktrees_dir().display().to_string(),
            repo_path: p.path.display().to_string(),
            force: false,
            delete_branch: None,
        };
        match ws.destroy(&req).await {
            Ok(o) => out.workspace_removed = o.removed,
            // Unsaved work is kept: a kill must never lose it.
            Err(e) => out.detail = format!("workspace kept: {e}"),
        }
    }
    let (status, reason) = match why {
        KillReason::User => (Status::Terminated, "killed by the user"),
        KillReason::Cleanup => (Status::Cleanup, "cleaned up"),
    };
    let now = now_ms();
    fleet.store(&p.id).update_session(&s.id, |s| {
        s.status = status;
        s.status_reason = reason.to_string();
        s.status_at = Some(now);
        s.episodes.clear();
    })?;
    Ok(out)
}

/// Brings an ended session back: the workspace (re-created on its branch if it was removed), a
/// new runtime running the agent's resume command (its conversation continues, with its system
/// prompt), status working.
pub async fn restore(fleet: &Fleet, s: &Session) -> Result<Session, Error> {
    let p = fleet.project(&s.project)?;
    let restorable = s.status.is_terminal() || s.status == Status::Stuck;
    if !restorable && s.runtime_fact.as_ref().is_none_or(|r| r.session_exists) {
        return Err(Error::Invalid(format!(
            "session `{}` is {} and its runtime is alive; nothing to restore",
            s.id,
            s.status.as_str()
        )));
    }
    if s.status == Status::Merged {
        return Err(Error::Invalid(format!(
            "session `{}`'s PR is merged; spawn a new session for more work",
            s.id
        )));
    }
    let store = fleet.store(&p.id);
    let ws = fleet.workspace(p).await?;
    let path = match &s.workspace {
        Some(path) if std::path::Path::new(path).is_dir() => path.clone(),
        _ => {
            let branch = s.branch.clone().ok_or_else(|| {
                Error::Invalid(format!("session `{}` has no branch to restore from", s.id))
            })?;
            ws.restore(&workspace::CreateRequest {
                project_id: p.id.clone(),
                session_id: s.id.clone(),
                repo_path: p.path.display().to_string(),
                root: store.worktrees_dir().display().to_string(),
                branch,
                base_branch: p.default_branch.clone(),
                post_create: PostCreate {
                    symlinks: p.symlinks.clone(),
                    commands: p.post_create.clone(),
                },
            })
            .await?
            .path
        }
    };
    let agent_name = s.agent.clone().unwrap_or_else(|| p.agent.clone());
    let agent = fleet.agent(p, &agent_name).await?;
    let runtime = fleet.runtime(p, &p.runtime).await?;
    if let Some(old) = &s.runtime_handle
        && let Ok(rt) = fleet.runtime(p, &old.runtime).await
    {
        let _ = rt
            .destroy(&HandleRequest {
                handle: old.clone(),
            })
            .await;
    }
    let launch = launch_request(fleet, p, &agent_name, &s.id, &path, s.issue.clone(), None);
    let resume = agent
        .restore_command(&ao_plugin_api::slots::agent::RestoreRequest {
            launch: launch.clone(),
            agent_session_id: s.agent_session_id.clone(),
        })
        .await?;
    let resumed = resume.is_some();
    let spec = match resume {
        Some(spec) => spec,
        None => agent.launch(&launch).await?,
    };
    let started_at = now_ms();
    // The agent's records from the old container or pod, for its resume in a new one.
    let copies = crate::store::mirror::copies(
        &crate::lifecycle::mirror::root(fleet, &p.id, &s.id),
        s.runtime_handle.as_ref(),
    );
    let start = Start {
        agent: &agent_name,
        id: &s.id,
        workspace: &path,
        spec: &spec,
        copies,
    };
    let handle = start_runtime(fleet, p, &runtime, start).await?;
    // A restore that cannot start its agent leaves the session as it was, with the reason.
    let up = Launched {
        agent_name: &agent_name,
        agent: &agent,
        runtime: &runtime,
        handle: &handle,
        process_names: &spec.process_names,
        session_id: &s.id,
        workspace: &path,
        agent_session_id: spec.agent_session_id.clone().or(s.agent_session_id.clone()),
        created_at: started_at,
    };
    if let Err(e) = wait_until_up(fleet, p, &up, fleet.config.launch_timeout).await {
        let _ = runtime.destroy(&HandleRequest { handle }).await;
        return Err(e);
    }
    let now = now_ms();
    let restored = store.update_session(&s.id, |x| {
        x.runtime_handle = Some(handle);
        x.workspace = Some(path);
        x.status = Status::Working;
        x.status_reason = if resumed {
            "restored; the conversation continues".into()
        } else {
            "restored with a fresh conversation".into()
        };
        x.status_at = Some(now);
        x.gone_streak = 0;
        x.runtime_fact = None;
        x.activity_fact = None;
        x.episodes.clear();
        if spec.agent_session_id.is_some() {
            x.agent_session_id = spec.agent_session_id.clone();
        }
        x.process_names = spec.process_names.clone();
    })?;
    crate::lifecycle::record(
        fleet,
        &p.id,
        &Event::new(
            EventKind::SessionWorking,
            &s.id,
            restored.status_reason.clone(),
        ),
    );
    Ok(restored)
}

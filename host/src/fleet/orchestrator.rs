//! The orchestrator session `{prefix}-orchestrator`: the project's agent, started by `ao start`
//! in the project checkout itself (it changes no code, so it needs no worktree) with the
//! orchestrator prompt. One per project: a live one is kept, an ended one is archived and
//! started afresh.

use crate::Error;
use crate::config::Project;
use crate::fleet::launch::{Launched, wait_until_up};
use crate::fleet::spawn::{Start, launch_request, reaction_lines, rules, start_runtime};
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::events::{Event, EventKind};
use crate::prompt::{self, PromptInput};
use crate::store::session::{Role, Session};
use ao_plugin_api::slots::agent::SetupHooksRequest;
use ao_plugin_api::slots::runtime::{HandleRequest, IsAliveRequest, ProbeRequest};

/// What [`start`] did.
#[derive(Debug, Clone)]
pub enum Started {
    /// A new orchestrator session.
    New(Session),
    /// One was already running.
    Running(Session),
}

/// The orchestrator's session id in a project.
pub fn id(p: &Project) -> String {
    format!("{}-orchestrator", p.session_prefix)
}

/// Starts the project's orchestrator unless one is running.
pub async fn start(fleet: &Fleet, project: &str) -> Result<Started, Error> {
    let p = fleet.project(project)?.clone();
    let store = fleet.store(&p.id);
    let id = id(&p);
    if let Some(old) = store.session(&id)? {
        if !old.status.is_terminal() && runtime_alive(fleet, &p, &old).await {
            return Ok(Started::Running(old));
        }
        // Ended, or its runtime is gone: keep its record, start a new one (under the same
        // runtime name, so what is left of the old one goes first).
        stop_runtime(fleet, &p, &old).await;
        store.archive_session(&id, now_ms())?;
    }

    let agent = fleet.agent(&p, &p.agent).await?;
    let runtime = fleet.runtime(&p, &p.runtime).await?;
    let text = prompt::orchestrator(&PromptInput {
        session_id: &id,
        project_id: &p.id,
        repo: p.repo.as_deref(),
        default_branch: &p.default_branch,
        rules: rules(&p),
        reactions: reaction_lines(&p),
        ..PromptInput::default()
    });
    let prompt_file = prompt::write(&store.prompts_dir(), &id, &text)
        .map_err(|e| Error::io("could not write the prompt to", store.prompts_dir(), e))?;
    let status_file = fleet.status_file(&p.id, &id);
    let sessions = store.sessions_dir();
    for dir in [status_file.parent(), Some(sessions.as_path())]
        .into_iter()
        .flatten()
    {
        crate::paths::private_dir_all(dir).map_err(|e| Error::io("could not create", dir, e))?;
    }
    let checkout = p.path.display().to_string();
    let started = async {
        if agent.implements(ao_plugin_api::slots::agent::SETUP_WORKSPACE_HOOKS) {
            agent
                .setup_workspace_hooks(&SetupHooksRequest {
                    workspace_path: checkout.clone(),
                    session_id: id.clone(),
                    status_file: status_file.display().to_string(),
                    ao_command: fleet.ao_command(),
                })
                .await?;
        }
        let spec = agent
            .launch(&launch_request(
                fleet, &p, &p.agent, &id, &checkout, None, None,
            ))
            .await?;
        let mut s = Session::new(&id, &p.id, now_ms());
        s.role = Role::Orchestrator;
        s.agent = Some(p.agent.clone());
        s.workspace = Some(checkout.clone());
        s.agent_session_id = spec.agent_session_id.clone();
        s.process_names = spec.process_names.clone();
        s.summary = Some("orchestrator".into());
        store.write_session(&s)?;
        let started = async {
            crate::store::mirror::forget(&crate::lifecycle::mirror::root(fleet, &p.id, &id));
            let start = Start {
                agent: &p.agent,
                id: &id,
                workspace: &checkout,
                spec: &spec,
                copies: Vec::new(),
            };
            let handle = start_runtime(fleet, &p, &runtime, start).await?;
            let up = Launched {
                agent_name: &p.agent,
                agent: &agent,
                runtime: &runtime,
                handle: &handle,
                process_names: &s.process_names,
                session_id: &id,
                workspace: &checkout,
                agent_session_id: s.agent_session_id.clone(),
                created_at: s.created_at,
            };
            if let Err(e) = wait_until_up(fleet, &p, &up, fleet.config.launch_timeout).await {
                let _ = runtime.destroy(&HandleRequest { handle }).await;
                return Err(e);
            }
            store.update_session(&id, |x| x.runtime_handle = Some(handle.clone()))
        }
        .await;
        if started.is_err() {
            let _ = std::fs::remove_file(store.sessions_dir().join(&id));
        }
        started
    }
    .await;
    match started {
        Ok(s) => {
            crate::lifecycle::record(
                fleet,
                &p.id,
                &Event::new(
                    EventKind::SessionSpawned,
                    &id,
                    format!("orchestrator started ({})", p.agent),
                )
                .with_data(serde_json::json!({"role": "orchestrator"})),
            );
            Ok(Started::New(s))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&prompt_file);
            Err(e)
        }
    }
}

/// One probe of the session's runtime; no answer counts as not alive.
async fn runtime_alive(fleet: &Fleet, p: &Project, s: &Session) -> bool {
    let Some(h) = &s.runtime_handle else {
        return false;
    };
    let Ok(rt) = fleet.runtime(p, &h.runtime).await else {
        return false;
    };
    let req = ProbeRequest {
        targets: vec![IsAliveRequest {
            handle: h.clone(),
            process_names: s.process_names.clone(),
            mirror: None,
        }],
        ..ProbeRequest::default()
    };
    match rt.probe(&req).await {
        Ok(r) => r.results.get(&h.id).is_some_and(|l| l.alive),
        Err(_) => false,
    }
}

/// Stops a leftover runtime of an orchestrator being replaced (best effort).
async fn stop_runtime(fleet: &Fleet, p: &Project, s: &Session) {
    if let Some(h) = &s.runtime_handle
        && let Ok(rt) = fleet.runtime(p, &h.runtime).await
    {
        let _ = rt.destroy(&HandleRequest { handle: h.clone() }).await;
    }
}

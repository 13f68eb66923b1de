//! `ao send`: a message to a session's agent, acknowledged (the runtime waits until the agent
//! is ready, pastes, presses Enter, and confirms the agent took it), and refused while the
//! agent shows a dialog (the agent's screen grammar goes with the request).

use crate::Error;
use crate::fleet::Fleet;
use crate::store::session::Session;
use ao_plugin_api::slots::runtime::{
    DeliveryOptions, RuntimeHandle, SendMessageRequest, SendOutcome,
};

/// Finds a session by id in any project.
pub fn find(fleet: &Fleet, id: &str) -> Result<Session, Error> {
    let p = fleet.project_of(id).ok_or_else(|| {
        Error::Invalid(format!(
            "`{id}` is not a session of any project here (ids look like {}-1; see `ao status`)",
            fleet
                .config
                .projects
                .values()
                .next()
                .map(|p| p.session_prefix.as_str())
                .unwrap_or("app")
        ))
    })?;
    let store = fleet.store(&p.id);
    store.session(id)?.ok_or_else(|| {
        // An empty file is an id a spawn reserved: in progress, or dead before it wrote.
        let reserved = std::fs::metadata(store.sessions_dir().join(id)).is_ok_and(|m| m.len() == 0);
        Error::Invalid(if reserved {
            format!("`{id}` is being spawned (or its spawn died before it wrote anything)")
        } else {
            format!("no session `{id}` (see `ao status`)")
        })
    })
}

/// The session's runtime handle, or the error that says why there is none yet.
pub(crate) fn runtime_handle(s: &Session) -> Result<RuntimeHandle, Error> {
    s.runtime_handle.clone().ok_or_else(|| {
        Error::Invalid(format!(
            "session `{}` has no runtime yet (still spawning?)",
            s.id
        ))
    })
}

/// Delivers `text` to the session's agent.
pub async fn send(fleet: &Fleet, s: &Session, text: &str) -> Result<SendOutcome, Error> {
    if s.status.is_terminal() {
        return Err(Error::Invalid(format!(
            "session `{}` has ended ({}); bring it back with `ao session restore {}`",
            s.id,
            s.status.as_str(),
            s.id
        )));
    }
    let handle = runtime_handle(s)?;
    let p = fleet.project(&s.project)?;
    let runtime = fleet.runtime(p, &handle.runtime).await?;
    let screen = fleet
        .screen_rules(p, s.agent.as_deref().unwrap_or(&p.agent))
        .await;
    runtime
        .send_message(&SendMessageRequest {
            handle,
            text: text.to_string(),
            delivery: DeliveryOptions {
                status_file: Some(fleet.status_file(&s.project, &s.id).display().to_string()),
                screen,
                ..DeliveryOptions::default()
            },
        })
        .await
}

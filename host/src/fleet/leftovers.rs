//! Runtime sessions no live session owns: what a crash mid-spawn, a wiped store or a killed
//! agent's dead pane leaves on the runtime. Found by asking each project's runtime for the
//! sessions under this config's name prefix (`runtime::LIST_SESSIONS`); `ao doctor` reports
//! them, `ao session cleanup` and `ao stop --kill-sessions` remove them.

use crate::Error;
use crate::fleet::Fleet;
use crate::fleet::spawn::runtime_name;
use ao_plugin_api::slots::runtime::{
    HandleRequest, LIST_SESSIONS, ListSessionsRequest, ListedSession,
};
use std::collections::BTreeSet;

/// A runtime session nobody owns.
#[derive(Debug, Clone)]
pub struct Leftover {
    /// The project whose runtime listed it.
    pub project: String,
    /// The session.
    pub session: ListedSession,
}

/// Every leftover of every project's runtime, plus the runtimes that could not say (they do
/// not list sessions, or the call failed): those are unknown, not clean.
pub async fn find(fleet: &Fleet) -> Result<(Vec<Leftover>, Vec<String>), Error> {
    // A session file that is not ended owns its runtime name even before its handle is
    // recorded (a spawn writes the file first, then starts the runtime).
    let mut owned = BTreeSet::new();
    for p in fleet.config.projects.keys() {
        for item in fleet.store(p).list_sessions()? {
            if let crate::store::sessions::Listed::Session(s) = item
                && !s.status.is_terminal()
            {
                owned.insert(runtime_name(fleet, &s.id));
                if let Some(h) = &s.runtime_handle {
                    owned.insert(h.id.clone());
                }
            }
        }
    }
    let prefix = runtime_name(fleet, "");
    let (mut out, mut unknown) = (Vec::new(), Vec::new());
    let mut seen = BTreeSet::new();
    for p in fleet.config.projects.values() {
        let rt = match fleet.runtime(p, &p.runtime).await {
            Ok(rt) => rt,
            Err(e) => {
                unknown.push(format!("{} (runtime/{}): {e}", p.id, p.runtime));
                continue;
            }
        };
        if !rt.implements(LIST_SESSIONS) {
            unknown.push(format!(
                "{} (runtime/{}): it cannot list its sessions",
                p.id, p.runtime
            ));
            continue;
        }
        let listed = match rt
            .list_sessions(&ListSessionsRequest {
                prefix: prefix.clone(),
            })
            .await
        {
            Ok(l) => l,
            Err(e) => {
                unknown.push(format!("{} (runtime/{}): {e}", p.id, p.runtime));
                continue;
            }
        };
        for s in listed.sessions {
            // Projects sharing one tmux server list the same sessions.
            let key = (
                s.handle.runtime.clone(),
                s.handle.data.to_string(),
                s.handle.id.clone(),
            );
            if owned.contains(&s.handle.id) || !seen.insert(key) {
                continue;
            }
            out.push(Leftover {
                project: p.id.clone(),
                session: s,
            });
        }
    }
    Ok((out, unknown))
}

/// Stops a leftover; an already gone one is fine.
pub async fn remove(fleet: &Fleet, l: &Leftover) -> Result<(), Error> {
    let p = fleet.project(&l.project)?;
    let rt = fleet.runtime(p, &l.session.handle.runtime).await?;
    rt.destroy(&HandleRequest {
        handle: l.session.handle.clone(),
    })
    .await
}

/// `6bfa97-app-3 (agent gone)`.
pub fn describe(l: &Leftover) -> String {
    let how = if l.session.alive {
        "agent running"
    } else {
        "agent gone"
    };
    format!("{} ({how})", l.session.handle.id)
}

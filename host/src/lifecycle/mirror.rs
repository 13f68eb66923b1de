//! Following the files a session keeps inside its runtime (a container, a pod) that its
//! agent's records are read from (protocol 1.3): the agent plugin names them
//! (`session_files`), the tick's probe brings what they gained since the last tick in the same
//! exec as the screen, `store::mirror` appends them to the host's copy, and the agent plugin
//! reads that through `Inside::root` as it reads a local session's files.

use crate::config::Project;
use crate::fleet::Fleet;
use crate::store::mirror::{have, plain};
use ao_plugin_api::slots::agent::{Inside, SessionFilesRequest};
use ao_plugin_api::slots::runtime::{Mirror, RuntimeHandle};
use std::path::{Path, PathBuf};

/// The most bytes of one file a tick brings over: a long transcript arrives over a few ticks.
const CHUNK: u32 = 256 << 10;
/// The least, however many sessions share the budget.
const MIN_CHUNK: u32 = 16 << 10;
/// What one probe may bring of every session's records together: a restarted host whose
/// copies are all behind must not hold every transcript of a large fleet at once.
const BUDGET: u32 = 16 << 20;

/// The bytes per file for a probe that follows `sessions` sessions' records.
pub fn chunk(sessions: usize) -> u32 {
    let share = BUDGET / u32::try_from(sessions.max(1)).unwrap_or(u32::MAX);
    share.clamp(MIN_CHUNK, CHUNK)
}

/// The host's copy of `session`'s files.
pub fn root(fleet: &Fleet, project: &str, session: &str) -> PathBuf {
    fleet.store(project).mirror_dir().join(session)
}

/// Where the session keeps its files, when its runtime says it keeps them inside.
pub fn inside(handle: Option<&RuntimeHandle>, root: &Path) -> Option<Inside> {
    let (workspace, home) = handle?.inside()?;
    Some(Inside {
        workspace: workspace.to_owned(),
        home: home.to_owned(),
        root: root.display().to_string(),
    })
}

/// What [`request`] needs of a session.
pub struct Of<'a> {
    pub id: &'a str,
    pub handle: Option<&'a RuntimeHandle>,
    pub agent: Option<&'a str>,
    pub agent_session_id: Option<&'a str>,
    pub created_at: u64,
}

/// What the tick's probe asks the runtime to bring of `s`: `None` for a session on the host's
/// disk, or whose agent names no files.
pub async fn request(fleet: &Fleet, p: &Project, s: Of<'_>) -> Option<Mirror> {
    let root = root(fleet, &p.id, s.id);
    let inside = inside(s.handle, &root)?;
    let agent = fleet.agent(p, s.agent.unwrap_or(&p.agent)).await.ok()?;
    if !agent.implements(ao_plugin_api::slots::agent::SESSION_FILES) {
        return None;
    }
    let roots = agent
        .session_files(&SessionFilesRequest {
            session_id: s.id.to_owned(),
            inside,
            agent_session_id: s.agent_session_id.map(str::to_owned),
            status_tail: None,
            created_at_ms: Some(s.created_at),
        })
        .await
        .inspect_err(|e| tracing::debug!("{}: session_files: {e}", s.id))
        .ok()?;
    let roots: Vec<String> = roots.into_iter().filter(|r| plain(r).is_some()).collect();
    if roots.is_empty() {
        return None;
    }
    Some(Mirror {
        have: have(&root),
        roots,
        since_ms: Some(s.created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_fleet_shares_the_probes_budget() {
        assert_eq!(chunk(0), CHUNK);
        assert_eq!(chunk(10), CHUNK);
        assert_eq!(chunk(128), 128 << 10);
        assert_eq!(chunk(100_000), MIN_CHUNK);
    }
}

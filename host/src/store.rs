//! The flat-file store (DESIGN §2): no database, every path derived.
//!
//! ```text
//! ~/.agent-orchestrator/{hash}-{projectId}/
//!   sessions/{sessionId}        key=value metadata ([`kv`], [`session`])
//!   sessions/{sessionId}.lock   flock target for writers
//!   archive/{sessionId}-{ts}    metadata of sessions that ended
//!   worktrees/{sessionId}/      workspaces (the worktree plugin's root)
//!   events.jsonl                append-only event log ([`events`])
//!   prompts/{sessionId}.md      the prompt each session was given
//!   status/{sessionId}.jsonl    what the agent's hooks report (`ao hook`, `ao report`)
//! ```
//!
//! `hash` is the first 12 hex digits of the sha256 of the canonical path of the directory that
//! holds the config file, so two checkouts of one repo (or two config files) never share state,
//! and the same checkout always finds its state again.
//!
//! **Invariant:** writers lock `{file}.lock` (flock, released by the kernel if the writer dies),
//! write a temp file in the same directory, fsync it, rename it over the target and fsync the
//! directory. Readers never lock: they see the old file or the new one, never a mix.

pub mod events;
pub mod ids;
pub mod kv;
pub mod metadata;
pub mod mirror;
pub mod session;
pub mod sessions;
pub mod view;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where one project's files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectStore {
    root: PathBuf,
}

impl ProjectStore {
    /// `{data_dir}/{hash}-{project_id}`.
    pub fn new(data_dir: &Path, config_dir_hash: &str, project_id: &str) -> Self {
        Self {
            root: data_dir.join(format!("{config_dir_hash}-{project_id}")),
        }
    }

    /// A store rooted at an explicit directory (tests, benchmarks).
    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    /// The project's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `sessions/`.
    pub fn sessions_dir(&self) -> PathBuf {
        self.root.join("sessions")
    }

    /// `archive/`.
    pub fn archive_dir(&self) -> PathBuf {
        self.root.join("archive")
    }

    /// `worktrees/`.
    pub fn worktrees_dir(&self) -> PathBuf {
        self.root.join("worktrees")
    }

    /// `prompts/`.
    pub fn prompts_dir(&self) -> PathBuf {
        self.root.join("prompts")
    }

    /// `status/`: one file per session that the agent's hooks append to.
    pub fn status_dir(&self) -> PathBuf {
        self.root.join("status")
    }

    /// `mirror/`: per session, the host's copy of the agent records a session keeps inside
    /// its container or pod (`mirror/<session>/<path inside>`).
    pub fn mirror_dir(&self) -> PathBuf {
        self.root.join("mirror")
    }

    /// `events.jsonl`.
    pub fn events_file(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }
}

/// The first 12 hex digits of sha256 of the canonical directory holding `config_file`.
pub fn config_dir_hash(config_file: &Path) -> String {
    // A bare file name (`--config agent-orchestrator.yaml`) has an empty parent: the current
    // directory, not "" (which once gave every such project the same, empty-string hash).
    let dir = match config_file.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => Path::new("/"),
    };
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let digest = Sha256::digest(canonical.to_string_lossy().as_bytes());
    hex::encode(&digest[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_file_name_hashes_the_current_directory() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            config_dir_hash(Path::new("agent-orchestrator.yaml")),
            config_dir_hash(&here.join("agent-orchestrator.yaml"))
        );
        assert_eq!(
            config_dir_hash(Path::new("./agent-orchestrator.yaml")),
            config_dir_hash(&here.join("agent-orchestrator.yaml"))
        );
    }

    #[test]
    fn the_hash_depends_on_the_config_directory_only() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ha = config_dir_hash(&a.path().join("agent-orchestrator.yaml"));
        assert_eq!(ha.len(), 12);
        assert_eq!(ha, config_dir_hash(&a.path().join("other-name.yaml")));
        assert_ne!(
            ha,
            config_dir_hash(&b.path().join("agent-orchestrator.yaml"))
        );
        // A path spelled differently but naming the same directory gives the same hash.
        let dotted = a.path().join(".").join("agent-orchestrator.yaml");
        assert_eq!(ha, config_dir_hash(&dotted));
    }
}

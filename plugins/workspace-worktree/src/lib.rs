//! `workspace/worktree`: each session works in a git worktree of the project checkout, at
//! `{root}/{sessionId}`, on its own branch.
//!
//! - Git operations that write the repository's metadata hold a per-repository lock, so ten
//!   parallel spawns do not trip over `.git/*.lock` (upstream AO#4350).
//! - New branches start from `origin/<base>` (fetched first when a remote exists; offline is
//!   fine) else the local `<base>`, with no upstream set: the agent pushes its own branch.
//! - Destroy only removes a worktree inside its root, never the checkout, and refuses work that
//!   exists nowhere else (changes, untracked files, unpushed commits) unless forced. The branch
//!   is kept either way, so committed work is never deleted.
//! - A failed create (git or a post-create step) removes what it made, branch included.

mod worktree;

use ao_plugin_api::sdk::git::{Git, RepoLock, check_inside};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::workspace::{
    self, CreateRequest, DestroyOutcome, DestroyRequest, Exists, ListRequest, PathRequest,
    Workspace, WorkspaceInfo, WorkspaceList,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Fetch the base branch from the remote before branching.
    #[serde(default = "yes")]
    pub fetch: bool,
    /// Deadline of each git command (fetch excepted).
    #[serde(default = "default_git_timeout_ms")]
    pub git_timeout_ms: u64,
    /// Deadline of a fetch.
    #[serde(default = "default_fetch_timeout_ms")]
    pub fetch_timeout_ms: u64,
    /// How long to wait for another `ao` process's git operation on the same repository.
    #[serde(default = "default_lock_timeout_ms")]
    pub lock_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fetch: true,
            git_timeout_ms: default_git_timeout_ms(),
            fetch_timeout_ms: default_fetch_timeout_ms(),
            lock_timeout_ms: default_lock_timeout_ms(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_git_timeout_ms() -> u64 {
    60_000
}
fn default_fetch_timeout_ms() -> u64 {
    120_000
}
fn default_lock_timeout_ms() -> u64 {
    120_000
}

/// A batch of spawns fetches the base once, not once per session.
const FETCH_REUSE: Duration = Duration::from_secs(15);

/// The workspace plugin.
pub struct Worktrees {
    config: Config,
    fetched: Mutex<HashMap<(String, String, String), Instant>>,
}

impl Worktrees {
    /// Whether `remote/refname` of `repo` was not fetched in the last few seconds; records the
    /// fetch about to happen.
    fn fetch_due(&self, repo: &str, remote: &str, refname: &str) -> bool {
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        let key = (repo.to_owned(), remote.to_owned(), refname.to_owned());
        match fetched.get(&key) {
            Some(at) if at.elapsed() < FETCH_REUSE => false,
            _ => {
                fetched.insert(key, Instant::now());
                true
            }
        }
    }

    fn git(&self, dir: &Path) -> Git {
        Git::new(dir).with_timeout(Duration::from_millis(self.config.git_timeout_ms))
    }

    fn lock(&self, ctx: &Ctx, repo: &Git) -> Result<RepoLock, SdkError> {
        let common = repo.common_dir(ctx)?;
        RepoLock::acquire(
            ctx,
            &common,
            Duration::from_millis(self.config.lock_timeout_ms),
        )
    }
}

impl Workspace for Worktrees {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[workspace::RESTORE];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self {
            config,
            fetched: Mutex::default(),
        })
    }

    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        worktree::make(self, ctx, &req, worktree::Mode::Create)
    }

    fn restore(&self, ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        worktree::make(self, ctx, &req, worktree::Mode::Restore)
    }

    fn destroy(&self, ctx: &Ctx, req: DestroyRequest) -> Result<DestroyOutcome, SdkError> {
        let path = Path::new(&req.path);
        let repo = self.git(Path::new(&req.repo_path));
        if !path.exists() {
            let _lock = self.lock(ctx, &repo)?;
            repo.run(ctx, &["worktree", "prune"])?;
            let mut detail = format!("{} was already gone", req.path);
            if let Some(made) = &req.delete_branch {
                detail = format!("{detail}; {}", worktree::drop_made_branch(ctx, &repo, made));
            }
            return Ok(DestroyOutcome {
                removed: false,
                detail,
            });
        }
        let path = check_inside(Path::new(&req.root), path, Path::new(&req.repo_path))?;
        let here = self.git(&path);
        let is_worktree = here.succeeds(ctx, &["rev-parse", "--is-inside-work-tree"])?;
        let branch = if is_worktree {
            here.run(ctx, &["branch", "--show-current"])
                .unwrap_or_default()
        } else {
            String::new()
        };
        if is_worktree && !req.force {
            here.refuse_if_unsaved(ctx)?;
        }
        let _lock = self.lock(ctx, &repo)?;
        let p = path.display().to_string();
        if repo
            .run(ctx, &["worktree", "remove", "--force", &p])
            .is_err()
        {
            // Not registered (a leftover directory) or git refused: it is inside our root, so
            // remove the directory and let git forget it.
            std::fs::remove_dir_all(&path).map_err(|e| {
                SdkError::Internal(format!("cannot remove {}: {e}", path.display()))
            })?;
        }
        repo.run(ctx, &["worktree", "prune"])?;
        let branch_note = match &req.delete_branch {
            Some(made) => worktree::drop_made_branch(ctx, &repo, made),
            None if branch.is_empty() => String::new(),
            None => format!("branch `{branch}` kept"),
        };
        Ok(DestroyOutcome {
            removed: true,
            detail: if branch_note.is_empty() {
                format!("removed {p}")
            } else {
                format!("removed {p}; {branch_note}")
            },
        })
    }

    fn list(&self, ctx: &Ctx, req: ListRequest) -> Result<WorkspaceList, SdkError> {
        let repo = self.git(Path::new(&req.repo_path));
        let text = repo.run(ctx, &["worktree", "list", "--porcelain"])?;
        let root = match Path::new(&req.root).canonicalize() {
            Ok(r) => r,
            Err(_) => return Ok(WorkspaceList { workspaces: vec![] }),
        };
        let workspaces = worktree::parse_porcelain(&text)
            .into_iter()
            .filter(|w| !w.prunable)
            .filter_map(|w| {
                let path = Path::new(&w.path).canonicalize().ok()?;
                if path.parent()? != root {
                    return None;
                }
                Some(WorkspaceInfo {
                    session_id: path.file_name()?.to_string_lossy().into_owned(),
                    project_id: req.project_id.clone(),
                    path: w.path,
                    branch: w.branch.unwrap_or_else(|| "detached".into()),
                    head: w.head,
                    created_branch: false,
                })
            })
            .collect();
        Ok(WorkspaceList { workspaces })
    }

    fn exists(&self, ctx: &Ctx, req: PathRequest) -> Result<Exists, SdkError> {
        let path = Path::new(&req.path);
        let exists = path.join(".git").exists()
            && self
                .git(path)
                .succeeds(ctx, &["rev-parse", "--is-inside-work-tree"])?;
        Ok(Exists { exists })
    }
}

ao_plugin_api::export_plugin! {
    name: "workspace-worktree",
    description: "A git worktree per session, on its own branch",
    components: [ workspace "worktree" => Worktrees ],
}

//! `workspace/clone`: each session works in a full clone of the project at
//! `{root}/{sessionId}`: complete isolation (its own `.git`, index, hooks, config), at the
//! price of disk and time that a worktree does not pay.
//!
//! The clone is made from the local checkout (`git clone --local`: objects are hard-linked,
//! so it is fast and shares no mutable state), then `origin` is pointed at the checkout's own
//! remote and fetched, so `origin/*` means the real remote and the agent pushes there. Without
//! a remote, `origin` stays the checkout: pushing hands the branch back to the project repo.
//!
//! Branch, post-create, destroy and restore follow the worktree plugin's contract.

use ao_plugin_api::sdk::git::{Git, check_branch_name, check_id, check_inside};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError, post_create};
use ao_plugin_api::slots::workspace::{
    self, CreateRequest, DestroyOutcome, DestroyRequest, Exists, ListRequest, PathRequest,
    Workspace, WorkspaceInfo, WorkspaceList,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Fetch from the project's remote after cloning.
    #[serde(default = "yes")]
    pub fetch: bool,
    /// Deadline of each git command (clone and fetch excepted).
    #[serde(default = "default_git_timeout_ms")]
    pub git_timeout_ms: u64,
    /// Deadline of the clone and of the fetch.
    #[serde(default = "default_clone_timeout_ms")]
    pub clone_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fetch: true,
            git_timeout_ms: default_git_timeout_ms(),
            clone_timeout_ms: default_clone_timeout_ms(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_git_timeout_ms() -> u64 {
    60_000
}
fn default_clone_timeout_ms() -> u64 {
    600_000
}

/// The workspace plugin.
pub struct Clones {
    config: Config,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Create,
    Restore,
}

impl Clones {
    fn git(&self, dir: &Path) -> Git {
        Git::new(dir).with_timeout(Duration::from_millis(self.config.git_timeout_ms))
    }

    fn slow(&self, dir: &Path) -> Git {
        Git::new(dir).with_timeout(Duration::from_millis(self.config.clone_timeout_ms))
    }

    fn make(&self, ctx: &Ctx, req: &CreateRequest, mode: Mode) -> Result<WorkspaceInfo, SdkError> {
        check_id("project id", &req.project_id)?;
        check_id("session id", &req.session_id)?;
        check_branch_name(&req.branch).map_err(SdkError::InvalidParams)?;
        check_branch_name(&req.base_branch).map_err(SdkError::InvalidParams)?;
        let root = Path::new(&req.root);
        std::fs::create_dir_all(root)
            .map_err(|e| SdkError::Internal(format!("cannot create {}: {e}", root.display())))?;
        let path = root.join(&req.session_id);
        if path.exists() {
            let valid = self
                .git(&path)
                .succeeds(ctx, &["rev-parse", "--verify", "--quiet", "HEAD"])?;
            if valid && mode == Mode::Restore {
                return self.info(ctx, req, &path);
            }
            if valid {
                return Err(SdkError::Conflict(format!(
                    "workspace {} already exists",
                    path.display()
                )));
            }
            // A clone interrupted half-way: inside our root and not a usable repository.
            check_inside(root, &path, Path::new(&req.repo_path))?;
            std::fs::remove_dir_all(&path).map_err(|e| {
                SdkError::Internal(format!("cannot clear stale {}: {e}", path.display()))
            })?;
        }
        let made = self
            .clone_and_checkout(ctx, req, &path, mode)
            .and_then(|()| {
                post_create::run(ctx, Path::new(&req.repo_path), &path, &req.post_create)
            });
        if let Err(e) = made {
            if path.exists() {
                let _ = std::fs::remove_dir_all(&path);
            }
            return Err(e);
        }
        self.info(ctx, req, &path)
    }

    fn clone_and_checkout(
        &self,
        ctx: &Ctx,
        req: &CreateRequest,
        path: &Path,
        mode: Mode,
    ) -> Result<(), SdkError> {
        let source = self.git(Path::new(&req.repo_path));
        source.common_dir(ctx)?; // a clear "not a git repository" before cloning
        let url = match source.main_remote(ctx)? {
            Some(r) => Some(source.run(ctx, &["remote", "get-url", &r])?),
            None => None,
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        let p = path.display().to_string();
        self.slow(parent).run(
            ctx,
            &[
                "clone",
                "--quiet",
                "--local",
                "--no-checkout",
                &req.repo_path,
                &p,
            ],
        )?;
        let clone = self.git(path);
        // Right after cloning, origin/* are the checkout's local branches: keep the ones we
        // need as local branches before origin is pointed at the real remote.
        for name in [&req.base_branch, &req.branch] {
            let theirs = format!("refs/remotes/origin/{name}");
            if clone.resolves(ctx, &theirs)? {
                clone.run(ctx, &["update-ref", &format!("refs/heads/{name}"), &theirs])?;
            }
        }
        let mut remote_branch = None;
        if let Some(url) = &url {
            clone.run(ctx, &["remote", "remove", "origin"])?;
            clone.run(ctx, &["remote", "add", "origin", url])?;
            if self.config.fetch {
                match self.slow(path).run(ctx, &["fetch", "--quiet", "origin"]) {
                    Ok(_) => {}
                    Err(SdkError::Cancelled) => return Err(SdkError::Cancelled),
                    Err(e) => {
                        ao_plugin_api::tracing::warn!(error = %e, "fetch failed; using the checkout's branches")
                    }
                }
            }
            let t = format!("refs/remotes/origin/{}", req.branch);
            if clone.resolves(ctx, &t)? {
                remote_branch = Some(t);
            }
        }
        let local = format!("refs/heads/{}", req.branch);
        if clone.resolves(ctx, &local)? {
            clone.run(ctx, &["checkout", "--quiet", &req.branch])?;
        } else if let Some(t) = remote_branch {
            clone.run(
                ctx,
                &["checkout", "--quiet", "--track", "-b", &req.branch, &t],
            )?;
        } else if mode == Mode::Restore {
            return Err(SdkError::NotFound(format!(
                "branch `{}` exists neither in the project nor on the remote; its work cannot be restored",
                req.branch
            )));
        } else {
            let remote_base = format!("refs/remotes/origin/{}", req.base_branch);
            let base = if url.is_some() && clone.resolves(ctx, &remote_base)? {
                remote_base
            } else {
                let l = format!("refs/heads/{}", req.base_branch);
                if !clone.resolves(ctx, &l)? {
                    return Err(SdkError::NotFound(format!(
                        "base branch `{}` not found in the project; set the project's defaultBranch",
                        req.base_branch
                    )));
                }
                l
            };
            clone.run(
                ctx,
                &[
                    "checkout",
                    "--quiet",
                    "--no-track",
                    "-b",
                    &req.branch,
                    &base,
                ],
            )?;
        }
        Ok(())
    }

    fn info(&self, ctx: &Ctx, req: &CreateRequest, path: &Path) -> Result<WorkspaceInfo, SdkError> {
        self.git(path)
            .workspace_info(ctx, &req.project_id, &req.session_id)
    }
}

impl Workspace for Clones {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[workspace::RESTORE];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self { config })
    }

    fn create(&self, ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        self.make(ctx, &req, Mode::Create)
    }

    fn restore(&self, ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        self.make(ctx, &req, Mode::Restore)
    }

    fn destroy(&self, ctx: &Ctx, req: DestroyRequest) -> Result<DestroyOutcome, SdkError> {
        let path = Path::new(&req.path);
        if !path.exists() {
            return Ok(DestroyOutcome {
                removed: false,
                detail: format!("{} was already gone", req.path),
            });
        }
        let path = check_inside(Path::new(&req.root), path, Path::new(&req.repo_path))?;
        let here = self.git(&path);
        let is_repo = path.join(".git").is_dir()
            && here.succeeds(ctx, &["rev-parse", "--is-inside-work-tree"])?;
        if is_repo && !req.force {
            here.refuse_if_unsaved(ctx)?;
        }
        std::fs::remove_dir_all(&path)
            .map_err(|e| SdkError::Internal(format!("cannot remove {}: {e}", path.display())))?;
        Ok(DestroyOutcome {
            removed: true,
            detail: format!("removed {}", path.display()),
        })
    }

    fn list(&self, ctx: &Ctx, req: ListRequest) -> Result<WorkspaceList, SdkError> {
        let Ok(entries) = std::fs::read_dir(&req.root) else {
            return Ok(WorkspaceList { workspaces: vec![] });
        };
        let mut workspaces = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_id("session id", &name).is_err() || !path.join(".git").is_dir() {
                continue;
            }
            let here = self.git(&path);
            let Ok(branch) = here.run(ctx, &["branch", "--show-current"]) else {
                ao_plugin_api::tracing::warn!(path = %path.display(), "unreadable clone skipped");
                continue;
            };
            workspaces.push(WorkspaceInfo {
                path: path.display().to_string(),
                branch: if branch.is_empty() {
                    "detached".into()
                } else {
                    branch
                },
                session_id: name,
                project_id: req.project_id.clone(),
                head: here.run(ctx, &["rev-parse", "HEAD"]).ok(),
                created_branch: false,
            });
        }
        workspaces.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        Ok(WorkspaceList { workspaces })
    }

    fn exists(&self, ctx: &Ctx, req: PathRequest) -> Result<Exists, SdkError> {
        let path = Path::new(&req.path);
        let exists = path.join(".git").is_dir()
            && self
                .git(path)
                .succeeds(ctx, &["rev-parse", "--is-inside-work-tree"])?;
        Ok(Exists { exists })
    }
}

ao_plugin_api::export_plugin! {
    name: "workspace-clone",
    description: "A full git clone per session, for complete isolation",
    components: [ workspace "clone" => Clones ],
}

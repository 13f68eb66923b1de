//! Making a worktree (create or restore) and reading `git worktree list --porcelain`.

use crate::Worktrees;
use ao_plugin_api::sdk::git::{Git, check_branch_name, check_id};
use ao_plugin_api::sdk::{Ctx, SdkError, post_create};
use ao_plugin_api::slots::workspace::{BranchAt, CreateRequest, WorkspaceInfo};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// A new session: the branch may be created from the base.
    Create,
    /// A session whose worktree was lost: its branch must exist somewhere.
    Restore,
}

pub(crate) fn make(
    wt: &Worktrees,
    ctx: &Ctx,
    req: &CreateRequest,
    mode: Mode,
) -> Result<WorkspaceInfo, SdkError> {
    check_id("project id", &req.project_id)?;
    check_id("session id", &req.session_id)?;
    check_branch_name(&req.branch).map_err(SdkError::InvalidParams)?;
    check_branch_name(&req.base_branch).map_err(SdkError::InvalidParams)?;
    let repo = wt.git(Path::new(&req.repo_path));
    let root = Path::new(&req.root);
    std::fs::create_dir_all(root)
        .map_err(|e| SdkError::Internal(format!("cannot create {}: {e}", root.display())))?;
    let path = root.join(&req.session_id);

    let lock = wt.lock(ctx, &repo)?;
    repo.run(ctx, &["worktree", "prune"])?;
    let registered = parse_porcelain(&repo.run(ctx, &["worktree", "list", "--porcelain"])?)
        .into_iter()
        .any(|w| same_path(Path::new(&w.path), &path));
    if registered && path.exists() {
        if mode == Mode::Restore {
            drop(lock);
            return info(wt, ctx, req, &path);
        }
        return Err(SdkError::Conflict(format!(
            "workspace {} already exists",
            path.display()
        )));
    }
    if path.exists() {
        // Left by a crash between `mkdir` and `worktree add`: ours (inside our root), unregistered.
        std::fs::remove_dir_all(&path).map_err(|e| {
            SdkError::Internal(format!("cannot clear stale {}: {e}", path.display()))
        })?;
    }
    let remote = repo.main_remote(ctx)?;
    if let Some(remote) = &remote
        && wt.config.fetch
    {
        let fetch = repo
            .clone()
            .with_timeout(Duration::from_millis(wt.config.fetch_timeout_ms));
        let wanted = if mode == Mode::Restore {
            &req.branch
        } else {
            &req.base_branch
        };
        if wt.fetch_due(&req.repo_path, remote, wanted)
            && let Err(e) = fetch.run(ctx, &["fetch", "--quiet", remote.as_str(), wanted.as_str()])
        {
            if matches!(e, SdkError::Cancelled) {
                return Err(e);
            }
            ao_plugin_api::tracing::warn!(error = %e, "fetch failed; branching from what is local");
        }
    }

    let p = path.display().to_string();
    let local = format!("refs/heads/{}", req.branch);
    let tracking = remote
        .as_ref()
        .map(|r| format!("refs/remotes/{r}/{}", req.branch));
    let mut created_branch = false;
    let added = if repo.resolves(ctx, &local)? {
        repo.run(ctx, &["worktree", "add", "--quiet", &p, &req.branch])
    } else if let Some(t) = tracking
        .as_ref()
        .filter(|t| repo.resolves(ctx, t).unwrap_or(false))
    {
        created_branch = true;
        repo.run(
            ctx,
            &[
                "worktree",
                "add",
                "--quiet",
                "--track",
                "-b",
                &req.branch,
                &p,
                t,
            ],
        )
    } else if mode == Mode::Restore {
        return Err(SdkError::NotFound(format!(
            "branch `{}` exists neither locally nor on the remote; its work cannot be restored",
            req.branch
        )));
    } else {
        let base = base_ref(ctx, &repo, remote.as_deref(), &req.base_branch)?;
        created_branch = true;
        repo.run(
            ctx,
            &[
                "worktree",
                "add",
                "--quiet",
                "--no-track",
                "-b",
                &req.branch,
                &p,
                &base,
            ],
        )
    };
    if let Err(e) = added {
        created_branch &= repo.resolves(ctx, &local).unwrap_or(false);
        cleanup(&repo, &path, created_branch.then_some(req.branch.as_str()));
        return Err(match e {
            SdkError::Internal(m)
                if m.contains("already checked out")
                    || m.contains("is already used by worktree") =>
            {
                SdkError::Conflict(format!(
                    "branch `{}` is checked out in another worktree: {m}",
                    req.branch
                ))
            }
            other => other,
        });
    }
    drop(lock);

    if let Err(e) = post_create::run(ctx, Path::new(&req.repo_path), &path, &req.post_create) {
        let _lock = wt.lock(&Ctx::detached(), &repo);
        cleanup(&repo, &path, created_branch.then_some(req.branch.as_str()));
        return Err(e);
    }
    let mut made = info(wt, ctx, req, &path)?;
    made.created_branch = created_branch;
    Ok(made)
}

/// Deletes a branch a failed spawn made, only while it still points where it was made; a
/// branch that moved holds someone's work. Says what it did, for the destroy's detail.
pub(crate) fn drop_made_branch(ctx: &Ctx, repo: &Git, branch: &BranchAt) -> String {
    if check_branch_name(&branch.name).is_err() {
        return format!("branch `{}` kept: not a valid name", branch.name);
    }
    let local = format!("refs/heads/{}", branch.name);
    match repo.run(ctx, &["rev-parse", "--verify", "--quiet", &local]) {
        Ok(at) if at.trim() == branch.head.trim() => {
            match repo.run(ctx, &["branch", "-D", "--", &branch.name]) {
                Ok(_) => format!("branch `{}` deleted", branch.name),
                Err(e) => format!("branch `{}` kept: {e}", branch.name),
            }
        }
        Ok(_) => format!("branch `{}` kept: it moved since it was made", branch.name),
        Err(_) => format!("branch `{}` was already gone", branch.name),
    }
}

/// `origin/<base>` if the remote has it, else the local `<base>`.
fn base_ref(ctx: &Ctx, repo: &Git, remote: Option<&str>, base: &str) -> Result<String, SdkError> {
    if let Some(r) = remote {
        let t = format!("refs/remotes/{r}/{base}");
        if repo.resolves(ctx, &t)? {
            return Ok(t);
        }
    }
    let l = format!("refs/heads/{base}");
    if repo.resolves(ctx, &l)? {
        return Ok(l);
    }
    Err(SdkError::NotFound(format!(
        "base branch `{base}` not found (neither {}/{base} nor a local {base}); set the project's defaultBranch",
        remote.unwrap_or("origin")
    )))
}

/// Removes a half-made worktree and the branch made for it. Best effort: it runs after a
/// failure, possibly after cancellation, so it uses its own context.
fn cleanup(repo: &Git, path: &Path, branch: Option<&str>) {
    let ctx = Ctx::detached();
    let p = path.display().to_string();
    if repo
        .run(&ctx, &["worktree", "remove", "--force", &p])
        .is_err()
        && path.exists()
    {
        let _ = std::fs::remove_dir_all(path);
    }
    let _ = repo.run(&ctx, &["worktree", "prune"]);
    if let Some(b) = branch {
        let _ = repo.run(&ctx, &["branch", "-D", "--", b]);
    }
}

fn info(
    wt: &Worktrees,
    ctx: &Ctx,
    req: &CreateRequest,
    path: &Path,
) -> Result<WorkspaceInfo, SdkError> {
    wt.git(path)
        .workspace_info(ctx, &req.project_id, &req.session_id)
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Entry {
    pub(crate) path: String,
    pub(crate) head: Option<String>,
    pub(crate) branch: Option<String>,
    pub(crate) prunable: bool,
}

pub(crate) fn parse_porcelain(text: &str) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            out.push(Entry {
                path: p.to_string(),
                ..Entry::default()
            });
        } else if let Some(e) = out.last_mut() {
            if let Some(h) = line.strip_prefix("HEAD ") {
                e.head = Some(h.to_string());
            } else if let Some(b) = line.strip_prefix("branch ") {
                e.branch = Some(b.strip_prefix("refs/heads/").unwrap_or(b).to_string());
            } else if line.starts_with("prunable") {
                e.prunable = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_entries_are_read() {
        let text = "worktree /r\nHEAD abc\nbranch refs/heads/main\n\nworktree /w/app-1\nHEAD def\ndetached\n\nworktree /w/app-2\nHEAD 123\nbranch refs/heads/feat/x\nprunable gitdir file points to non-existent location\n";
        let e = parse_porcelain(text);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].branch.as_deref(), Some("main"));
        assert_eq!(e[1].branch, None);
        assert_eq!(e[1].head.as_deref(), Some("def"));
        assert!(e[2].prunable);
        assert_eq!(e[2].branch.as_deref(), Some("feat/x"));
    }
}

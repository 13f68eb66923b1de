//! Git for workspace plugins: a runner with a deadline and a clean environment, git's own
//! branch-name rules, a per-repository lock, and the "would this lose work?" check.

use crate::sdk::command::Command;
use crate::sdk::{Ctx, SdkError};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Checks `name` against git's rules for a branch name (`git check-ref-format --branch`), and
/// refuses a leading `-` (it would read as an option) and `HEAD`. The message names the rule.
pub fn check_branch_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "invalid branch name `{}`: {why}",
            name.escape_debug()
        ))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 200 {
        return bad("it is longer than 200 bytes");
    }
    if name.starts_with('-') {
        return bad("it starts with `-`");
    }
    if name == "HEAD" || name == "@" {
        return bad("it is reserved");
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        return bad(&format!("it contains `{}`", c.escape_debug()));
    }
    if name.contains("..") {
        return bad("it contains `..`");
    }
    if name.contains("@{") {
        return bad("it contains `@{`");
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return bad("it has an empty path component");
    }
    if name.ends_with('.') {
        return bad("it ends with `.`");
    }
    for part in name.split('/') {
        if part.starts_with('.') {
            return bad("a component starts with `.`");
        }
        if part.ends_with(".lock") {
            return bad("a component ends with `.lock`");
        }
    }
    Ok(())
}

/// Checks an id used as a directory name (`projectId`, `sessionId`).
pub fn check_id(kind: &str, id: &str) -> Result<(), SdkError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SdkError::InvalidParams(format!(
            "invalid {kind} `{}`: use letters, digits, `-` and `_`",
            id.escape_debug()
        )))
    }
}

/// Checks that `path` is strictly inside `root` (both resolved through symlinks) and is not, and
/// does not contain, the project checkout `repo`. Workspace plugins call it before deleting.
pub fn check_inside(root: &Path, path: &Path, repo: &Path) -> Result<PathBuf, SdkError> {
    let canon = |p: &Path| {
        p.canonicalize()
            .map_err(|e| SdkError::NotFound(format!("{}: {e}", p.display())))
    };
    let root_c = canon(root)?;
    let path_c = canon(path)?;
    if path_c == root_c || !path_c.starts_with(&root_c) {
        return Err(SdkError::PermissionDenied(format!(
            "refusing to touch {}: it is not inside the workspace root {}",
            path.display(),
            root.display()
        )));
    }
    if let Ok(repo_c) = repo.canonicalize()
        && repo_c.starts_with(&path_c)
    {
        return Err(SdkError::PermissionDenied(format!(
            "refusing to touch {}: it is (or contains) the project checkout",
            path.display()
        )));
    }
    Ok(path_c)
}

/// Runs git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    timeout: Duration,
}

impl Git {
    /// Git in `dir`, 60 s per command.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self {
            dir: dir.as_ref().to_path_buf(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Changes the per-command deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The directory it runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The command, not yet run: never prompts for credentials, C locale, no pager.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        Command::new("git")
            .args(args)
            .cwd(&self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .timeout(self.timeout)
    }

    /// Runs and returns trimmed stdout; a failure is one line naming the git command.
    pub fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        ctx: &Ctx,
        args: &[S],
    ) -> Result<String, SdkError> {
        let out = self.command(args).run(Some(ctx))?;
        if out.success() {
            Ok(out.stdout.trim_end().to_owned())
        } else {
            let sub = args
                .first()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .unwrap_or_default();
            Err(SdkError::Internal(format!(
                "git {sub} failed: {}",
                out.first_error_line().trim_start_matches("fatal: ")
            )))
        }
    }

    /// Whether the command exits 0 (errors running git at all are still errors).
    pub fn succeeds<S: AsRef<std::ffi::OsStr>>(
        &self,
        ctx: &Ctx,
        args: &[S],
    ) -> Result<bool, SdkError> {
        Ok(self.command(args).run(Some(ctx))?.success())
    }

    /// The repository's common git directory (shared by all its worktrees), absolute.
    pub fn common_dir(&self, ctx: &Ctx) -> Result<PathBuf, SdkError> {
        let out = self
            .command(&["rev-parse", "--path-format=absolute", "--git-common-dir"])
            .run(Some(ctx))?;
        if !out.success() {
            return Err(SdkError::NotFound(format!(
                "{} is not a git repository",
                self.dir.display()
            )));
        }
        Ok(PathBuf::from(out.stdout.trim_end()))
    }

    /// Whether `git rev-parse --verify` resolves `rev` to a commit.
    pub fn resolves(&self, ctx: &Ctx, rev: &str) -> Result<bool, SdkError> {
        self.succeeds(
            ctx,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
    }

    /// The remote to fetch from: `origin` if it exists, else the first one, else `None`.
    pub fn main_remote(&self, ctx: &Ctx) -> Result<Option<String>, SdkError> {
        let remotes = self.run(ctx, &["remote"])?;
        let names: Vec<&str> = remotes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        Ok(names
            .iter()
            .find(|r| **r == "origin")
            .or(names.first())
            .map(|r| r.to_string()))
    }

    /// What would be lost by deleting this working tree: uncommitted changes to tracked files,
    /// untracked files (symlinks excepted: post-create steps make those), and commits reachable
    /// only from `HEAD` (not from any remote-tracking ref, tag, or other local branch). `None`
    /// when nothing would be lost.
    pub fn unsaved_work(&self, ctx: &Ctx) -> Result<Option<String>, SdkError> {
        let mut found = Vec::new();
        let status = self.run(ctx, &["status", "--porcelain=v1", "-z"])?;
        let (mut changed, mut untracked) = (0usize, 0usize);
        let mut entries = status.split('\0').filter(|e| e.len() > 3);
        while let Some(entry) = entries.next() {
            let (code, path) = entry.split_at(3);
            if code.starts_with('R') || code.starts_with('C') {
                entries.next(); // a rename's source path follows as its own entry
            }
            if code.starts_with("??") {
                let p = self.dir.join(path.trim_end_matches('/'));
                if !p
                    .symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_symlink())
                {
                    untracked += 1;
                }
            } else if !code.starts_with(' ') || !code[1..].starts_with(' ') {
                changed += 1;
            }
        }
        if changed > 0 {
            found.push(format!("{changed} changed file(s)"));
        }
        if untracked > 0 {
            found.push(format!("{untracked} untracked file(s)"));
        }
        let branch = self.run(ctx, &["symbolic-ref", "--quiet", "HEAD"]).ok();
        let mut args: Vec<String> = vec![
            "rev-list".into(),
            "--count".into(),
            "HEAD".into(),
            "--not".into(),
        ];
        // `--exclude` patterns before `--branches` are matched without the `refs/heads/` prefix.
        if let Some(b) = branch
            .as_deref()
            .and_then(|b| b.strip_prefix("refs/heads/"))
        {
            args.push(format!("--exclude={b}"));
        }
        args.extend(["--branches".into(), "--remotes".into(), "--tags".into()]);
        let has_head = self.resolves(ctx, "HEAD")?;
        if has_head {
            let n: u64 = self.run(ctx, &args)?.trim().parse().unwrap_or(0);
            if n > 0 {
                found.push(format!("{n} commit(s) not pushed anywhere"));
            }
        }
        Ok((!found.is_empty()).then(|| found.join(", ")))
    }
}

impl Git {
    /// Keeps `patterns` out of `git status` for this repository and all its worktrees, by
    /// adding the missing ones to its `info/exclude` (never to a tracked `.gitignore`). For
    /// files an agent adapter installs in a workspace (hook settings, chat logs): untracked,
    /// they would make the workspace look like it holds unsaved work. Not a repository → no-op.
    pub fn exclude_locally(&self, ctx: &Ctx, patterns: &[&str]) -> Result<bool, SdkError> {
        let Ok(rel) = self.run(ctx, &["rev-parse", "--git-path", "info/exclude"]) else {
            return Ok(false);
        };
        let file = self.dir.join(rel.trim());
        let current = std::fs::read_to_string(&file).unwrap_or_default();
        let missing: Vec<&str> = patterns
            .iter()
            .copied()
            .filter(|p| !current.lines().any(|l| l.trim() == *p))
            .collect();
        if missing.is_empty() {
            return Ok(false);
        }
        let _lock = RepoLock::acquire(ctx, &self.common_dir(ctx)?, Duration::from_secs(10))?;
        let mut text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# added by ao: files its agent adapters keep in workspaces\n");
        for p in missing {
            text.push_str(p);
            text.push('\n');
        }
        crate::sdk::agent::write_if_changed(&file, text.as_bytes())
            .map_err(|e| SdkError::Internal(format!("cannot update {}: {e}", file.display())))
    }
}

impl Git {
    /// What a workspace plugin reports about the working tree it just made (this directory).
    pub fn workspace_info(
        &self,
        ctx: &Ctx,
        project_id: &str,
        session_id: &str,
    ) -> Result<crate::slots::workspace::WorkspaceInfo, SdkError> {
        Ok(crate::slots::workspace::WorkspaceInfo {
            path: self.dir.display().to_string(),
            branch: self.run(ctx, &["branch", "--show-current"])?,
            session_id: session_id.to_owned(),
            project_id: project_id.to_owned(),
            head: self.run(ctx, &["rev-parse", "HEAD"]).ok(),
            created_branch: false,
        })
    }

    /// `Err(Conflict)` naming what would be lost when this working tree holds unsaved work;
    /// workspace plugins call it before a destroy that was not forced.
    pub fn refuse_if_unsaved(&self, ctx: &Ctx) -> Result<(), SdkError> {
        match self.unsaved_work(ctx)? {
            None => Ok(()),
            Some(why) => Err(SdkError::Conflict(format!(
                "refusing to remove {}: {why}; push or commit them, or force the removal",
                self.dir.display()
            ))),
        }
    }
}

/// An exclusive lock on a repository's git metadata, held while git operations that write it
/// run (worktree add/remove/prune, fetch), so parallel spawns do not trip over `.git` locks.
/// Advisory (`flock`), released by the kernel if the holder dies.
#[derive(Debug)]
pub struct RepoLock {
    _file: File,
}

impl RepoLock {
    /// Waits up to `timeout` for the lock of the repository whose common dir is `common_dir`.
    pub fn acquire(ctx: &Ctx, common_dir: &Path, timeout: Duration) -> Result<Self, SdkError> {
        let path = common_dir.join("ao-repo.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| SdkError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(SdkError::Timeout(format!(
                            "another ao process held {} for more than {}s",
                            path.display(),
                            timeout.as_secs()
                        )));
                    }
                    ctx.sleep(Duration::from_millis(20))?;
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(SdkError::Unavailable(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our rules agree with git's own on a corpus that covers each rule.
    #[test]
    fn branch_names_follow_git_check_ref_format() {
        let corpus = [
            "feat/12-add-login",
            "fix-$(touch x)",
            "a`b`;c",
            "ü-unicode",
            "a.b",
            "a/b/c",
            "",
            "-rf",
            "a..b",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "/a",
            "a/",
            "a//b",
            "a.",
            ".a",
            "a/.b",
            "a.lock",
            "a/b.lock/c",
            "a@{1}",
            "a\tb",
            "a\x7f",
        ];
        for name in corpus {
            let ours = check_branch_name(name).is_ok();
            let git = std::process::Command::new("git")
                .args(["check-ref-format", "--branch", name])
                .output()
                .unwrap()
                .status
                .success();
            assert_eq!(
                ours,
                git,
                "`{}`: ours {ours}, git {git}",
                name.escape_debug()
            );
        }
        // Stricter than git on purpose: `--branch` reads `@` as "the current branch".
        assert!(check_branch_name("HEAD").is_err());
        assert!(check_branch_name("@").is_err());
    }

    #[test]
    fn ids_are_plain_names() {
        assert!(check_id("session id", "app-12_x").is_ok());
        for bad in ["", "../x", "a/b", "-x", "a b", "a.b"] {
            assert!(check_id("session id", bad).is_err(), "{bad}");
        }
    }
}

//! Git operations on the forge's bare repositories: branch heads, mergeability, merges.
//! Results that depend only on commit ids are cached, so polling 500 PRs stays cheap.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

/// Runs git in a bare repository with a fixed identity; `Err(stderr)` on failure.
pub(crate) fn run(git_dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "forge")
        .env("GIT_AUTHOR_EMAIL", "forge@ao.invalid")
        .env("GIT_COMMITTER_NAME", "forge")
        .env("GIT_COMMITTER_EMAIL", "forge@ao.invalid")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

fn status(git_dir: &Path, args: &[&str]) -> Result<bool, String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
    }
}

/// Creates a bare repository whose default branch is `branch`.
pub(crate) fn init_bare(git_dir: &Path, branch: &str) -> Result<(), String> {
    std::fs::create_dir_all(git_dir).map_err(|e| e.to_string())?;
    run(git_dir, &["init", "--bare", "-q", "-b", branch])?;
    Ok(())
}

/// Caches keyed by commit ids (immutable facts) and by the refs' on-disk fingerprint.
/// The mtimes of the refs directories and `packed-refs`, and the branches read under them.
type RefsStamp = (Vec<(PathBuf, SystemTime)>, BTreeMap<String, String>);

#[derive(Default)]
pub(crate) struct GitCache {
    refs: Mutex<HashMap<PathBuf, RefsStamp>>,
    pairs: Mutex<HashMap<(PathBuf, String, String), PairFacts>>,
}

/// What holds between a base and a head commit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PairFacts {
    /// The head merges into the base without conflicts.
    pub(crate) clean: bool,
    /// The base has commits the head lacks.
    pub(crate) behind: bool,
    /// Lines added by the head since the merge base.
    pub(crate) additions: u64,
    /// Lines removed.
    pub(crate) deletions: u64,
}

impl GitCache {
    /// `branch → sha` for every branch. Re-read only when a refs directory or `packed-refs`
    /// changed (git renames a lock file into place, which touches the directory).
    pub(crate) fn branches(&self, git_dir: &Path) -> BTreeMap<String, String> {
        let mut stamp = Vec::new();
        let heads = git_dir.join("refs/heads");
        collect_dirs(&heads, &mut stamp);
        let packed = git_dir.join("packed-refs");
        if let Ok(m) = std::fs::metadata(&packed).and_then(|m| m.modified()) {
            stamp.push((packed, m));
        }
        let mut refs = self.refs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((old, map)) = refs.get(git_dir)
            && *old == stamp
        {
            return map.clone();
        }
        let map: BTreeMap<String, String> = run(
            git_dir,
            &[
                "for-each-ref",
                "--format=%(refname:short) %(objectname)",
                "refs/heads",
            ],
        )
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(b, s)| (b.to_string(), s.to_string()))
        .collect();
        refs.insert(git_dir.to_path_buf(), (stamp, map.clone()));
        map
    }

    /// Mergeability, behind-ness and diff size of `head` against `base`.
    pub(crate) fn pair(&self, git_dir: &Path, base: &str, head: &str) -> PairFacts {
        let key = (git_dir.to_path_buf(), base.to_string(), head.to_string());
        if let Some(f) = self
            .pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return *f;
        }
        let clean = status(
            git_dir,
            &["merge-tree", "--write-tree", "--no-messages", base, head],
        )
        .unwrap_or(false);
        let behind = !status(git_dir, &["merge-base", "--is-ancestor", base, head]).unwrap_or(true);
        let range = format!("{base}...{head}");
        let (mut additions, mut deletions) = (0, 0);
        for line in run(git_dir, &["diff", "--numstat", &range])
            .unwrap_or_default()
            .lines()
        {
            let mut parts = line.split('\t');
            additions += parts
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            deletions += parts
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
        let facts = PairFacts {
            clean,
            behind,
            additions,
            deletions,
        };
        self.pairs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, facts);
        facts
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<(PathBuf, SystemTime)>) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    out.push((
        dir.to_path_buf(),
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    ));
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subdirs: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for d in subdirs {
            collect_dirs(&d, out);
        }
    }
}

/// How a PR is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Merge,
    Squash,
    Rebase,
}

/// Merges `head` into branch `base` in the bare repository, as GitHub's merge button does,
/// and moves the base branch. Returns the new base tip.
pub(crate) fn merge(
    git_dir: &Path,
    base: &str,
    head_sha: &str,
    method: Method,
    title: &str,
) -> Result<String, String> {
    let base_ref = format!("refs/heads/{base}");
    let base_sha = run(git_dir, &["rev-parse", "--verify", &base_ref])?;
    let new_tip = match method {
        Method::Merge | Method::Squash => {
            let tree = run(
                git_dir,
                &[
                    "merge-tree",
                    "--write-tree",
                    "--no-messages",
                    &base_sha,
                    head_sha,
                ],
            )
            .map_err(|_| "merge conflict".to_string())?;
            let tree = tree.lines().next().unwrap_or_default().to_string();
            let mut args = vec!["commit-tree", tree.as_str(), "-p", base_sha.as_str()];
            if method == Method::Merge {
                args.extend(["-p", head_sha]);
            }
            args.extend(["-m", title]);
            run(git_dir, &args)?
        }
        Method::Rebase => {
            // Replays each commit of the head onto the base, oldest first.
            let range = format!("{base_sha}..{head_sha}");
            let commits = run(git_dir, &["rev-list", "--reverse", "--no-merges", &range])?;
            let mut tip = base_sha.clone();
            for c in commits.lines() {
                let parent = format!("{c}^");
                let tree = run(
                    git_dir,
                    &[
                        "merge-tree",
                        "--write-tree",
                        "--no-messages",
                        "--merge-base",
                        &parent,
                        &tip,
                        c,
                    ],
                )
                .map_err(|_| "merge conflict".to_string())?;
                let tree = tree.lines().next().unwrap_or_default().to_string();
                let msg = run(git_dir, &["log", "-1", "--format=%B", c])?;
                tip = run(git_dir, &["commit-tree", &tree, "-p", &tip, "-m", &msg])?;
            }
            tip
        }
    };
    run(git_dir, &["update-ref", &base_ref, &new_tip, &base_sha])?;
    Ok(new_tip)
}

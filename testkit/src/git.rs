//! Throwaway git repositories for workspace tests: a checkout with a few commits on `main`,
//! optionally pushed to a bare repository acting as `origin`.

use ao_plugin_api::slots::workspace;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs git in `dir` with a fixed identity and no user config; panics with git's message on
/// failure. Returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "ao test")
        .env("GIT_AUTHOR_EMAIL", "test@ao.invalid")
        .env("GIT_COMMITTER_NAME", "ao test")
        .env("GIT_COMMITTER_EMAIL", "test@ao.invalid")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

/// A session's workspace as a container runtime gets it: at `dir`, a repository with `README`
/// ("hello") committed on `main`, checked out on a new `feat/x`, and `untracked` (path, text)
/// files the way an agent plugin leaves its hook settings.
pub fn session_workspace(dir: &Path, untracked: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("the workspace dir");
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README"), "hello\n").expect("README");
    git(dir, &["add", "README"]);
    git(dir, &["commit", "-qm", "init"]);
    git(dir, &["checkout", "-q", "-b", "feat/x"]);
    for (path, text) in untracked {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("a parent dir");
        }
        std::fs::write(file, text).expect("an untracked file");
    }
    dir.to_path_buf()
}

/// Runs git in `dir` without user config (as `identity` when it commits); `Err` is one line
/// naming the command. For code that must not panic (the simulator's actors, the demo).
pub fn try_git(dir: &Path, args: &[&str], identity: Option<(&str, &str)>) -> Result<(), String> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some((name, email)) = identity {
        cmd.env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email);
    }
    let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A project checkout for tests.
#[derive(Debug)]
pub struct Repo {
    /// The working checkout (`main` checked out).
    pub path: PathBuf,
    /// The bare `origin`, when made with [`Repo::with_origin`].
    pub origin: Option<PathBuf>,
}

impl Repo {
    /// `parent/<name>` with two commits on `main` and no remote.
    pub fn new(parent: &Path, name: &str) -> Self {
        let path = parent.join(name);
        std::fs::create_dir_all(&path).unwrap();
        git(&path, &["init", "-q", "-b", "main"]);
        std::fs::write(path.join("README.md"), "# test project\n").unwrap();
        git(&path, &["add", "."]);
        git(&path, &["commit", "-q", "-m", "first"]);
        std::fs::write(path.join("src.txt"), "code\n").unwrap();
        git(&path, &["add", "."]);
        git(&path, &["commit", "-q", "-m", "second"]);
        Self { path, origin: None }
    }

    /// Like [`Repo::new`], with `main` pushed to a bare `parent/<name>-origin.git` as `origin`.
    pub fn with_origin(parent: &Path, name: &str) -> Self {
        let mut repo = Self::new(parent, name);
        let origin = parent.join(format!("{name}-origin.git"));
        git(
            parent,
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                origin.to_str().unwrap(),
            ],
        );
        git(
            &repo.path,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&repo.path, &["push", "-q", "-u", "origin", "main"]);
        repo.origin = Some(origin);
        repo
    }

    /// A workspace create request for this project (`proj`, base `main`, no post-create).
    pub fn create_request(
        &self,
        root: &Path,
        session: &str,
        branch: &str,
    ) -> workspace::CreateRequest {
        workspace::CreateRequest {
            project_id: "proj".into(),
            session_id: session.into(),
            repo_path: self.path.display().to_string(),
            root: root.display().to_string(),
            branch: branch.into(),
            base_branch: "main".into(),
            post_create: workspace::PostCreate::default(),
        }
    }

    /// A workspace destroy request for `path` under `root` of this project.
    pub fn destroy_request(
        &self,
        root: &Path,
        path: &str,
        force: bool,
    ) -> workspace::DestroyRequest {
        workspace::DestroyRequest {
            path: path.into(),
            root: root.display().to_string(),
            repo_path: self.path.display().to_string(),
            force,
            delete_branch: None,
        }
    }

    /// Commits a new file in `dir` (a workspace of this repo), returning the commit id.
    pub fn commit_in(dir: &Path, file: &str, text: &str) -> String {
        std::fs::write(dir.join(file), text).unwrap();
        git(dir, &["add", file]);
        git(dir, &["commit", "-q", "-m", &format!("add {file}")]);
        git(dir, &["rev-parse", "HEAD"])
    }
}

/// Commits on many branches of a bare repository in one `git fast-import` run (benchmarks'
/// fleets of hundreds of branches): one commit per `(branch, parent)`, touching a file named
/// after the branch with text that changes with `round`.
pub fn fast_import(bare: &Path, commits: &[(String, Option<String>)], round: usize) {
    let mut stream = String::new();
    for (branch, from) in commits {
        let text = format!("{branch} round {round}\n");
        stream.push_str(&format!(
            "commit refs/heads/{branch}\ncommitter bench <b@ao.invalid> 1700000000 +0000\ndata 6\nbench\n"
        ));
        if let Some(f) = from {
            stream.push_str(&format!("from {f}\n"));
        }
        let file = branch.replace('/', "-");
        stream.push_str(&format!(
            "M 644 inline {file}.txt\ndata {}\n{text}\n",
            text.len()
        ));
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .expect("git fast-import runs")
        .write_all(stream.as_bytes())
        .expect("git fast-import runs");
    assert!(child.wait().expect("git fast-import runs").success());
}

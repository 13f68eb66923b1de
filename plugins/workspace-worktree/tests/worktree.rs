//! workspace-worktree against real git repositories in temp dirs.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::workspace::{
    CreateRequest, DestroyRequest, ListRequest, PathRequest, PostCreate, PostCreateCommand,
    Workspace,
};
use ao_plugin_workspace_worktree::{Config, Worktrees};
use ao_testkit::git::{Repo, git};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct World {
    dir: tempfile::TempDir,
    repo: Repo,
    ws: Worktrees,
    root: PathBuf,
}

impl World {
    fn new(with_origin: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = if with_origin {
            Repo::with_origin(dir.path(), "project")
        } else {
            Repo::new(dir.path(), "project")
        };
        let root = dir.path().join("data $(touch canary) `x`/worktrees");
        let ws = Worktrees::new(Config::default(), &TestHost::new().handle()).unwrap();
        Self {
            dir,
            repo,
            ws,
            root,
        }
    }

    fn req(&self, session: &str, branch: &str) -> CreateRequest {
        self.repo.create_request(&self.root, session, branch)
    }

    fn destroy(
        &self,
        path: &str,
        force: bool,
    ) -> Result<ao_plugin_api::slots::workspace::DestroyOutcome, SdkError> {
        self.ws.destroy(
            &Ctx::detached(),
            DestroyRequest {
                path: path.into(),
                root: self.root.display().to_string(),
                repo_path: self.repo.path.display().to_string(),
                force,
                delete_branch: None,
            },
        )
    }

    /// Paths git knows as worktrees of the project.
    fn registered(&self) -> Vec<String> {
        git(&self.repo.path, &["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree ").map(str::to_owned))
            .collect()
    }

    fn branches(&self) -> String {
        git(&self.repo.path, &["branch", "--format=%(refname:short)"])
    }
}

#[test]
fn a_new_worktree_branches_from_the_freshly_fetched_base() {
    let w = World::new(true);
    // Someone pushed to origin/main since the checkout last fetched.
    let other = w.dir.path().join("other");
    git(
        w.dir.path(),
        &[
            "clone",
            "-q",
            w.repo.origin.as_ref().unwrap().to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    let pushed = Repo::commit_in(&other, "new.txt", "new\n");
    git(&other, &["push", "-q", "origin", "main"]);

    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/1-login"))
            .unwrap();
    assert_eq!(info.branch, "feat/1-login");
    assert_eq!(info.head.as_deref(), Some(pushed.as_str()));
    assert_eq!(Path::new(&info.path), w.root.join("proj-1"));
    assert!(Path::new(&info.path).join("new.txt").is_file());
    // No upstream: the agent pushes its own branch, never to main by accident.
    let upstream = std::process::Command::new("git")
        .args(["rev-parse", "--abbrev-ref", "@{upstream}"])
        .current_dir(&info.path)
        .output()
        .unwrap();
    assert!(!upstream.status.success());
    assert!(!w.dir.path().join("canary").exists());
}

#[test]
fn branch_names_are_checked_and_never_executed() {
    let w = World::new(false);
    let odd = "feat/$(touch${IFS}canary)`touch${IFS}canary`;x".to_string();
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", &odd))
            .unwrap();
    assert_eq!(info.branch, odd);
    for dir in [w.dir.path(), &w.repo.path, &w.root, Path::new(&info.path)] {
        assert!(!dir.join("canary").exists());
    }
    for bad in ["a b", "-rf", "a..b", "x.lock", "feat/", "a~1", "HEAD"] {
        let err =
            w.ws.create(&Ctx::detached(), w.req("proj-2", bad))
                .unwrap_err();
        assert!(matches!(err, SdkError::InvalidParams(_)), "{bad}: {err}");
        assert!(err.to_string().starts_with("invalid branch name"), "{err}");
    }
    for bad in ["../x", "a/b", "-x"] {
        let err = w.ws.create(&Ctx::detached(), w.req(bad, "ok")).unwrap_err();
        assert!(err.to_string().starts_with("invalid session id"), "{err}");
    }
    assert!(!w.root.join("proj-2").exists());
    assert_eq!(w.registered().len(), 2);
}

#[test]
fn destroy_refuses_work_that_exists_nowhere_else_unless_forced() {
    let w = World::new(true);
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/x"))
            .unwrap();
    let path = Path::new(&info.path);

    Repo::commit_in(path, "work.txt", "precious\n");
    let err = w.destroy(&info.path, false).unwrap_err();
    assert!(matches!(err, SdkError::Conflict(_)));
    assert_eq!(
        err.to_string(),
        format!(
            "refusing to remove {}: 1 commit(s) not pushed anywhere; push or commit them, or force the removal",
            info.path
        )
    );
    git(path, &["push", "-q", "origin", "feat/x"]);
    std::fs::write(path.join("draft.txt"), "not committed").unwrap();
    let err = w.destroy(&info.path, false).unwrap_err().to_string();
    assert!(err.contains(": 1 untracked file(s);"), "{err}");
    std::fs::write(path.join("src.txt"), "changed").unwrap();
    let err = w.destroy(&info.path, false).unwrap_err().to_string();
    assert!(
        err.contains(": 1 changed file(s), 1 untracked file(s);"),
        "{err}"
    );
    assert!(path.exists());

    let out = w.destroy(&info.path, true).unwrap();
    assert!(out.removed);
    assert!(
        out.detail.ends_with("proj-1; branch `feat/x` kept"),
        "{}",
        out.detail
    );
    assert!(!path.exists());
    assert_eq!(w.registered().len(), 1, "git worktree list is clean");
    assert!(
        w.branches().contains("feat/x"),
        "the branch (and its commits) is kept"
    );
    // Gone already: fine.
    assert!(!w.destroy(&info.path, false).unwrap().removed);
}

#[test]
fn destroy_never_leaves_its_root() {
    let w = World::new(false);
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/x"))
            .unwrap();
    for outside in [
        w.repo.path.display().to_string(),
        w.root.display().to_string(),
        w.dir.path().display().to_string(),
        format!("{}/../../project", w.root.display()),
        format!("{}/..", info.path),
    ] {
        let err = w.destroy(&outside, true).unwrap_err();
        assert!(
            matches!(err, SdkError::PermissionDenied(_)),
            "{outside}: {err}"
        );
    }
    // A symlink inside the root that points at the checkout is not a way out either.
    std::os::unix::fs::symlink(&w.repo.path, w.root.join("sneaky")).unwrap();
    let err = w
        .destroy(&w.root.join("sneaky").display().to_string(), true)
        .unwrap_err();
    assert!(matches!(err, SdkError::PermissionDenied(_)), "{err}");
    assert!(w.repo.path.join("README.md").exists());
}

#[test]
fn post_create_links_and_runs_and_a_failure_leaves_nothing() {
    let w = World::new(false);
    std::fs::write(w.repo.path.join(".env"), "SECRET=1\n").unwrap();
    let mut req = w.req("proj-1", "feat/ok");
    req.post_create = PostCreate {
        symlinks: vec![".env".into()],
        commands: vec![PostCreateCommand {
            argv: vec!["sh".into(), "-c".into(), "cat .env > installed".into()],
            shell: false,
            timeout_ms: Some(10_000),
        }],
    };
    let info = w.ws.create(&Ctx::detached(), req).unwrap();
    let p = Path::new(&info.path);
    assert!(p.join(".env").symlink_metadata().unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(p.join("installed")).unwrap(),
        "SECRET=1\n"
    );

    let mut bad = w.req("proj-2", "feat/broken");
    bad.post_create.commands = vec![PostCreateCommand {
        argv: vec![
            "sh".into(),
            "-c".into(),
            "echo 'npm ERR! missing script' >&2; exit 1".into(),
        ],
        shell: false,
        timeout_ms: None,
    }];
    let err = w.ws.create(&Ctx::detached(), bad).unwrap_err().to_string();
    assert!(
        err.ends_with("exited with status 1: npm ERR! missing script"),
        "{err}"
    );
    assert!(!w.root.join("proj-2").exists());
    assert_eq!(w.registered().len(), 2);
    assert!(!w.branches().contains("feat/broken"));
}

#[test]
fn restore_brings_back_a_lost_worktree_on_its_branch() {
    let w = World::new(false);
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/r"))
            .unwrap();
    let commit = Repo::commit_in(Path::new(&info.path), "w.txt", "work\n");
    // A reboot wiped the directory; git still lists it as a (prunable) worktree.
    std::fs::remove_dir_all(&info.path).unwrap();
    assert!(
        !w.ws
            .exists(
                &Ctx::detached(),
                PathRequest {
                    path: info.path.clone()
                }
            )
            .unwrap()
            .exists
    );

    let back =
        w.ws.restore(&Ctx::detached(), w.req("proj-1", "feat/r"))
            .unwrap();
    assert_eq!(back.head.as_deref(), Some(commit.as_str()));
    assert_eq!(back.branch, "feat/r");
    assert!(
        w.ws.exists(
            &Ctx::detached(),
            PathRequest {
                path: back.path.clone()
            }
        )
        .unwrap()
        .exists
    );
    // Restoring what is there is a no-op.
    assert_eq!(
        w.ws.restore(&Ctx::detached(), w.req("proj-1", "feat/r"))
            .unwrap(),
        back
    );
    let err =
        w.ws.restore(&Ctx::detached(), w.req("proj-2", "feat/never"))
            .unwrap_err();
    assert!(matches!(err, SdkError::NotFound(_)), "{err}");
    assert!(!w.root.join("proj-2").exists());
}

#[test]
fn a_branch_checked_out_elsewhere_is_a_conflict() {
    let w = World::new(false);
    w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/same"))
        .unwrap();
    let err =
        w.ws.create(&Ctx::detached(), w.req("proj-2", "feat/same"))
            .unwrap_err();
    assert!(matches!(err, SdkError::Conflict(_)), "{err}");
    let err =
        w.ws.create(&Ctx::detached(), w.req("proj-3", "main"))
            .unwrap_err();
    assert!(matches!(err, SdkError::Conflict(_)), "{err}");
    assert!(
        w.branches().contains("feat/same"),
        "the existing branch was not deleted"
    );
    assert_eq!(w.registered().len(), 2);
    let dup =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/other"))
            .unwrap_err();
    assert!(dup.to_string().ends_with("proj-1 already exists"), "{dup}");
}

#[test]
fn ten_parallel_creates_get_ten_worktrees_and_destroy_leaves_git_clean() {
    let w = Arc::new(World::new(true));
    let handles: Vec<_> = (1..=10)
        .map(|i| {
            let w = w.clone();
            std::thread::spawn(move || {
                w.ws.create(
                    &Ctx::detached(),
                    w.req(&format!("proj-{i}"), &format!("feat/{i}")),
                )
            })
        })
        .collect();
    let infos: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    let mut paths: Vec<_> = infos.iter().map(|i| i.path.clone()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 10);
    let listed =
        w.ws.list(
            &Ctx::detached(),
            ListRequest {
                project_id: "proj".into(),
                root: w.root.display().to_string(),
                repo_path: w.repo.path.display().to_string(),
            },
        )
        .unwrap();
    assert_eq!(listed.workspaces.len(), 10);
    assert!(
        listed
            .workspaces
            .iter()
            .all(|ws| ws.branch == format!("feat/{}", &ws.session_id[5..]))
    );
    let handles: Vec<_> = infos
        .into_iter()
        .map(|i| {
            let w = w.clone();
            std::thread::spawn(move || w.destroy(&i.path, false))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().unwrap().removed);
    }
    assert_eq!(w.registered(), [w.repo.path.display().to_string()]);
    git(&w.repo.path, &["fsck", "--no-progress"]);
}

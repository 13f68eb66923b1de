//! workspace-clone against real git repositories in temp dirs.

use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::workspace::{
    CreateRequest, DestroyOutcome, ListRequest, PostCreateCommand, Workspace,
};
use ao_plugin_workspace_clone::{Clones, Config};
use ao_testkit::git::{Repo, git};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

struct World {
    dir: tempfile::TempDir,
    repo: Repo,
    ws: Clones,
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
        let root = dir.path().join("clones");
        let ws = Clones::new(Config::default(), &TestHost::new().handle()).unwrap();
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

    fn destroy(&self, path: &str, force: bool) -> Result<DestroyOutcome, SdkError> {
        self.ws.destroy(
            &Ctx::detached(),
            self.repo.destroy_request(&self.root, path, force),
        )
    }
}

#[test]
fn a_clone_is_isolated_hard_linked_and_pushes_to_the_real_remote() {
    let w = World::new(true);
    // The checkout has a local commit on main that origin does not: the session starts from
    // origin/main, like the worktree plugin.
    let origin_main = git(&w.repo.path, &["rev-parse", "main"]);
    Repo::commit_in(&w.repo.path, "local-only.txt", "x\n");

    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/1-x"))
            .unwrap();
    let p = Path::new(&info.path);
    assert_eq!(info.branch, "feat/1-x");
    assert_eq!(info.head.as_deref(), Some(origin_main.as_str()));
    assert!(p.join(".git").is_dir(), "a clone has its own .git");
    assert!(!p.join("local-only.txt").exists());
    assert_eq!(
        git(p, &["remote", "get-url", "origin"]),
        w.repo.origin.as_ref().unwrap().display().to_string()
    );
    // Objects were hard-linked from the checkout, not copied.
    let pack = std::fs::read_dir(p.join(".git/objects"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .next()
        .unwrap();
    assert!(pack.metadata().unwrap().nlink() >= 2);

    let commit = Repo::commit_in(p, "work.txt", "w\n");
    git(p, &["push", "-q", "origin", "feat/1-x"]);
    let origin = w.repo.origin.as_ref().unwrap();
    assert_eq!(git(origin, &["rev-parse", "feat/1-x"]), commit);
}

#[test]
fn without_a_remote_the_clone_starts_from_the_checkouts_base() {
    let w = World::new(false);
    let head = Repo::commit_in(&w.repo.path, "more.txt", "m\n");
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/y"))
            .unwrap();
    assert_eq!(info.head.as_deref(), Some(head.as_str()));
    // Pushing hands the branch back to the project repository.
    let commit = Repo::commit_in(Path::new(&info.path), "w.txt", "w\n");
    git(Path::new(&info.path), &["push", "-q", "origin", "feat/y"]);
    assert_eq!(git(&w.repo.path, &["rev-parse", "feat/y"]), commit);
    assert!(
        w.destroy(&info.path, false).unwrap().removed,
        "pushed work is saved"
    );
}

#[test]
fn destroy_guards_unsaved_work_and_its_root() {
    let w = World::new(true);
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/z"))
            .unwrap();
    Repo::commit_in(Path::new(&info.path), "w.txt", "w\n");
    let err = w.destroy(&info.path, false).unwrap_err();
    assert!(
        err.to_string().contains("1 commit(s) not pushed anywhere"),
        "{err}"
    );
    let err = w
        .destroy(&w.repo.path.display().to_string(), true)
        .unwrap_err();
    assert!(matches!(err, SdkError::PermissionDenied(_)), "{err}");
    assert!(w.destroy(&info.path, true).unwrap().removed);
    assert!(!Path::new(&info.path).exists());
    assert!(w.repo.path.join("README.md").exists());
}

#[test]
fn restore_recovers_a_pushed_branch_and_refuses_a_lost_one() {
    let w = World::new(true);
    let info =
        w.ws.create(&Ctx::detached(), w.req("proj-1", "feat/r"))
            .unwrap();
    let commit = Repo::commit_in(Path::new(&info.path), "w.txt", "w\n");
    git(Path::new(&info.path), &["push", "-q", "origin", "feat/r"]);
    std::fs::remove_dir_all(&info.path).unwrap();

    let back =
        w.ws.restore(&Ctx::detached(), w.req("proj-1", "feat/r"))
            .unwrap();
    assert_eq!(back.head.as_deref(), Some(commit.as_str()));
    assert_eq!(back.branch, "feat/r");
    let err =
        w.ws.restore(&Ctx::detached(), w.req("proj-2", "feat/gone"))
            .unwrap_err();
    assert!(matches!(err, SdkError::NotFound(_)), "{err}");
    assert!(!w.root.join("proj-2").exists());
}

#[test]
fn a_failed_post_create_removes_the_clone_and_list_sees_the_rest() {
    let w = World::new(false);
    std::fs::write(w.repo.path.join(".env"), "K=1\n").unwrap();
    let mut ok = w.req("proj-1", "feat/ok");
    ok.post_create.symlinks = vec![".env".into()];
    w.ws.create(&Ctx::detached(), ok).unwrap();
    assert!(
        w.root
            .join("proj-1/.env")
            .symlink_metadata()
            .unwrap()
            .is_symlink()
    );

    let mut bad = w.req("proj-2", "feat/bad");
    bad.post_create.commands = vec![PostCreateCommand {
        argv: vec!["false".into()],
        shell: false,
        timeout_ms: None,
    }];
    let err = w.ws.create(&Ctx::detached(), bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "post-create step `false` exited with status 1: no output"
    );
    assert!(!w.root.join("proj-2").exists());

    let list =
        w.ws.list(
            &Ctx::detached(),
            ListRequest {
                project_id: "proj".into(),
                root: w.root.display().to_string(),
                repo_path: w.repo.path.display().to_string(),
            },
        )
        .unwrap();
    assert_eq!(list.workspaces.len(), 1);
    assert_eq!(list.workspaces[0].branch, "feat/ok");
    assert!(!w.dir.path().join("canary").exists());
}

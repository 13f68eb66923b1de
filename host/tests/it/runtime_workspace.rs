//! The runtime and workspace plugins as the host uses them: real cdylibs loaded through the
//! registry, real git, a real tmux server on a private socket, the scripted agent.

use crate::plugin_calls::scan;
use crate::support::*;
use ao::plugins::slots::{RuntimeClient, WorkspaceClient};
use ao::plugins::{CallOptions, Registry};
use ao_plugin_api::slots::runtime::{self, DeliveryOptions};
use ao_plugin_api::slots::workspace::{self};
use ao_testkit::git::{Repo, git};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

struct Fleet {
    _sb: Sandbox,
    dir: tempfile::TempDir,
    repo: Repo,
    root: std::path::PathBuf,
    socket: std::path::PathBuf,
    runtime: RuntimeClient,
    workspace: WorkspaceClient,
}

impl Fleet {
    async fn new() -> Self {
        let sb = Sandbox::new().with_libs(&[RUNTIME_TMUX, WORKTREE]);
        let reg = Registry::load(&scan(&sb));
        assert!(reg.failures.is_empty(), "{:?}", reg.failures);
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::with_origin(dir.path(), "project");
        // Metacharacters in the data dir path: nothing may run them.
        let root = dir
            .path()
            .join("data $(touch canary) `touch canary` #(touch canary)/worktrees");
        let socket = dir.path().join("tmux.sock");
        let opts = CallOptions {
            timeout: Duration::from_secs(60),
            concurrency: 16,
            ..CallOptions::default()
        };
        let rt = reg
            .instantiate("runtime/tmux", &json!({ "socket": socket }), opts.clone())
            .await
            .unwrap();
        let ws = reg
            .instantiate("workspace/worktree", &json!({}), opts)
            .await
            .unwrap();
        Self {
            _sb: sb,
            dir,
            repo,
            root,
            socket,
            runtime: RuntimeClient(rt),
            workspace: WorkspaceClient(ws),
        }
    }

    fn create_req(&self, session: &str, branch: &str) -> workspace::CreateRequest {
        self.repo.create_request(&self.root, session, branch)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-S", self.socket.to_str().unwrap(), "kill-server"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_sessions_spawn_in_parallel_take_a_message_each_and_leave_git_clean() {
    let f = std::sync::Arc::new(Fleet::new().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 1..=10 {
        let f = f.clone();
        tasks.spawn(async move {
            let session = format!("proj-{i}");
            // Every other branch carries shell syntax, which must stay text.
            let branch = if i % 2 == 0 {
                format!("feat/{i}-$(touch${{IFS}}canary)`id`;x")
            } else {
                format!("feat/{i}-plain")
            };
            let ws = f
                .workspace
                .create(&f.create_req(&session, &branch))
                .await
                .unwrap();
            assert_eq!(ws.branch, branch);
            let status = f.dir.path().join(format!("{session}.status"));
            let log = f.dir.path().join(format!("{session}.log"));
            let mut env = BTreeMap::new();
            env.insert("AO_SESSION".to_string(), session.clone());
            let handle = f
                .runtime
                .create(&runtime::CreateRequest {
                    copies: Vec::new(),
                    session_id: session.clone(),
                    runtime_name: format!("abc123-{session}"),
                    workspace_path: ws.path.clone(),
                    argv: ao_testkit::scripted_agent_argv(&log, Some(&status), &[]),
                    env,
                    files: Vec::new(),
                    scratch_dir: None,
                })
                .await
                .unwrap();
            let sent = f
                .runtime
                .send_message(&runtime::SendMessageRequest {
                    handle: handle.clone(),
                    text: format!("hello {session}: fix `{branch}`;\nthanks"),
                    delivery: DeliveryOptions {
                        stable_ms: 300,
                        status_file: Some(status.display().to_string()),
                        ..DeliveryOptions::default()
                    },
                })
                .await
                .unwrap();
            assert!(sent.acknowledged, "{session}: {sent:?}");
            let got = std::fs::read_to_string(&log).unwrap();
            assert!(
                got.contains(
                    &serde_json::to_string(&format!("hello {session}: fix `{branch}`;\nthanks"))
                        .unwrap()
                ),
                "{got}"
            );
            (handle, ws)
        });
    }
    let mut made = Vec::new();
    while let Some(r) = tasks.join_next().await {
        made.push(r.unwrap());
    }
    let mut names: Vec<_> = made.iter().map(|(h, _)| h.id.clone()).collect();
    let mut paths: Vec<_> = made.iter().map(|(_, w)| w.path.clone()).collect();
    names.sort();
    names.dedup();
    paths.sort();
    paths.dedup();
    assert_eq!((names.len(), paths.len()), (10, 10));

    // One probe answers for all ten.
    let probe = f
        .runtime
        .probe(&runtime::ProbeRequest {
            mirror_bytes: None,
            targets: made
                .iter()
                .map(|(h, _)| runtime::IsAliveRequest {
                    mirror: None,
                    handle: h.clone(),
                    process_names: vec!["ao-scripted-agent".into()],
                })
                .collect(),
            status_tail_bytes: None,
            capture_lines: None,
        })
        .await
        .unwrap();
    assert_eq!(probe.results.len(), 10);
    assert!(probe.results.values().all(|l| l.alive), "{probe:?}");

    for (handle, ws) in &made {
        f.runtime
            .destroy(&runtime::HandleRequest {
                handle: handle.clone(),
            })
            .await
            .unwrap();
        let out = f
            .workspace
            .destroy(&f.repo.destroy_request(&f.root, &ws.path, false))
            .await
            .unwrap();
        assert!(out.removed);
    }
    let listed = git(&f.repo.path, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{listed}"
    );
    git(&f.repo.path, &["fsck", "--no-progress"]);
    for dir in [
        f.dir.path().to_path_buf(),
        f.repo.path.clone(),
        f.root.clone(),
        std::env::temp_dir(),
    ] {
        assert!(
            !dir.join("canary").exists(),
            "a shell ran in {}",
            dir.display()
        );
    }
    assert!(!Path::new(&f.root).join("proj-1").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_refuses_unpushed_work_through_the_host_until_forced() {
    let f = Fleet::new().await;
    let ws = f
        .workspace
        .create(&f.create_req("proj-1", "feat/keep"))
        .await
        .unwrap();
    Repo::commit_in(Path::new(&ws.path), "work.txt", "precious\n");
    let req = |force| f.repo.destroy_request(&f.root, &ws.path, force);
    let err = f.workspace.destroy(&req(false)).await.unwrap_err();
    assert_eq!(
        err.plugin_code(),
        Some(ao_plugin_api::abi::ErrorCode::CONFLICT),
        "{err}"
    );
    assert!(
        err.to_string().contains("1 commit(s) not pushed anywhere"),
        "{err}"
    );
    assert!(Path::new(&ws.path).join("work.txt").exists());
    assert!(f.workspace.destroy(&req(true)).await.unwrap().removed);
    assert!(!Path::new(&ws.path).exists());
}

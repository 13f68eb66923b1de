//! Benchmark body for `scripts/bench/spawn`: create + destroy of a worktree and a tmux session
//! through the real runtime-tmux and workspace-worktree cdylibs, as the host drives them.
//! Post-create steps are excluded (none configured); the pane runs `sleep`, not an agent.
#![allow(clippy::print_stdout)]

mod support;

use ao::plugins::catalog::ScanOptions;
use ao::plugins::slots::{RuntimeClient, WorkspaceClient};
use ao::plugins::{CallOptions, Catalog, Registry};
use ao_plugin_api::slots::{runtime, workspace};
use serde_json::json;
use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let (_libs, search) = support::plugin_dir(|name| {
        ["ao_plugin_runtime_tmux", "ao_plugin_workspace_worktree"].contains(&name)
    });
    let opts = ScanOptions {
        shim: support::target_dir().join("ao"),
        cache: None,
        ..ScanOptions::for_current_exe()
    };
    let reg = Registry::load(&Catalog::scan(&search, &opts));
    assert!(reg.failures.is_empty(), "{:?}", reg.failures);

    let dir = tempfile::tempdir().unwrap();
    let repo = ao_testkit::git::Repo::with_origin(dir.path(), "project");
    let root = dir.path().join("worktrees");
    let socket = dir.path().join("tmux.sock");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tmux, wt) = rt.block_on(async {
        let tmux = reg
            .instantiate(
                "runtime/tmux",
                &json!({ "socket": socket }),
                CallOptions::default(),
            )
            .await
            .unwrap();
        let wt = reg
            .instantiate("workspace/worktree", &json!({}), CallOptions::default())
            .await
            .unwrap();
        (RuntimeClient(tmux), WorkspaceClient(wt))
    });
    // Start the tmux server once, as a running `ao` would have it.
    std::process::Command::new("tmux")
        .args([
            "-S",
            socket.to_str().unwrap(),
            "new-session",
            "-d",
            "-s",
            "keepalive",
            "sleep",
            "3600",
        ])
        .status()
        .unwrap();

    let (mut total, mut create, mut destroy) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for i in 0..runs {
            let session = format!("proj-{i}");
            let t0 = Instant::now();
            let ws = wt
                .create(&workspace::CreateRequest {
                    project_id: "proj".into(),
                    session_id: session.clone(),
                    repo_path: repo.path.display().to_string(),
                    root: root.display().to_string(),
                    branch: format!("feat/{i}"),
                    base_branch: "main".into(),
                    post_create: Default::default(),
                })
                .await
                .unwrap();
            let handle = tmux
                .create(&runtime::CreateRequest {
                    copies: Vec::new(),
                    session_id: session.clone(),
                    runtime_name: format!("bench-{session}"),
                    workspace_path: ws.path.clone(),
                    argv: vec!["sleep".into(), "600".into()],
                    env: Default::default(),
                    files: Vec::new(),
                    scratch_dir: None,
                })
                .await
                .unwrap();
            let t1 = Instant::now();
            tmux.destroy(&runtime::HandleRequest { handle })
                .await
                .unwrap();
            wt.destroy(&workspace::DestroyRequest {
                delete_branch: None,
                path: ws.path,
                root: root.display().to_string(),
                repo_path: repo.path.display().to_string(),
                force: false,
            })
            .await
            .unwrap();
            let t2 = Instant::now();
            create.push(t1 - t0);
            destroy.push(t2 - t1);
            total.push(t2 - t0);
        }
    });
    let _ = std::process::Command::new("tmux")
        .args(["-S", socket.to_str().unwrap(), "kill-server"])
        .status();
    // The plugin fetches the base at most every 15 s, so only the first run pays for a fetch
    // (from a local bare origin here).
    let first = total[0].as_secs_f64() * 1000.0;
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    println!(
        "worktree + tmux session, create + destroy: median {:.1} ms over {runs} runs \
         (create {:.1} ms, destroy {:.1} ms); first run, with a fetch: {first:.1} ms",
        median(&mut total),
        median(&mut create),
        median(&mut destroy)
    );
}

//! A fleet of N sessions for the benchmarks that drive the lifecycle: the forge simulator in its
//! own process with a PR per session, a checkout, a config, and per session a real tmux session
//! showing an agent's screen, a session file and a hook record.

use ao::fleet::Fleet;
use ao::plugins::catalog::ScanOptions;
use ao::plugins::{Catalog, Registry};
use ao::store::session::{Role, Session, Status};
use ao_plugin_api::slots::agent::ActivityState;
use ao_plugin_api::slots::runtime::CreateRequest;
use ao_plugin_api::status_file::{self, StatusRecord};
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) const REPO: &str = "acme/app";

/// Claude Code 2.1.332 at its prompt after a turn, as captured in tmux.
const SCREEN: &str = " ▐▛███▛█   Claude Code v2.1.332\n▝▜██████▀  Opus 5.5 · API Usage Billing\n ▝▝   ▝▝   /work/app\n\n❯ Fix the failing test in src/lib.rs\n\n● I fixed the off-by-one in parse() and pushed.\n\n✻ Worked for 42s · done 9:04 PM\n\n────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ⏸ manual mode on · ? for shortcuts\n";

/// What [`build`] made; dropping it stops the tmux server and the forge.
pub(crate) struct Bench {
    pub(crate) fleet: Fleet,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) config_file: PathBuf,
    pub(crate) socket: PathBuf,
    /// The plugin directory (kept alive for the benchmark's length).
    pub(crate) plugins: tempfile::TempDir,
    pub(crate) forge_token: String,
    pub(crate) sessions: usize,
    sim: Child,
    _dir: tempfile::TempDir,
}

fn control(agent: &ureq::Agent, url: &str, cmd: &str, body: Value) -> Value {
    let mut r = agent
        .post(format!("{url}/_sim/{cmd}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// `n` sessions with an open, green PR each, stored under `data`; `extra` is merged into the
/// config's top level (e.g. `pollInterval`). Call before any thread starts (it sets an
/// environment variable for the token).
pub(crate) fn build(n: usize, data: &Path, extra: Value) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let target = super::target_dir();

    // The forge, in its own process.
    let mut sim = Command::new(target.join("ao-forge-sim"))
        .args(["--stdin-lifeline", "--dir"])
        .arg(dir.path().join("forge"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ao-forge-sim (cargo build --release --workspace)");
    let mut keys = std::collections::BTreeMap::new();
    for line in std::io::BufReader::new(sim.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((k, v)) = line.split_once('=') {
            keys.insert(k.to_string(), v.to_string());
        }
        if keys.contains_key("AO_FORGE_TOKEN") {
            break;
        }
    }
    let url = keys["AO_FORGE_URL"].clone();
    let http = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let bare = control(&http, &url, "repo", json!({"repo": REPO}))["git_dir"]
        .as_str()
        .unwrap()
        .to_string();
    let bare = Path::new(&bare);
    ao_testkit::git::fast_import(bare, &[("main".to_string(), None)], 0);
    let main = String::from_utf8(
        Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(["rev-parse", "main"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let branches: Vec<String> = (1..=n).map(|i| format!("feat/{i}")).collect();
    let commits: Vec<(String, Option<String>)> = branches
        .iter()
        .map(|b| (b.clone(), Some(main.clone())))
        .collect();
    ao_testkit::git::fast_import(bare, &commits, 0);
    let mut prs = Vec::new();
    for b in &branches {
        let pr = control(
            &http,
            &url,
            "pull",
            json!({"repo": REPO, "head": b, "title": b}),
        );
        let number = pr["number"].as_u64().unwrap();
        control(
            &http,
            &url,
            "check",
            json!({"repo": REPO, "pr": number, "name": "test", "conclusion": "success"}),
        );
        prs.push(number);
    }
    control(&http, &url, "backdate", json!({"secs": 600}));

    // The host: config, plugins, store.
    let checkout = dir.path().join("app");
    ao_testkit::git::git(
        dir.path(),
        &["clone", "-q", &bare.display().to_string(), "app"],
    );
    let socket = dir.path().join("tmux.sock");
    let github = json!({"plugin": "github", "apiUrl": url, "tokenEnv": "BENCH_FORGE_TOKEN"});
    let config_file = dir.path().join("agent-orchestrator.yaml");
    let mut config = json!({
        "projects": {"app": {
            "path": checkout, "repo": REPO, "agent": "scripted",
            "runtimeConfig": {"socket": socket}, "scm": github
        }}
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        config[k] = v;
    }
    std::fs::write(&config_file, config.to_string()).unwrap();
    // SAFETY: single-threaded so far (the tokio runtime is made below).
    unsafe { std::env::set_var("BENCH_FORGE_TOKEN", &keys["AO_FORGE_TOKEN"]) };
    let config = ao::config::load(&config_file).unwrap();
    let (plugins, search) = super::plugin_dir(|name| {
        [
            "ao_plugin_runtime_tmux",
            "ao_plugin_agent_scripted",
            "ao_plugin_github",
        ]
        .contains(&name)
    });
    let opts = ScanOptions {
        shim: target.join("ao"),
        cache: None,
        ..ScanOptions::for_current_exe()
    };
    let registry = Registry::load(&Catalog::scan(&search, &opts));
    assert!(registry.failures.is_empty(), "{:?}", registry.failures);
    let fleet = Fleet::new(config, registry, data.to_path_buf(), target.join("ao"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // N sessions: a tmux session showing an agent's screen, a hook record, a PR.
    rt.block_on(async {
        let p = fleet.project("app").unwrap().clone();
        let tmux = fleet.runtime(&p, "tmux").await.unwrap();
        let store = fleet.store("app");
        std::fs::create_dir_all(store.status_dir()).unwrap();
        std::fs::create_dir_all(store.sessions_dir()).unwrap();
        let now = ao::fleet::now_ms();
        for (i, number) in prs.iter().enumerate() {
            let id = format!("app-{}", i + 1);
            let handle = tmux
                .create(&CreateRequest {
                    copies: Vec::new(),
                    session_id: id.clone(),
                    runtime_name: format!("bench-{id}"),
                    workspace_path: checkout.display().to_string(),
                    // An agent's screen, then nothing: what the tick captures every time.
                    argv: vec![
                        "sh".into(),
                        "-c".into(),
                        "printf '%s' \"$0\"; exec sleep 36000".into(),
                        SCREEN.replace('\n', "\r\n"),
                    ],
                    env: Default::default(),
                    files: Vec::new(),
                    scratch_dir: None,
                })
                .await
                .unwrap();
            let mut s = Session::new(&id, "app", now - 3_600_000);
            s.role = Role::Worker;
            s.status = Status::PrOpen;
            s.agent = Some("scripted".into());
            s.branch = Some(branches[i].clone());
            s.pr = Some(format!("{url}/{REPO}/pull/{number}"));
            s.workspace = Some(checkout.display().to_string());
            s.runtime_handle = Some(handle);
            s.process_names = vec!["sleep".into()];
            store.write_session(&s).unwrap();
            status_file::append(
                &fleet.status_file("app", &id),
                &StatusRecord::now(ActivityState::Ready, Some("Stop")),
            )
            .unwrap();
        }
    });
    Bench {
        fleet,
        rt,
        config_file,
        socket,
        plugins,
        forge_token: keys["AO_FORGE_TOKEN"].clone(),
        sessions: n,
        sim,
        _dir: dir,
    }
}

impl Bench {
    /// The tmux server's pid.
    pub(crate) fn tmux_pid(&self) -> String {
        String::from_utf8(
            Command::new("tmux")
                .arg("-S")
                .arg(&self.socket)
                .args(["display-message", "-p", "#{pid}"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string()
    }

    /// Every agent reports new activity (its hooks append a record), alternating by `round`.
    pub(crate) fn move_all(&self, round: usize) {
        for i in 1..=self.sessions {
            let state = if round.is_multiple_of(2) {
                ActivityState::Active
            } else {
                ActivityState::Ready
            };
            status_file::append(
                &self.fleet.status_file("app", &format!("app-{i}")),
                &StatusRecord::now(state, Some("UserPromptSubmit")),
            )
            .unwrap();
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.rt.block_on(self.fleet.shutdown());
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
        drop(self.sim.stdin.take());
        let _ = self.sim.wait();
    }
}

//! Benchmark body for `scripts/bench/tick`: one lifecycle tick over N sessions (default 500),
//! each with a real tmux session on a private server, a status file its agent's hooks wrote,
//! and an open PR on the forge simulator (a separate process, so its CPU and memory are not
//! counted as the host's). The loaded plugins are the real cdylibs: runtime-tmux, agent-scripted,
//! github. The first tick reads every PR; the steady ticks after it are what a running `ao`
//! pays every `pollInterval`. Prints wall time, host CPU time (and the CPU of the `tmux`/`ps`
//! children the tick ran, and of the tmux server), and the host's peak RSS. Every pane shows an
//! agent's screen (Claude Code's idle prompt), since every tick captures every live screen.
//! Arguments: sessions (500), steady ticks (5), and `moving` to make every agent's activity
//! move before each steady tick, so each tick also reads every session's `session_info`.
#![allow(clippy::print_stdout)]

mod support;

use ao::fleet::Fleet;
use ao::lifecycle::tick::tick;
use ao::plugins::catalog::ScanOptions;
use ao::plugins::{Catalog, Registry};
use ao::store::session::{Role, Session, Status};
use ao_plugin_api::slots::agent::ActivityState;
use ao_plugin_api::slots::runtime::CreateRequest;
use ao_plugin_api::status_file::{self, StatusRecord};
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REPO: &str = "acme/app";

/// Claude Code 2.1.332 at its prompt after a turn, as captured in tmux.
const SCREEN: &str = " ▐▛███▛█   Claude Code v2.1.332\n▝▜██████▀  Opus 5.5 · API Usage Billing\n ▝▝   ▝▝   /work/app\n\n❯ Fix the failing test in src/lib.rs\n\n● I fixed the off-by-one in parse() and pushed.\n\n✻ Worked for 42s · done 9:04 PM\n\n────────────────────────────────────────\n❯ \n────────────────────────────────────────\n  ⏸ manual mode on · ? for shortcuts\n";

/// CPU time (user + system) of a process, in ms, from /proc.
fn proc_cpu_ms(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name in parentheses; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks * 1000.0 / hz
}

fn control(agent: &ureq::Agent, url: &str, cmd: &str, body: Value) -> Value {
    let mut r = agent
        .post(format!("{url}/_sim/{cmd}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// (user, system) CPU of this process and of its reaped children, in ms.
fn cpu() -> (f64, f64) {
    let get = |who| {
        // SAFETY: getrusage fills the struct we own.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut u) };
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
        ms(u.ru_utime) + ms(u.ru_stime)
    };
    (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
}

fn main() {
    // As the `ao` binary does at start.
    ao::alloc::limit_arenas();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let ticks: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let moving = std::env::args().nth(3).as_deref() == Some("moving");
    let dir = tempfile::tempdir().unwrap();
    let target = support::target_dir();

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
    let config = json!({
        "projects": {"app": {
            "path": checkout, "repo": REPO, "agent": "scripted",
            "runtimeConfig": {"socket": socket}, "scm": github
        }}
    });
    std::fs::write(&config_file, config.to_string()).unwrap();
    // SAFETY: single-threaded so far (the tokio runtime is made below).
    unsafe { std::env::set_var("BENCH_FORGE_TOKEN", &keys["AO_FORGE_TOKEN"]) };
    let config = ao::config::load(&config_file).unwrap();
    let (_libs, search) = support::plugin_dir(|name| {
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
    let data = dir.path().join("data");
    let fleet = Fleet::new(config, registry, data, target.join("ao"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // N sessions: a tmux session running `sleep`, a hook record, a PR.
    let setup = Instant::now();
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
                    session_id: id.clone(),
                    runtime_name: format!("bench-{id}"),
                    workspace_path: checkout.display().to_string(),
                    // An agent's screen, then nothing: what the tick captures every time.
                    argv: vec![
                        "sh".into(),
                        "-c".into(),
                        "printf '%s' \"$0\"; exec sleep 3600".into(),
                        SCREEN.replace('\n', "\r\n"),
                    ],
                    env: Default::default(),
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
    println!(
        "tick over {n} sessions (tmux + hooks + a PR each; setup {:.1}s)",
        setup.elapsed().as_secs_f64()
    );

    let server = String::from_utf8(
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(["display-message", "-p", "#{pid}"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let move_all = |round: usize| {
        for i in 1..=n {
            let state = if round.is_multiple_of(2) {
                ActivityState::Active
            } else {
                ActivityState::Ready
            };
            status_file::append(
                &fleet.status_file("app", &format!("app-{i}")),
                &StatusRecord::now(state, Some("UserPromptSubmit")),
            )
            .unwrap();
        }
    };
    let measure = |label: &str| {
        let tmux0 = proc_cpu_ms(&server);
        let (self0, child0) = cpu();
        let t = Instant::now();
        let report = rt.block_on(tick(&fleet, "app")).unwrap();
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        let (self1, child1) = cpu();
        let (now_rss, hwm) = support::rss_mb("self");
        assert_eq!(report.checked, n, "{:?}", report.errors);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let tmux = proc_cpu_ms(&server) - tmux0;
        println!(
            "  {label:<8} wall {wall:7.1} ms  host CPU {:6.1} ms  children CPU {:6.1} ms  tmux server CPU {tmux:6.1} ms  RSS {now_rss:5.1} MB (peak {hwm:5.1} MB)  transitions {}",
            self1 - self0,
            child1 - child0,
            report.transitions.len()
        );
        (wall, self1 - self0, hwm)
    };
    measure("first");
    let mut steady: Vec<(f64, f64, f64)> = (1..=ticks.max(1))
        .map(|i| {
            if moving {
                move_all(i);
            }
            measure(&format!("steady{i}"))
        })
        .collect();
    steady.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (wall, cpu_ms, _) = steady[steady.len() / 2];
    let peak = steady.iter().map(|s| s.2).fold(0.0, f64::max);
    println!(
        "steady tick{} (median of {}): wall {wall:.1} ms, host CPU {cpu_ms:.1} ms, peak RSS {peak:.1} MB (targets with screens: 500 sessions <= 400 ms wall; 1,000 <= 1 s wall and <= 200 ms CPU; RSS <= 40 MB)",
        if moving {
            ", every agent's activity moving (session_info read for each)"
        } else {
            ""
        },
        steady.len()
    );
    let (anon, file) = support::rss_split_mb("self");
    println!("  RSS now: {anon:.1} MB heap and stacks, {file:.1} MB mapped binary and plugins");

    rt.block_on(fleet.shutdown());
    let _ = Command::new("tmux")
        .arg("-S")
        .arg(&socket)
        .arg("kill-server")
        .status();
    drop(sim.stdin.take());
    let _ = sim.wait();
}

//! The heavy fault cases, run by `scripts/faults/run` (ignored in the normal suite: they take
//! minutes). Each prints one line, `fault: <case>: <what happened>: ok`, and fails on a broken
//! promise: fd exhaustion, a full disk under the data dir, SIGKILL and SIGINT storms during
//! spawns, SIGKILLed writers of one session file, 100 live-stream clients.
#![allow(clippy::print_stdout)] // the one-line results are this module's output

use crate::engine::*;
use crate::faults::{sigkill_agent, status_of, tmux, wait_status};
use crate::interrupted::{ao_child, checkout, finish, git, signal, tmux_sessions, try_store};
use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::time::{Duration, Instant};

/// A small deterministic generator, seeded from the clock and printed, so a failing storm
/// can be replayed with `AO_FAULT_SEED`.
struct Rng(u64);

impl Rng {
    fn new(case: &str) -> Rng {
        let seed = std::env::var("AO_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(ao::fleet::now_ms);
        println!("fault: {case}: seed {seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn quiet_rules() -> Option<Value> {
    Some(json!([]))
}

fn daemon_pid(s: &Setup) -> u32 {
    s.daemon()["pid"].as_u64().unwrap() as u32
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// `ao start` under a soft and hard limit of `fds` open files.
fn start_with_fd_limit(s: &Setup, fds: u32) {
    let status = s
        .command("sh")
        .args(["-c", &format!("ulimit -n {fds} && exec \"$@\""), "sh"])
        .arg(ao_exe())
        .arg("--config")
        .arg(&s.config)
        .args(["start", "--no-orchestrator"])
        .status()
        .unwrap();
    assert!(status.success());
}

fn get(url: &str, token: Option<&str>) -> Option<(u16, Duration)> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    );
    let t = Instant::now();
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    req.call().ok().map(|r| (r.status().as_u16(), t.elapsed()))
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn fd_exhaustion() {
    let s = setup_with(Opts {
        rules: quiet_rules(),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    // The limit the report was made with: 1,024 descriptors, 1,100 idle connections.
    start_with_fd_limit(&s, 1024);
    wait_status(&s, "app-1", &["working", "idle"]);
    let port = s.daemon()["port"].as_u64().unwrap() as u16;
    let pid = daemon_pid(&s);
    let idle: Vec<std::net::TcpStream> = (0..1100)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    let token = s.dashboard_token();
    let (code, took) = get(
        &format!("http://127.0.0.1:{port}/api/sessions"),
        Some(&token),
    )
    .expect("the dashboard answered");
    assert_eq!(code, 200);
    let killed = Instant::now();
    sigkill_agent(&s);
    wait_status(&s, "app-1", &["killed"]);
    let seen = killed.elapsed();
    let fds_held = open_fds(pid);
    let log = s.daemon_log();
    assert!(!log.contains("Too many open files"), "{log}");
    drop(idle);
    println!(
        "fault: fd exhaustion: {} idle connections against a 1,024-descriptor daemon ({fds_held} fds open): the dashboard answered 200 in {} ms, the agent's death was seen {:.1} s after it, no \"Too many open files\": ok",
        1100,
        took.as_millis(),
        seen.as_secs_f64()
    );
    succeed(s.ao().args(["stop"]));
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn full_disk() {
    let s = setup_with(Opts {
        rules: quiet_rules(),
        ..Opts::default()
    });
    let data = s.sb.home.path().join(".agent-orchestrator");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs"])
        .arg(&data)
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        println!("fault: full disk: skipped: cannot mount a tmpfs here (needs root)");
        return;
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        succeed(s.ao().args(["spawn", "1"]));
        succeed(
            s.ao()
                .env("RUST_LOG", "debug")
                .args(["start", "--no-orchestrator"]),
        );
        wait_status(&s, "app-1", &["working", "idle"]);
        let port = s.daemon()["port"].as_u64().unwrap();
        // Fill the disk to the last byte.
        let filler = data.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
        drop(f);
        // The agent dies while nothing can be written: the engine must live through it.
        sigkill_agent(&s);
        std::thread::sleep(Duration::from_secs(8));
        let health = get(&format!("http://127.0.0.1:{port}/healthz"), None);
        assert_eq!(
            health.map(|h| h.0),
            Some(200),
            "the daemon stopped answering"
        );
        // Space comes back: what happened is recorded without anyone's help.
        std::fs::remove_file(&filler).unwrap();
        let freed = Instant::now();
        wait_status(&s, "app-1", &["killed"]);
        let recovered = freed.elapsed();
        let log = s.daemon_log();
        let panicked = log.contains("panicked");
        assert!(!panicked, "{log}");
        println!(
            "fault: full disk: the data dir (4 MB tmpfs) full for 8 s while the agent died: the daemon kept answering, no task died; once space was freed the death was recorded in {:.1} s: ok",
            recovered.as_secs_f64()
        );
        succeed(s.ao().args(["stop"]));
    }));
    let _ = Command::new("umount").arg("-l").arg(&data).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// What a spawn storm may leave, checked against the store: worktrees, `session/*` branches
/// and tmux sessions that no session owns, journals, reservations.
fn half_made(s: &Setup) -> Vec<String> {
    let Some(store) = try_store(s) else {
        return Vec::new();
    };
    let sessions: Vec<String> = std::fs::read_dir(store.join("sessions"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock") && !n.starts_with('.'))
        .collect();
    let mut out = Vec::new();
    for id in &sessions {
        let meta = std::fs::read_to_string(store.join("sessions").join(id)).unwrap_or_default();
        if meta.is_empty() {
            out.push(format!("reserved id {id}"));
        } else if !meta.contains("runtimeHandle=") {
            out.push(format!("session {id} without a runtime"));
        }
    }
    for e in std::fs::read_dir(store.join("worktrees"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let id = e.file_name().to_string_lossy().into_owned();
        if !sessions.contains(&id) {
            out.push(format!("worktree {id}"));
        }
    }
    for name in tmux_sessions(s).lines().filter(|l| !l.is_empty()) {
        if !sessions.iter().any(|id| name.ends_with(&format!("-{id}"))) {
            out.push(format!("tmux session {name}"));
        }
    }
    for e in std::fs::read_dir(store.join("spawning"))
        .into_iter()
        .flatten()
        .flatten()
    {
        out.push(format!("journal {}", e.file_name().to_string_lossy()));
    }
    out
}

/// `session/*` branches no session owns.
fn orphan_branches(s: &Setup) -> Vec<String> {
    let sessions: Vec<String> = try_store(s)
        .and_then(|st| std::fs::read_dir(st.join("sessions")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    git(
        &checkout(s),
        &["branch", "--list", "session/*", "--format=%(refname:short)"],
    )
    .lines()
    .filter(|b| !sessions.iter().any(|id| b.ends_with(&format!("/{id}"))))
    .map(String::from)
    .collect()
}

fn spawn_storm(sig: &str, spawns: usize) {
    let case = format!("SIG{sig} storm during spawns");
    let mut rng = Rng::new(&case);
    let s = setup_with(Opts {
        rules: quiet_rules(),
        ..Opts::default()
    });
    // Some time in every step: a post-create command, an agent that boots for a while.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&s.config).unwrap()).unwrap();
    config["projects"]["app"]["postCreate"] = json!([["sleep", "0.3"]]);
    config["projects"]["app"]["agentConfig"]["extraArgs"] = json!(["--boot-ms", "600"]);
    std::fs::write(&s.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let (mut completed, mut stopped) = (0, 0);
    for i in 0..spawns {
        let child = ao_child(&s, &["spawn", "--prompt", &format!("task {i}")]);
        std::thread::sleep(Duration::from_millis(rng.below(2500)));
        signal(&child, sig);
        match finish(child).0 {
            Some(0) => completed += 1,
            _ => stopped += 1,
        }
        if sig != "KILL" {
            // Ctrl-C/SIGTERM undo before ao exits: nothing is left, without any help.
            let left = half_made(&s);
            assert!(left.is_empty(), "after spawn {i}: {left:?}");
        }
    }
    let mut kept = 0;
    if sig == "KILL" {
        let out = succeed(s.ao().args(["session", "cleanup"]));
        let said = String::from_utf8_lossy(&out.stderr);
        kept = said.matches("kept: the spawn died while making it").count();
    }
    let left = half_made(&s);
    assert!(left.is_empty(), "{left:?}");
    let branches = orphan_branches(&s);
    assert_eq!(
        branches.len(),
        kept,
        "branches left and not reported: {branches:?}"
    );
    println!(
        "fault: {case}: {spawns} spawns, {completed} completed, {stopped} stopped part-way{}: 0 reserved ids, journals, worktrees or tmux sessions left, {} branch(es) left and named to the user: ok",
        if sig == "KILL" {
            " and undone by the next `ao session cleanup`"
        } else {
            " and undone before ao exited"
        },
        branches.len()
    );
    tmux(&s, &["kill-server"]);
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn sigkill_storm_during_spawns() {
    spawn_storm("KILL", 20);
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn sigint_storm_during_spawns() {
    spawn_storm("INT", 16);
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn sigterm_storm_during_spawns() {
    spawn_storm("TERM", 12);
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn sigkill_storm_during_writes() {
    let mut rng = Rng::new("SIGKILL storm during writes");
    let root = tempfile::tempdir().unwrap();
    let stress = target_dir().join("examples/store_stress");
    let root_s = root.path().display().to_string();
    let id = String::from_utf8(
        Command::new(&stress)
            .args(["reserve", &root_s, "app"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let file = root.path().join("sessions").join(&id);
    let (rounds, writers) = (60, 20);
    let mut checked = 0;
    for _ in 0..rounds {
        let kids: Vec<std::process::Child> = (0..writers)
            .map(|_| {
                Command::new(&stress)
                    .args(["rewrite", &root_s, &id, "100000"])
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(80)));
        for mut k in kids {
            let _ = k.kill();
            let _ = k.wait();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let whole = text.ends_with('\n') && text.contains("summary=rewrite ");
        assert!(whole, "a torn session file: {text:?}");
        checked += 1;
    }
    println!(
        "fault: SIGKILL storm during writes: {} writers of one session file SIGKILLed at random ({rounds} rounds): {checked} of {checked} reads found a whole file, 0 torn: ok",
        rounds * writers
    );
}

/// Reads one SSE stream until a `session.killed` event arrives; how long after `from`.
fn follow(
    port: u16,
    token: &str,
    from: std::sync::Arc<std::sync::OnceLock<Instant>>,
) -> Option<Duration> {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        conn,
        "GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .ok()?;
    for line in BufReader::new(conn).lines() {
        let line = line.ok()?;
        if line.starts_with("data:") && line.contains("session.killed") {
            return from.get().map(|t| t.elapsed());
        }
    }
    None
}

#[test]
#[ignore = "fault storm: scripts/faults/run"]
fn a_hundred_live_stream_clients() {
    let s = setup_with(Opts {
        rules: quiet_rules(),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    let port = s.daemon()["port"].as_u64().unwrap() as u16;
    let pid = daemon_pid(&s);
    let token = s.dashboard_token();
    let before = open_fds(pid);
    let from = std::sync::Arc::new(std::sync::OnceLock::new());
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let (token, from) = (token.clone(), from.clone());
            std::thread::spawn(move || follow(port, &token, from))
        })
        .collect();
    // All connected (each holds a descriptor in the daemon).
    assert!(
        wait_until(Duration::from_secs(20), || open_fds(pid) >= before + 100),
        "{} fds",
        open_fds(pid)
    );
    let during = open_fds(pid);
    let _ = from.set(Instant::now());
    sigkill_agent(&s);
    let got: Vec<Duration> = clients
        .into_iter()
        .filter_map(|c| c.join().ok().flatten())
        .collect();
    assert_eq!(got.len(), 100, "only {} clients got the event", got.len());
    let slowest = got.iter().max().unwrap();
    // The clients are gone: their descriptors are given back.
    let released = wait_until(Duration::from_secs(30), || open_fds(pid) <= before + 5);
    let after = open_fds(pid);
    assert!(
        released,
        "{after} fds open after the clients left ({before} before)"
    );
    assert_eq!(status_of(&s, "app-1"), "killed");
    println!(
        "fault: 100 live-stream clients: all 100 got the agent's death, the slowest {:.2} s after the kill (a tick included); daemon fds {before} → {during} → {after}: ok",
        slowest.as_secs_f64()
    );
    succeed(s.ao().args(["stop"]));
}

//! The engine under faults, as a user would meet them: the agent process dies, the tmux server
//! is killed, the forge answers 500 for a minute, the daemon is SIGKILLed mid-tick; and a CI
//! failure the agent never fixes escalates to a human. Same setup as the lifecycle test.

use crate::engine::*;
use crate::support::*;
use ao_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub(crate) fn tmux(s: &Setup, args: &[&str]) -> String {
    let out = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&s.socket)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn count(s: &Setup, kind: &str) -> usize {
    s.kinds().iter().filter(|k| *k == kind).count()
}

pub(crate) fn status_of(s: &Setup, id: &str) -> String {
    let out = succeed(s.ao().args(["status", "--json", "--include-terminated"]));
    let v = stdout_json(&out);
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .map(|x| x["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

fn daemon_pid(s: &Setup) -> i32 {
    s.daemon()["pid"].as_i64().unwrap() as i32
}

/// SIGKILLs the only agent on the setup's tmux server.
pub(crate) fn sigkill_agent(s: &Setup) {
    let pid: i32 = tmux(s, &["list-panes", "-a", "-F", "#{pane_pid}"])
        .parse()
        .unwrap();
    // SAFETY: a plain signal to the agent's process.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Notifications the inbox got, as (type, priority).
pub(crate) fn notified(inbox: &Receiver) -> Vec<(String, String)> {
    inbox
        .requests()
        .iter()
        .map(|r| {
            let v = r.json();
            (
                v["event"]["type"].as_str().unwrap_or("").to_string(),
                v["event"]["priority"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Waits until the session's status is one of `want`.
pub(crate) fn wait_status(s: &Setup, id: &str, want: &[&str]) {
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(30), || {
        last = status_of(s, id);
        want.contains(&last.as_str())
    });
    assert!(
        ok,
        "{id} is {last}, not one of {want:?}; events: {:?}",
        s.kinds()
    );
}

/// An agent that only acknowledges what it is told.
fn idle_rules() -> Option<Value> {
    Some(json!([]))
}

#[test]
fn a_dead_agent_is_reported_and_restore_resumes_its_conversation() {
    let inbox = Receiver::start();
    let s = setup_with(Opts {
        rules: idle_rules(),
        notify: Some(inbox.url("/inbox")),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);

    sigkill_agent(&s);
    s.wait_event("session.killed", 30);
    assert!(
        wait_until(Duration::from_secs(15), || notified(&inbox)
            .contains(&("session.killed".into(), "urgent".into()))),
        "the human was not told: {:?}",
        notified(&inbox)
    );
    assert_eq!(status_of(&s, "app-1"), "killed");

    // Restore brings the agent back with its conversation: it goes on numbering from it.
    succeed(s.ao().args(["session", "restore", "app-1"]));
    succeed(s.ao().args(["send", "app-1", "Are you back?"]));
    let said = s.said();
    let last = said.last().expect("a conversation");
    assert_eq!(last["text"], "Are you back?", "{said:?}");
    assert_eq!(last["n"], 2, "the conversation was not resumed: {said:?}");
    assert!(
        wait_until(Duration::from_secs(15), || status_of(&s, "app-1")
            != "killed"),
        "still killed after restore"
    );
    assert_eq!(count(&s, "session.killed"), 1, "{:?}", s.kinds());
}

#[test]
fn a_killed_tmux_server_ends_its_sessions_and_restore_starts_a_new_one() {
    let s = setup_with(Opts {
        rules: idle_rules(),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    wait_status(&s, "app-1", &["working", "idle"]);
    tmux(&s, &["kill-server"]);
    s.wait_event("session.killed", 30);
    assert_eq!(status_of(&s, "app-1"), "killed");
    // The daemon is still there and still answers.
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(
        unsafe { libc::kill(daemon_pid(&s), 0) },
        0,
        "the daemon died"
    );
    succeed(s.ao().args(["session", "restore", "app-1"]));
    assert!(
        !tmux(&s, &["list-sessions"]).is_empty(),
        "no tmux session after restore"
    );
    succeed(s.ao().args(["send", "app-1", "hello again"]));
}

#[test]
fn a_forge_answering_500_for_a_minute_changes_nothing_until_it_recovers() {
    let s = setup();
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let head = wait_new_head(&s, "");
    s.wait_event("pr.created", 30);
    assert!(
        wait_until(Duration::from_secs(15), || status_of(&s, "app-1")
            == "pr_open"),
        "status {}",
        status_of(&s, "app-1")
    );
    let before = s.kinds();

    // Every API request fails for a minute; meanwhile CI fails (the forge knows, ao cannot).
    s.sim.world().fail_next(u32::MAX);
    set_check(&s, &head, "failure", "boom\n");
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        assert_eq!(s.kinds(), before, "an event during the outage");
        assert_eq!(status_of(&s, "app-1"), "pr_open", "a false transition");
        std::thread::sleep(Duration::from_secs(2));
    }
    s.sim.world().fail_next(0);

    // Recovery: the failure is seen and sent, once.
    s.wait_event("ci.failing", 60);
    s.wait_event("ci.fix_sent", 60);
    assert_eq!(count(&s, "ci.failing"), 1, "{:?}", s.kinds());
    assert_eq!(count(&s, "ci.fix_sent"), 1, "{:?}", s.kinds());
}

#[test]
fn a_daemon_killed_mid_tick_picks_up_where_it_was_after_a_restart() {
    let s = setup();
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let first = wait_new_head(&s, "");
    set_check(&s, &first, "failure", "expected: hello\n     got: helo\n");
    s.wait_event("ci.failing", 60);
    // The reaction runs right after the event is logged: kill the daemon in the middle of it.
    // SAFETY: a plain signal to the daemon.
    unsafe { libc::kill(daemon_pid(&s), libc::SIGKILL) };
    s.start();

    // Nothing lost: the fix is asked for (again, at most once more), pushed, and seen.
    let second = wait_new_head(&s, &first);
    set_check(&s, &second, "success", "ok\n");
    s.wait_event("ci.passing", 60);
    let sent = count(&s, "ci.fix_sent");
    assert!(
        (1..=2).contains(&sent),
        "fix sent {sent} times: {:?}",
        s.kinds()
    );
    assert!(count(&s, "ci.failing") <= 2, "{:?}", s.kinds());
    assert_eq!(count(&s, "pr.created"), 1, "{:?}", s.kinds());
    let told = s.conversation().matches("CI failed").count();
    assert!((1..=2).contains(&told), "the agent was told {told} times");
}

#[test]
fn a_ci_failure_the_agent_never_fixes_escalates_to_an_urgent_notification() {
    let inbox = Receiver::start();
    let mut rules = standard_rules();
    // The agent looks at the failure and pushes nothing.
    rules[1]["steps"] = json!([{"say": "looking into it"}]);
    let s = setup_with(Opts {
        rules: Some(rules),
        reactions: Some(json!({"ci-failed": {"retries": 2}})),
        notify: Some(inbox.url("/inbox")),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let head = wait_new_head(&s, "");
    set_check(&s, &head, "failure", "FAILED greet_test\n");
    s.wait_event("reaction.escalated", 90);
    assert!(
        wait_until(Duration::from_secs(15), || notified(&inbox)
            .contains(&("reaction.escalated".into(), "urgent".into()))),
        "{:?}",
        notified(&inbox)
    );
    // Two attempts, then the human; then quiet.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&s, "ci.fix_sent"), 2, "{:?}", s.kinds());
    assert_eq!(count(&s, "reaction.escalated"), 1, "{:?}", s.kinds());
    let escalations = notified(&inbox)
        .iter()
        .filter(|(t, _)| t == "reaction.escalated")
        .count();
    assert_eq!(escalations, 1, "{:?}", notified(&inbox));
    let req = inbox
        .requests()
        .into_iter()
        .find(|r| r.json()["event"]["type"] == "reaction.escalated")
        .unwrap();
    let msg = req.json()["event"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("ci-failed"), "{msg}");
}

#[test]
fn a_hanging_notifier_delays_no_other_and_is_cut_off_at_its_timeout() {
    use ao_testkit::receiver::Reply;
    let fast = Receiver::start();
    let slow = Receiver::start();
    slow.push(Reply::status(200).delay(Duration::from_secs(30)));
    let s = setup_with(Opts {
        rules: Some(json!([{"when": "Work on issue #1", "steps": [{"ask": "Which one?"}]}])),
        extra: Some(json!({
            "notifiers": {
                "slow": {"plugin": "webhook", "url": slow.url("/hang"), "retries": 0, "timeoutMs": 30000},
                "fast": {"plugin": "webhook", "url": fast.url("/ok"), "retries": 0}
            },
            "defaults": {"notifiers": ["slow", "fast"]}
        })),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    s.wait_event("session.needs_input", 30);
    let asked = Instant::now();
    // The fast one hears at once, while the slow one hangs.
    fast.wait_for(1, Duration::from_secs(5));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        fast.requests()[0].json()["event"]["type"],
        "session.needs_input"
    );
    // The slow one is given up on at the host's timeout (10 s), and that is recorded.
    s.wait_event("notify.failed", 20);
    let failed = s
        .events()
        .into_iter()
        .find(|e| e["type"] == "notify.failed")
        .unwrap();
    assert!(
        failed["message"].as_str().unwrap().contains("slow"),
        "{failed}"
    );
}

/// A daemon whose log cannot be written (a full disk: its log is /dev/full) keeps polling:
/// an agent's death is still seen, and the daemon still answers.
#[test]
fn a_log_that_cannot_be_written_stops_no_engine_task() {
    let s = setup_with(Opts {
        rules: idle_rules(),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    let data = s.sb.home.path().join(".agent-orchestrator");
    let store = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with("-app"))
        .expect("the project's store");
    let hash = store.trim_end_matches("-app");
    std::os::unix::fs::symlink("/dev/full", data.join(format!("daemon-{hash}.log"))).unwrap();
    // Debug logging: every tick writes (and fails to).
    succeed(
        s.ao()
            .env("RUST_LOG", "debug")
            .args(["start", "--no-orchestrator"]),
    );
    wait_status(&s, "app-1", &["working", "idle"]);
    sigkill_agent(&s);
    wait_status(&s, "app-1", &["killed"]);
    let port = s.daemon()["port"].as_u64().unwrap();
    let health = ureq::get(&format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .map(|mut r| r.body_mut().read_to_string().unwrap_or_default());
    assert_eq!(health.ok().as_deref(), Some("ok"));
    succeed(s.ao().args(["stop"]));
}

/// Local users opening connections that send nothing cannot starve the daemon: with 256 file
/// descriptors in all, 300 idle connections leave the dashboard answering at once (at most a
/// quarter of the descriptors serve connections, and a new one pushes out the oldest that has
/// sent nothing) and the engine ticking (an agent's death is seen).
#[test]
fn idle_connections_starve_neither_the_dashboard_nor_the_engine() {
    let s = setup_with(Opts {
        rules: idle_rules(),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    // The daemon inherits a hard limit of 256 open files.
    let status = s
        .command("sh")
        .args(["-c", "ulimit -n 256 && exec \"$@\"", "sh"])
        .arg(crate::support::ao_exe())
        .arg("--config")
        .arg(&s.config)
        .args(["start", "--no-orchestrator"])
        .status()
        .unwrap();
    assert!(status.success());
    wait_status(&s, "app-1", &["working", "idle"]);
    let port = s.daemon()["port"].as_u64().unwrap() as u16;
    let idle: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() >= 250, "only {} connections opened", idle.len());
    let health = || {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(30)))
                .build(),
        );
        agent
            .get(&format!("http://127.0.0.1:{port}/healthz"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
    };
    let start = Instant::now();
    assert_eq!(health().as_deref(), Some("ok"));
    // Not behind them: the oldest silent connection makes room for a new one.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    sigkill_agent(&s);
    wait_status(&s, "app-1", &["killed"]);
    assert!(
        !s.daemon_log().contains("Too many open files"),
        "{}",
        s.daemon_log()
    );
    drop(idle);
    succeed(s.ao().args(["stop"]));
}

//! Benchmark body for `scripts/bench/dashboard`: the daemon (`ao start --foreground`) serving the
//! dashboard for a project with N stored sessions, the fleet page open in headless Chromium.
//! Measures the event → browser latency of the live stream (each event's `ts` is written just
//! before it is appended to `events.jsonl`; the page records `Date.now()` when the SSE message
//! arrives; same clock) over M events, and the daemon's RSS with the page loaded.
//! Arguments: config file, data dir (already filled by `store_fill`), sessions, events.
#![allow(clippy::print_stdout)]

#[allow(dead_code)] // plugin_dir is not used here
mod support;

use ao_testkit::browser::Browser;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (config, data) = (Path::new(&args[1]), Path::new(&args[2]));
    let sessions: usize = args[3].parse().unwrap();
    let events: usize = args[4].parse().unwrap();
    let home = data.parent().unwrap();
    let ao = support::target_dir().join("ao");
    let mut daemon = std::process::Command::new(&ao)
        .args(["start", "--foreground", "--no-orchestrator", "--config"])
        .arg(config)
        .env("HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let hash = ao::store::config_dir_hash(config);
    let info = data.join(format!("daemon-{hash}.json"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !info.is_file() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let port = v["port"].as_u64().unwrap();
    let token = std::fs::read_to_string(ao::dashboard::auth::token_file(data, &hash)).unwrap();

    let b = Browser::start();
    let t = Instant::now();
    b.goto(&format!("http://127.0.0.1:{port}/?token={}", token.trim()));
    b.wait(
        "every session on the page",
        &format!("return document.querySelectorAll('tr[id^=\"s-\"]').length === {sessions}"),
        Duration::from_secs(60),
    );
    let load = t.elapsed();
    b.wait(
        "the live stream",
        "return document.getElementById('live').textContent === 'live'",
        Duration::from_secs(20),
    );
    // Let the first tick's transitions settle.
    std::thread::sleep(Duration::from_secs(3));
    let (rss_loaded, _) = support::rss_mb(&daemon.id().to_string());

    let log = ao::store::ProjectStore::new(data, &hash, "app").events_file();
    for i in 0..events {
        let line = json!({
            "ts": ao::fleet::now_ms(), "type": "bench.ping", "priority": "info",
            "session": "app-1", "message": format!("ping {i}"),
        });
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&log)
            .unwrap();
        f.write_all(format!("{line}\n").as_bytes()).unwrap();
        drop(f);
        std::thread::sleep(Duration::from_millis(60));
    }
    b.wait(
        "every ping in the browser",
        &format!(
            "return (window.aoEvents || []).filter(e => e.event.type === 'bench.ping').length === {events}"
        ),
        Duration::from_secs(30),
    );
    let got = b.run(
        "return window.aoEvents.filter(e => e.event.type === 'bench.ping').map(e => e.received - e.event.ts)",
        json!([]),
    );
    let mut lat: Vec<f64> = got
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    lat.sort_by(f64::total_cmp);
    let (rss_after, hwm) = support::rss_mb(&daemon.id().to_string());
    println!(
        "dashboard with {sessions} sessions: fleet page loaded in {:.0} ms; daemon RSS {rss_loaded:.1} MB with the page open, {rss_after:.1} MB after {events} events (peak {hwm:.1} MB)",
        load.as_secs_f64() * 1000.0
    );
    println!(
        "event -> browser over {} events: median {:.0} ms (target < 50), p95 {:.0} ms, max {:.0} ms",
        lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() * 95 / 100],
        lat[lat.len() - 1]
    );
    // SAFETY: a signal to our own child, which stops cleanly on SIGTERM.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    let _ = daemon.wait();
}

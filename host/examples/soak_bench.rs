//! Benchmark body for `scripts/bench/soak`: the real daemon (`ao start --foreground`) watching
//! N sessions (default 1,000: tmux, hooks, a PR each on the forge simulator in its own process)
//! for a while (default 1 h), its agents' activity moving every poll interval so each tick
//! does real work. Samples the daemon's RSS every few seconds and prints the curve (one line a
//! minute), then the figures that say whether memory plateaus: the peak, the peak of the first
//! and of the last quarter, and the growth between them. Target: a plateau at <= 40 MB.
//! Arguments: sessions (1000), length (1h; `10m`, `90s`), poll interval (10s).
#![allow(clippy::print_stdout)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let arg = |i: usize| std::env::args().nth(i);
    let n: usize = arg(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let length = arg(2)
        .map(|s| humantime::parse_duration(&s).expect("length, e.g. 1h or 10m"))
        .unwrap_or(Duration::from_secs(3600));
    let poll = arg(3).unwrap_or_else(|| "10s".into());
    let every = humantime::parse_duration(&poll).expect("poll interval, e.g. 10s");

    let home = tempfile::tempdir().unwrap();
    let data = home.path().join(".agent-orchestrator");
    let setup = Instant::now();
    let bench = support::fleet::build(
        n,
        &data,
        serde_json::json!({"pollInterval": poll, "port": 0}),
    );
    // The daemon opens the store itself; the bench keeps only what moves the agents.
    println!(
        "soak: the daemon over {n} sessions for {} (poll every {poll}; setup {:.1}s)",
        humantime::format_duration(length),
        setup.elapsed().as_secs_f64()
    );
    let log = home.path().join("daemon.out");
    let mut daemon = Command::new(support::target_dir().join("ao"))
        .args(["start", "--foreground", "--no-orchestrator", "--config"])
        .arg(&bench.config_file)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AO_NO_DEFAULT_PLUGINS", "1")
        .env("AO_PLUGIN_PATH", bench.plugins.path())
        .env("BENCH_FORGE_TOKEN", &bench.forge_token)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .expect("target/release/ao");
    let pid = daemon.id().to_string();

    let start = Instant::now();
    let sample_every = Duration::from_secs(5).min(every);
    let (mut samples, mut round) = (Vec::<(f64, f64)>::new(), 0usize);
    let mut next_move = start + every;
    let mut next_print = start;
    while start.elapsed() < length {
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!(
                "the daemon exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if Instant::now() >= next_move {
            round += 1;
            bench.move_all(round);
            next_move += every;
        }
        let (rss, _) = support::rss_mb(&pid);
        let t = start.elapsed().as_secs_f64();
        samples.push((t, rss));
        if Instant::now() >= next_print {
            println!(
                "  t={:>5.0}s  RSS {rss:5.1} MB  daemon CPU {:7.1} s",
                t,
                support::proc_cpu_ms(&pid) / 1000.0
            );
            next_print += Duration::from_secs(60);
        }
        std::thread::sleep(sample_every);
    }
    let (_, peak_ever) = support::rss_mb(&pid);
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = daemon.wait();

    // (median, peak) of a stretch: the median is the level between ticks (a tick holds its
    // working set for about a second of every poll), the peak a tick's top.
    let quarter = |from: f64, to: f64| {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, r)| *r)
            .collect();
        v.sort_by(f64::total_cmp);
        (
            v.get(v.len() / 2).copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
        )
    };
    let total = start.elapsed().as_secs_f64();
    // The first quarter after the first minute (the first ticks read every PR).
    let (first, first_peak) = quarter(60.0, total / 4.0);
    let (last, last_peak) = quarter(total * 3.0 / 4.0, total);
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    let hours = (total * 0.75 / 3600.0).max(1e-9);
    println!(
        "RSS over {:.0} s ({} samples, {round} activity rounds): between ticks (median) {first:.1} MB in the first quarter, {last:.1} MB in the last: growth {:+.1} MB ({:+.1} MB/h); tick peaks {first_peak:.1} → {last_peak:.1} MB, highest {peak:.1} MB (kernel high-water mark {peak_ever:.1} MB). Target: a plateau at <= 40 MB.",
        total,
        samples.len(),
        last - first,
        (last - first) / hours
    );
}

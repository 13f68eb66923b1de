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

use ao::lifecycle::tick::tick;
use std::time::Instant;

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
    let data = tempfile::tempdir().unwrap();
    let setup = Instant::now();
    let bench = support::fleet::build(n, data.path(), serde_json::json!({}));
    println!(
        "tick over {n} sessions (tmux + hooks + a PR each; setup {:.1}s)",
        setup.elapsed().as_secs_f64()
    );
    let (fleet, rt) = (&bench.fleet, &bench.rt);
    let server = bench.tmux_pid();
    let measure = |label: &str| {
        let tmux0 = support::proc_cpu_ms(&server);
        // This tick's own peak: the kernel's high-water mark starts again from the RSS now.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let (before, _) = support::rss_mb("self");
        let (self0, child0) = cpu();
        let t = Instant::now();
        let report = rt.block_on(tick(fleet, "app")).unwrap();
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        let (self1, child1) = cpu();
        let (now_rss, hwm) = support::rss_mb("self");
        assert_eq!(report.checked, n, "{:?}", report.errors);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let tmux = support::proc_cpu_ms(&server) - tmux0;
        println!(
            "  {label:<8} wall {wall:7.1} ms  host CPU {:6.1} ms  children CPU {:6.1} ms  tmux server CPU {tmux:6.1} ms  RSS {before:5.1} -> peak {hwm:5.1} -> {now_rss:5.1} MB  transitions {}",
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
                bench.move_all(i);
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
}

//! Prints how long reading a 100 MB Claude Code transcript takes: the tail-only reads
//! (activity; session info once totals are known) and the first full cost pass, with the
//! process's peak memory before and after. Run by `scripts/bench/transcript-tail`.

use ao_plugin_agent_claude_code::{ClaudeCode, Config};
use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::agent::{ActivityRequest, Agent, SessionInfoRequest};
use std::io::Write;
use std::time::Instant;

const ID: &str = "0b4c2a53-8f0e-4a8e-9f55-1f8a9b0c7d21";

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[allow(clippy::print_stdout)]
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("work/app");
    std::fs::create_dir_all(&ws).unwrap();
    let slug: String = ws
        .display()
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let tdir = dir.path().join("claude/projects").join(slug);
    std::fs::create_dir_all(&tdir).unwrap();
    let path = tdir.join(format!("{ID}.jsonl"));
    let fixture = include_str!("../tests/fixtures/transcript.jsonl");
    let lines: Vec<&str> = fixture.lines().skip(1).collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (mut written, mut n) = (0usize, 0u64);
    while written < 100 * 1024 * 1024 {
        for l in &lines {
            let l = l
                .replace("msg_01AbCdEf", &format!("msg_a{n}"))
                .replace("msg_01GhIjKl", &format!("msg_b{n}"));
            writeln!(f, "{l}").unwrap();
            written += l.len() + 1;
        }
        n += 1;
    }
    f.flush().unwrap();
    drop(f);
    let size_mb = std::fs::metadata(&path).unwrap().len() as f64 / 1048576.0;
    let agent = ClaudeCode::new(
        Config {
            config_dir: Some(dir.path().join("claude").display().to_string()),
            ..Config::default()
        },
        &TestHost::new().handle(),
    )
    .unwrap();
    let req = ActivityRequest {
        inside: None,
        session_id: "app-1".into(),
        workspace_path: ws.display().to_string(),
        status_tail: None,
        status_file: None,
        agent_session_id: Some(ID.into()),
        screen: None,
        screen_at_ms: None,
        created_at_ms: None,
        process_running: Some(true),
        idle_threshold_ms: None,
        now_ms: None,
    };
    let rss0 = peak_rss_kib();
    let mut act = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        agent
            .activity(&Ctx::detached(), req.clone())
            .unwrap()
            .unwrap();
        act.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let rss_tail = peak_rss_kib();
    let info = SessionInfoRequest {
        inside: None,
        session_id: "app-1".into(),
        workspace_path: ws.display().to_string(),
        agent_session_id: Some(ID.into()),
        status_tail: None,
        status_file: None,
        created_at_ms: None,
    };
    let t = Instant::now();
    let first = agent.session_info(&Ctx::detached(), info.clone()).unwrap();
    let full_ms = t.elapsed().as_secs_f64() * 1000.0;
    let rss_full = peak_rss_kib();
    let mut again = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        agent.session_info(&Ctx::detached(), info.clone()).unwrap();
        again.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("transcript: {size_mb:.0} MB, {} messages", n * 2);
    println!(
        "activity (tail only):          median {:.3} ms over 50",
        median(act)
    );
    println!(
        "session info, first (full cost pass): {full_ms:.1} ms ({:.0} MB/s)",
        size_mb / full_ms * 1000.0
    );
    println!(
        "session info, next (tail + new bytes): median {:.3} ms over 50",
        median(again)
    );
    println!(
        "output tokens counted: {}",
        first.cost.unwrap().output_tokens
    );
    println!(
        "peak RSS: {rss0} KiB before, {rss_tail} KiB after tail reads, {rss_full} KiB after the full pass"
    );
}

//! Prints how long `ao hook` takes, process start to exit, as an agent's hook runs it (median
//! and p95 over 200 runs). Run by `scripts/bench/hook`.

#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::Instant;

#[allow(clippy::print_stdout)]
fn main() {
    let ao = support::target_dir().join("ao");
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.jsonl");
    let payload = r#"{"session_id":"0b4c2a53-8f0e-4a8e-9f55-1f8a9b0c7d21","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npm test"}}"#;
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut child = Command::new(&ao)
            .args([
                "hook",
                "--agent",
                "claude-code",
                "--state",
                "active",
                "--stdin",
                "--status-file",
            ])
            .arg(&status)
            .arg("PreToolUse")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let lines = std::fs::read_to_string(&status).unwrap().lines().count();
    println!(
        "ao hook ({}): median {:.2} ms, p95 {:.2} ms over 200 runs; {lines} records appended",
        ao.display(),
        times[100],
        times[190]
    );
}

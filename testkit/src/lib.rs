//! Test doubles that behave like the real services `ao` talks to, on 127.0.0.1.
//!
//! - [`receiver`]: an HTTP endpoint that records every request and answers from a script
//!   (webhook, Slack, Discord receivers);
//! - `fixtures/`: cdylib plugins that misbehave on purpose, for the host's loader tests;
//! - `ao-scripted-agent` (a binary): a terminal program that behaves like an AI coding CLI
//!   (raw mode, bracketed paste, status-file hooks), for runtime delivery tests;
//! - [`forge`]: a stateful GitHub (REST, GraphQL, git-backed PRs, rate limits) and its
//!   binary `ao-forge-sim`;
//! - [`browser`]: headless Chromium through ChromeDriver (WebDriver), for the dashboard;
//! - [`demo`]: the world `ao demo` runs in (a repository, CI, a reviewer, the agents' playbook);
//! - [`model`]: a model server (Anthropic Messages, OpenAI Responses and Chat Completions)
//!   scripted by `@sim` lines in prompts, for the real agent CLIs, and its binary `ao-model-sim`;
//! - [`git`]: throwaway repositories with a bare "origin", for workspace tests.

pub mod bench;
pub mod browser;
pub mod demo;
pub mod docker;
pub mod forge;
pub mod git;
pub mod git_http;
pub mod kube;
pub mod model;
pub mod playbook;
pub mod receiver;
pub mod screens;
pub mod serve;
pub mod tls;

/// A binary built from this crate (`ao-scripted-agent`), found beside the running test (or example) binary
/// in cargo's target dir. The README's test command builds every target first.
pub fn bin_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    // Tests run from `deps/`, benchmarks from `examples/`.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace --all-targets` first",
        p.display()
    );
    p
}

/// The argv of `ao-scripted-agent` logging received messages to `log`, reporting through the
/// status file `status` when given, working 20 ms per message, plus `extra` flags.
pub fn scripted_agent_argv(
    log: &std::path::Path,
    status: Option<&std::path::Path>,
    extra: &[&str],
) -> Vec<String> {
    let mut argv = vec![
        bin_path("ao-scripted-agent").display().to_string(),
        "--log".into(),
        log.display().to_string(),
        "--work-ms".into(),
        "20".into(),
    ];
    if let Some(s) = status {
        argv.extend(["--status-file".into(), s.display().to_string()]);
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv
}

/// The messages an `ao-scripted-agent` logged to `log`, in order.
pub fn scripted_agent_received(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

/// Polls `cond` every 20 ms until it holds; panics naming `what` after 10 s.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

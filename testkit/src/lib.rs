//! Test doubles that behave like the real services `ao` talks to, on 127.0.0.1.
//!
//! - [`receiver`]: an HTTP endpoint that records every request and answers from a script
//!   (webhook, Slack, Discord receivers);
//! - `fixtures/`: cdylib plugins that misbehave on purpose, for the host's loader tests;
//! - `ao-scripted-agent` (a binary): a terminal program that behaves like an AI coding CLI
//!   (raw mode, bracketed paste, status-file hooks), for runtime delivery tests;
//! - [`git`]: throwaway repositories with a bare "origin", for workspace tests.

pub mod git;
pub mod receiver;

/// A binary built from this crate (`ao-scripted-agent`), found beside the running test binary
/// in cargo's target dir. The README's test command builds every target first.
pub fn bin_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
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

//! Reading Claude Code's screen: the weakest signal, used when hooks are missing or late.
//! Only conclusive screens get an answer; anything else is `None`, never a guess of "active".

use ao_plugin_api::sdk::agent::{any_contains, last_lines};
use ao_plugin_api::slots::agent::ActivityState;

/// Dialogs that wait for the human: tool permissions, edits, workspace trust.
const WAITING: &[&str] = &[
    "do you want to proceed?",
    "do you want to make this edit",
    "do you want to create",
    "do you want to allow",
    "do you trust the files in this folder",
    "yes, and don't ask again",
    "yes, proceed",
];
/// The status line while a turn runs.
const WORKING: &[&str] = &["esc to interrupt", "ctrl+c to interrupt"];

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    let tail = last_lines(screen, 15);
    if tail.is_empty() {
        return None;
    }
    if any_contains(&tail, WAITING) {
        return Some(ActivityState::WaitingInput);
    }
    if any_contains(&tail, WORKING) {
        return Some(ActivityState::Active);
    }
    // The input box's prompt with nothing running above it.
    let prompt = tail.iter().any(|l| {
        let t = l.trim_start_matches(['│', '|', ' ']).trim_start();
        t.starts_with('>') || t.starts_with('❯')
    });
    prompt.then_some(ActivityState::Ready)
}

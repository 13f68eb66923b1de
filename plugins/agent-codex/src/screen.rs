//! Reading Codex's screen. Approval prompts reach no hook, so the screen is how they are seen.

use ao_plugin_api::sdk::agent::{any_contains, last_lines};
use ao_plugin_api::slots::agent::ActivityState;

const WAITING: &[&str] = &[
    "would you like to run the following command",
    "would you like to make the following edits",
    "allow command?",
    "approval required",
    "yes, proceed",
    "press enter to confirm",
];
const WORKING: &[&str] = &["esc to interrupt"];

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    let tail = last_lines(screen, 15);
    if any_contains(&tail, WAITING) {
        return Some(ActivityState::WaitingInput);
    }
    if any_contains(&tail, WORKING) {
        return Some(ActivityState::Active);
    }
    // The composer (`›`) and its footer, with nothing running.
    let prompt = tail.iter().any(|l| l.trim_start().starts_with('›'));
    (prompt && any_contains(&tail, &["to send", "for shortcuts", "context left"]))
        .then_some(ActivityState::Ready)
}

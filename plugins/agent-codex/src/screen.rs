//! Codex's screen grammar. Approval prompts reach no hook and no notify (the title turn's
//! notify can even read like a finished turn while one waits), so the screen is how they are
//! seen; delivery reads the same grammar to refuse while one is up (a bare Enter approves).

use ao_plugin_api::sdk::agent::screen::{self, Seen};
use ao_plugin_api::slots::agent::{ActivityState, DialogRule, ScreenRules};

/// The grammar (0.169.0 and 0.171.0 texts).
pub(crate) fn rules() -> ScreenRules {
    ScreenRules {
        dialogs: vec![
            DialogRule::new(
                "Would you like to run the following command",
                "permission",
                "letter",
            ),
            DialogRule::new(
                "Would you like to make the following edits",
                "permission",
                "letter",
            ),
            DialogRule::new("Trust this folder?", "trust", "select_enter"),
            // A digit only moves the selection here ("enter confirm"; seen on 0.171.0).
            DialogRule::new("Hooks need review", "hooks", "select_enter"),
            DialogRule::new("Allow command?", "permission", "letter"),
            DialogRule::new("Approval required", "permission", "letter"),
        ],
        working: vec!["esc to interrupt".into()],
        errors: vec!["unexpected status".into(), "stream error".into()],
        message_prefixes: vec!["• ".into(), "■ ".into()],
        prompt_prefixes: vec!["›".into()],
        ready: Vec::new(),
        tail: 30,
        prompt_within: 5,
    }
}

/// What a capture shows, with the dialog's question or the error line.
pub(crate) fn classify(screen: &str) -> Option<Seen> {
    screen::classify(screen, &rules())
}

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    classify(screen).map(|s| s.state)
}

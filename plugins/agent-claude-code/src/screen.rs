//! Claude Code's screen grammar (texts checked against the real 2.1.332 in tmux; 2.1.197's
//! kept): the dialogs that wait for the human, the running turn, an API error as the newest
//! entry, and the `❯` input box. The detector and every runtime's delivery read it through
//! `sdk::agent::screen`.

use ao_plugin_api::sdk::agent::screen::{self, Seen};
use ao_plugin_api::slots::agent::{ActivityState, DialogRule, ScreenRules};

/// The grammar.
pub(crate) fn rules() -> ScreenRules {
    ScreenRules {
        dialogs: vec![
            // Folder trust: 2.1.332 selects "No, exit" first; 2.1.197 "1. Yes, I trust".
            DialogRule::new("Yes, I trust this folder", "trust", "select_enter"),
            DialogRule::new("Do you trust the files in this folder", "trust", "digit"),
            // 2.1.332: "Yes" / "❯ No (recommended)", unnumbered (2.1.197 numbered them).
            DialogRule::new("Detected a custom API key", "api_key", "select_enter"),
            DialogRule::new("Bypass Permissions mode", "bypass", "digit"),
            DialogRule::new("Make auto mode your default", "modal", "digit"),
            // Tool permissions: Bash, Write, Edit, MCP tools, web fetches.
            DialogRule::new("Do you want to proceed?", "permission", "digit"),
            DialogRule::new("Do you want to create", "permission", "digit"),
            DialogRule::new("Do you want to make this edit", "permission", "digit"),
            DialogRule::new("Do you want to allow", "permission", "digit"),
        ],
        working: vec!["esc to interrupt".into(), "ctrl+c to interrupt".into()],
        errors: vec![
            "API Error:".into(),
            "Failed to authenticate".into(),
            "Credit balance is too low".into(),
            "Please run /login".into(),
        ],
        message_prefixes: vec!["● ".into(), "✻ ".into()],
        prompt_prefixes: vec!["❯".into(), ">".into()],
        ready: Vec::new(),
        tail: 40,
        prompt_within: 6,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from Claude Code 2.1.332 in tmux against the model simulator.
    const PERMISSION: &str = " ▐▛███▛█   Claude Code v2.1.332\n❯ Please do it.\n  Running a command the task asks for\n  ⎿  $ echo hi > perm.txt\n────────────────────────\n Bash command\n Tip: auto mode handles these prompts for you — choose \"switch to auto mode\" below\n Run a command the task asks for\n╌╌╌╌╌╌╌╌╌╌╌╌\n echo hi > perm.txt\n╌╌╌╌╌╌╌╌╌╌╌╌\n Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and always allow access to /tmp/cc/ws from this project\n   3. Yes, and switch to auto mode · auto mode handles these prompts for you\n   4. No\n Esc to cancel · Tab to amend\n";
    const ERROR: &str = "✻ Worked for 0s · done 8:37 PM\n❯ Now fail.\n  @sim error 529\n● API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment.\n  (127.0.0.1:44775).\n     tmux focus-events off\n────────────────────────\n❯ Resend your message to try again\n────────────────────────\n  ⏸ manual mode on · ? for shortcuts\n";
    const IDLE: &str = " ▐▛███▛█   Claude Code v2.1.332\n▝▜██████▀  Opus 5.5 · API Usage Billing\n────────────────────────\n❯ \n────────────────────────\n  ⏸ manual mode on · ? for shortcuts · ← for agents\n";

    #[test]
    fn real_screens() {
        let seen = classify(PERMISSION).unwrap();
        assert_eq!(seen.state, ActivityState::WaitingInput);
        let d = seen.dialog.unwrap();
        assert_eq!(
            d.question,
            "Bash command · Run a command the task asks for · echo hi > perm.txt · Do you want to proceed?"
        );
        assert_eq!(d.options.len(), 4);
        let seen = classify(ERROR).unwrap();
        assert_eq!(seen.state, ActivityState::Blocked);
        assert!(
            seen.detail
                .unwrap()
                .starts_with("API Error: 529 Overloaded")
        );
        assert_eq!(detect(IDLE), Some(ActivityState::Ready));
    }
}

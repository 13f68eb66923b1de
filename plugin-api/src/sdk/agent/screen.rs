//! Reading an agent's screen with its [`ScreenRules`]: which state it shows, the dialog on it
//! (question, options, fingerprint), and the input line. One implementation for every agent's
//! detector and for every runtime's delivery, so "what counts as a dialog" is decided once.

use crate::slots::agent::{ActivityState, Dialog, ScreenRules};

/// What a screen shows, when it shows something conclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// The state.
    pub state: ActivityState,
    /// The dialog's question, or the error line.
    pub detail: Option<String>,
    /// The dialog, when `state` is `WaitingInput`.
    pub dialog: Option<Dialog>,
}

impl From<ActivityState> for Seen {
    /// A bare state from a detector that has no grammar.
    fn from(state: ActivityState) -> Self {
        Self {
            state,
            detail: None,
            dialog: None,
        }
    }
}

/// Lines that only draw: rules, box edges, blank.
fn decorative(line: &str) -> bool {
    line.trim()
        .chars()
        .all(|c| c.is_whitespace() || "─━═╌┄┈-│|╭╮╰╯┌┐└┘▔▁".contains(c))
}

fn tail_lines<'a>(screen: &'a str, rules: &ScreenRules) -> Vec<&'a str> {
    let n = if rules.tail == 0 {
        25
    } else {
        rules.tail as usize
    };
    super::last_lines(screen, n)
}

fn contains_ci(line: &str, needle: &str) -> bool {
    line.to_lowercase().contains(&needle.to_lowercase())
}

/// The content of a line after a box border and an optional selection mark.
fn strip_border(line: &str) -> &str {
    line.trim_start_matches(['│', '|', ' ', '\u{a0}'])
}

/// `Some((number, label))` for an option line (`❯ 1. Yes`, `  2. No, exit`, `› 3. No (esc)`).
fn option(line: &str) -> Option<(u32, &str)> {
    let t = strip_border(line).trim_start_matches(['❯', '›', '>', ' ']);
    let (num, rest) = t.split_once(". ")?;
    let n: u32 = num.parse().ok()?;
    (n > 0 && n < 20).then_some((n, rest.trim()))
}

/// Options numbered `1. …`, `2. …` in order: the index of the first and their labels.
fn numbered(block: &[&str]) -> Option<(usize, Vec<String>)> {
    let mut first = None;
    let mut options = Vec::new();
    for (i, line) in block.iter().enumerate() {
        if let Some((n, label)) = option(line)
            && options.len() + 1 == n as usize
        {
            first.get_or_insert(i);
            options.push(format!("{n}. {label}"));
        }
    }
    Some((first?, options))
}

/// Options without numbers, one of them marked as selected (`❯ No, exit` above
/// `  Yes, I trust this folder`): the lines aligned with the selected one's text, numbered
/// here from 1 in screen order.
fn selection(block: &[&str]) -> Option<(usize, Vec<String>)> {
    let marked = |l: &str| {
        let t = strip_border(l);
        t.starts_with('❯') || t.starts_with('›')
    };
    let indent = |l: &str| {
        l.chars()
            .take_while(|c| c.is_whitespace() || *c == '│')
            .count()
    };
    let sel = block.iter().position(|l| marked(l))?;
    let text_col = indent(block[sel]) + 2;
    let aligned = |l: &str| !l.trim().is_empty() && (marked(l) || indent(l) == text_col);
    let mut first = sel;
    while first > 0 && aligned(block[first - 1]) {
        first -= 1;
    }
    let options = block[first..]
        .iter()
        .take_while(|l| aligned(l))
        .enumerate()
        .map(|(i, l)| {
            let label = strip_border(l).trim_start_matches(['❯', '›']).trim();
            format!("{}. {label}", i + 1)
        })
        .collect();
    Some((first, options))
}

/// The dialog on `screen`, if one of the rules' markers is in its tail.
pub fn dialog(screen: &str, rules: &ScreenRules) -> Option<Dialog> {
    let tail = tail_lines(screen, rules);
    let (rule, at) = rules.dialogs.iter().find_map(|r| {
        tail.iter()
            .rposition(|l| contains_ci(l, &r.marker))
            .map(|i| (r, i))
    })?;
    // The dialog's block: back from the marker to the nearest drawn rule above it (a dialog
    // in its own panel, like Claude's), else from the marker line itself (Codex draws none,
    // and the conversation above scrolls: it must not move the fingerprint); forward to the
    // end of the screen.
    let start = tail[..at]
        .iter()
        .rposition(|l| {
            let t = l.trim();
            t.chars().count() >= 8 && t.chars().all(|c| "─━═".contains(c))
        })
        .map_or(at, |i| i + 1);
    let block = &tail[start..];
    let declared = || {
        let i = block.iter().position(|l| {
            !rule.options.is_empty() && rule.options.iter().all(|o| l.contains(o.as_str()))
        })?;
        Some((
            i,
            rule.options
                .iter()
                .enumerate()
                .map(|(n, o)| format!("{}. {o}", n + 1))
                .collect(),
        ))
    };
    let (first_option, options) = match numbered(block).or_else(declared) {
        Some(found) => found,
        None => selection(block).unwrap_or((block.len(), Vec::new())),
    };
    // The marked option: numbered lines say their number; unnumbered ones count from the first.
    let marked = |l: &str| {
        let t = strip_border(l);
        t.starts_with('❯') || t.starts_with('›')
    };
    let selected = block[first_option.min(block.len())..]
        .iter()
        .find(|l| marked(l))
        .and_then(|l| option(l).map(|(n, _)| n))
        .or_else(|| {
            let i = block[first_option.min(block.len())..]
                .iter()
                .take(options.len())
                .position(|l| marked(l))?;
            Some(i as u32 + 1)
        })
        .filter(|n| (*n as usize) <= options.len());
    // Footers and tips are not the question.
    let noise = [
        "esc to cancel",
        "enter to confirm",
        "press enter",
        "tip:",
        "tab to amend",
    ];
    let question: Vec<&str> = block[..first_option]
        .iter()
        .filter(|l| !decorative(l))
        .map(|l| l.trim())
        .filter(|t| !noise.iter().any(|n| contains_ci(t, n)))
        .collect();
    let question = super::one_line(&question.join(" · "), 400);
    let fingerprint = fingerprint(&question, &options);
    Some(Dialog {
        kind: rule.kind.clone(),
        question,
        options,
        answer: rule.answer.clone(),
        fingerprint,
        selected,
    })
}

/// Eight hex digits of FNV-1a over the question and options: stable across captures of the
/// same dialog, different for another one.
pub fn fingerprint(question: &str, options: &[String]) -> String {
    format!(
        "{:08x}",
        fnv1a(question.bytes().chain(options.join("\n").bytes()))
    )
}

/// 32-bit FNV-1a: a cheap, stable hash for telling screens and dialogs apart (not secure).
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The newest conversation entry is an error: the error line, else `None`.
fn error(tail: &[&str], rules: &ScreenRules) -> Option<String> {
    if rules.errors.is_empty() {
        return None;
    }
    let is_entry = |l: &str| {
        let t = l.trim_start();
        rules
            .message_prefixes
            .iter()
            .any(|p| t.starts_with(p.as_str()))
    };
    let candidates: Vec<&&str> = if rules.message_prefixes.is_empty() {
        tail.iter().rev().take(6).collect()
    } else {
        tail.iter()
            .rev()
            .find(|l| is_entry(l))
            .into_iter()
            .collect()
    };
    candidates
        .into_iter()
        .find(|l| rules.errors.iter().any(|e| contains_ci(l, e)))
        .map(|l| super::one_line(l.trim().trim_start_matches(decoration), 300))
}

/// What a CLI draws before an entry's text: bullets, and spinner frames (block elements,
/// braille) that a capture can catch still on the error line (Aider's `░litellm.APIError`).
fn decoration(c: char) -> bool {
    matches!(c, '●' | '■' | '•' | '⎿' | ' ')
        || ('\u{2580}'..='\u{259f}').contains(&c)
        || ('\u{2800}'..='\u{28ff}').contains(&c)
}

/// The text after the prompt on the input line (the lowest line starting with one of the
/// rules' prompt prefixes), `None` when no input line is visible.
pub fn input_line(screen: &str, rules: &ScreenRules) -> Option<String> {
    let tail = tail_lines(screen, rules);
    tail.iter().rev().find_map(|l| {
        let t = strip_border(l);
        rules
            .prompt_prefixes
            .iter()
            .find_map(|p| t.strip_prefix(p.as_str()))
            .map(|rest| rest.trim().to_owned())
    })
}

/// Whether the agent shows its input line ready for text: no dialog, no turn running, and the
/// prompt visible (near the bottom when `prompt_within` says so). An agent still starting
/// (Aider importing for seconds) shows none: text typed then reaches the terminal, not it.
pub fn accepts_input(screen: &str, rules: &ScreenRules) -> bool {
    match classify(screen, rules) {
        Some(Seen {
            state: ActivityState::Ready,
            ..
        }) => true,
        // After an API error the input line is there again.
        Some(Seen {
            state: ActivityState::Blocked,
            ..
        }) => input_line(screen, rules).is_some(),
        _ => false,
    }
}

/// What `screen` shows under `rules`: a dialog, then an error as the newest entry, then work,
/// then the input prompt; `None` for anything else.
pub fn classify(screen: &str, rules: &ScreenRules) -> Option<Seen> {
    let tail = tail_lines(screen, rules);
    if tail.is_empty() {
        return None;
    }
    if let Some(d) = dialog(screen, rules) {
        return Some(Seen {
            state: ActivityState::WaitingInput,
            detail: Some(format!("{}: {}", d.kind, d.question)),
            dialog: Some(d),
        });
    }
    if tail
        .iter()
        .any(|l| rules.working.iter().any(|w| contains_ci(l, w)))
    {
        return Some(Seen {
            state: ActivityState::Active,
            detail: None,
            dialog: None,
        });
    }
    if let Some(e) = error(&tail, rules) {
        return Some(Seen {
            state: ActivityState::Blocked,
            detail: Some(e),
            dialog: None,
        });
    }
    if tail
        .iter()
        .any(|l| rules.ready.iter().any(|r| contains_ci(l, r)))
    {
        return Some(Seen {
            state: ActivityState::Ready,
            detail: None,
            dialog: None,
        });
    }
    let near = if rules.prompt_within == 0 {
        screen
    } else {
        let lines = super::last_lines(screen, rules.prompt_within as usize);
        return lines
            .iter()
            .any(|l| {
                let t = strip_border(l);
                rules
                    .prompt_prefixes
                    .iter()
                    .any(|p| t.starts_with(p.as_str()))
            })
            .then_some(Seen {
                state: ActivityState::Ready,
                detail: None,
                dialog: None,
            });
    };
    input_line(near, rules).map(|_| Seen {
        state: ActivityState::Ready,
        detail: None,
        dialog: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::agent::DialogRule;

    fn rules() -> ScreenRules {
        ScreenRules {
            dialogs: vec![DialogRule {
                marker: "Do you want to proceed?".into(),
                kind: "permission".into(),
                answer: "digit".into(),
                options: Vec::new(),
            }],
            working: vec!["esc to interrupt".into()],
            errors: vec!["API Error:".into()],
            message_prefixes: vec!["● ".into(), "✻ ".into()],
            prompt_prefixes: vec!["❯".into()],
            ready: Vec::new(),
            tail: 30,
            prompt_within: 0,
        }
    }

    const PERMISSION: &str = "❯ Please do it.\n  Running a command\n  ⎿  $ echo hi > perm.txt\n\
        ────────────────\n Bash command\n Tip: auto mode handles these prompts for you\n \
        Run a command the task asks for\n╌╌╌╌╌╌╌╌╌╌\n echo hi > perm.txt\n╌╌╌╌╌╌╌╌╌╌\n \
        Do you want to proceed?\n ❯ 1. Yes\n   2. Yes, and always allow access\n   3. No\n \
        Esc to cancel · Tab to amend\n";

    #[test]
    fn a_dialog_has_its_question_command_and_options() {
        let d = dialog(PERMISSION, &rules()).unwrap();
        assert_eq!(d.kind, "permission");
        assert_eq!(
            d.question,
            "Bash command · Run a command the task asks for · echo hi > perm.txt · Do you want to proceed?"
        );
        assert_eq!(
            d.options,
            ["1. Yes", "2. Yes, and always allow access", "3. No"]
        );
        assert_eq!(d.selected, Some(1));
        assert_eq!(
            d.fingerprint,
            dialog(PERMISSION, &rules()).unwrap().fingerprint
        );
        let other = PERMISSION.replace("perm.txt", "rm.txt");
        assert_ne!(d.fingerprint, dialog(&other, &rules()).unwrap().fingerprint);
        let seen = classify(PERMISSION, &rules()).unwrap();
        assert_eq!(seen.state, ActivityState::WaitingInput);
        // The selected option's ❯ is not taken for the input prompt.
        assert!(seen.detail.unwrap().starts_with("permission: Bash command"));
    }

    #[test]
    fn options_without_numbers_are_read_in_screen_order() {
        let mut r = rules();
        r.dialogs.insert(
            0,
            DialogRule {
                marker: "Yes, I trust this folder".into(),
                kind: "trust".into(),
                answer: "select_enter".into(),
                options: Vec::new(),
            },
        );
        // Claude Code 2.1.332, as captured from the real CLI.
        let trust = "────────────────\n Accessing workspace:\n\n /tmp/cc/ws\n\n Quick safety check: Is \
            this a project you created or one you trust?\n\n Security guide\n\n ❯ No, exit\n   Yes, I \
            trust this folder\n\n Enter to confirm · Esc to cancel\n";
        let d = dialog(trust, &r).unwrap();
        assert_eq!(d.kind, "trust");
        assert_eq!(d.options, ["1. No, exit", "2. Yes, I trust this folder"]);
        assert_eq!(d.selected, Some(1));
        assert!(
            d.question
                .starts_with("Accessing workspace: · /tmp/cc/ws · Quick safety check"),
            "{}",
            d.question
        );
        assert!(!d.question.contains("No, exit"), "{}", d.question);
    }

    #[test]
    fn an_error_counts_only_as_the_newest_entry() {
        let failed = "❯ Now fail.\n● API Error: 529 Overloaded. Try again.\n────\n❯ \n────\n  ? for shortcuts";
        let seen = classify(failed, &rules()).unwrap();
        assert_eq!(seen.state, ActivityState::Blocked);
        assert_eq!(
            seen.detail.as_deref(),
            Some("API Error: 529 Overloaded. Try again.")
        );
        // A spinner frame left on the line is not part of the error's words (Aider 0.86.2).
        let aider = ScreenRules {
            errors: vec!["litellm.APIError".into()],
            ..ScreenRules::default()
        };
        let spun = "diff> Fail now.\n░⠋litellm.APIError: overloaded\n";
        assert_eq!(
            classify(spun, &aider).unwrap().detail.as_deref(),
            Some("litellm.APIError: overloaded")
        );
        let recovered = format!("{failed}\n❯ again\n● Fine now.\n✻ Worked for 1s\n────\n❯ \n────");
        assert_eq!(
            classify(&recovered, &rules()).unwrap().state,
            ActivityState::Ready
        );
    }

    #[test]
    fn work_and_the_input_line() {
        let working = "❯ do it\n* Whirring…\n────\n❯ half typed\n────\n  esc to interrupt";
        assert_eq!(
            classify(working, &rules()).unwrap().state,
            ActivityState::Active
        );
        assert_eq!(input_line(working, &rules()).as_deref(), Some("half typed"));
        assert_eq!(classify("random output", &rules()), None);
    }
}

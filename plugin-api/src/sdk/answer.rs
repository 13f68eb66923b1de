//! Answering a dialog for a human who chose the answer (`ao answer`, the dashboard's buttons).
//! The only path by which ao presses a key into a dialog, and only with the human's choice:
//!
//! 1. the dialog on screen (by the agent's [`ScreenRules`]) must be the one the human saw (its
//!    fingerprint), else nothing is pressed and the new question is reported;
//! 2. the choice is resolved to one option (a number, the start of a label, `y`/`n`);
//! 3. the keys are the dialog's own: a digit, the option's `(y)` letter, arrows to the option
//!    and Enter (the selection is checked before Enter), or `y`/`n` and Enter;
//! 4. answered only when the dialog is seen to close or give way to another.

use crate::sdk::agent::screen;
use crate::sdk::delivery::{Terminal, normalize_screen};
use crate::sdk::{Ctx, SdkError};
use crate::slots::agent::{Dialog, ScreenRules};
use crate::slots::runtime::AnswerOutcome;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);
/// How long the dialog has to react to the keys.
const SETTLE: Duration = Duration::from_secs(5);

fn refuse(evidence: String, dialog: Option<Dialog>) -> AnswerOutcome {
    AnswerOutcome {
        answered: false,
        evidence,
        dialog,
    }
}

fn label(option: &str) -> &str {
    option.split_once(". ").map_or(option, |(_, l)| l)
}

/// The option `choice` names, 1-based.
pub fn pick(d: &Dialog, choice: &str) -> Result<u32, String> {
    let c = choice.trim().to_lowercase();
    if d.options.is_empty() {
        return match c.as_str() {
            "y" | "yes" | "1" => Ok(1),
            "n" | "no" | "2" => Ok(2),
            _ => Err(format!("this question takes yes or no, not {choice:?}")),
        };
    }
    if let Ok(n) = c.parse::<u32>() {
        return if n >= 1 && n as usize <= d.options.len() {
            Ok(n)
        } else {
            Err(format!(
                "choose 1 to {} ({})",
                d.options.len(),
                d.options.join(", ")
            ))
        };
    }
    // The option's own key as the dialog shows it (`y` for "Yes, proceed (y)").
    if let Some(i) = d.options.iter().position(|o| {
        letter(o).is_some_and(|k| k.to_lowercase() == c || (k == "Escape" && c == "esc"))
    }) {
        return Ok(i as u32 + 1);
    }
    // A whole label wins over labels it begins ("yes" is "Yes", not "Yes, and always…").
    if let Some(i) = d.options.iter().position(|o| label(o).to_lowercase() == c) {
        return Ok(i as u32 + 1);
    }
    let hits: Vec<u32> = d
        .options
        .iter()
        .enumerate()
        .filter(|(_, o)| label(o).to_lowercase().starts_with(&c))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    match hits.as_slice() {
        [n] => Ok(*n),
        [] => Err(format!(
            "no option starts with {choice:?} ({})",
            d.options.join(", ")
        )),
        _ => Err(format!(
            "{choice:?} names several options: give its number ({})",
            d.options.join(", ")
        )),
    }
}

/// The option's own key: `(y)`, `(p)`, `(esc)` at the end of its label.
fn letter(option: &str) -> Option<String> {
    let l = label(option).trim_end();
    let inner = l.strip_suffix(')')?.rsplit_once('(')?.1;
    match inner {
        "esc" => Some("Escape".into()),
        k if k.chars().count() == 1 => Some(k.to_owned()),
        _ => None,
    }
}

/// The background colour in force at byte offset `at` of a styled line: the parameters of the
/// last SGR before it that set one (`48;5;N`, `48;2;R;G;B`, `4N`, `10N`).
fn background_at(line: &str, at: usize) -> String {
    let mut bg = String::new();
    let mut rest = &line[..at];
    while let Some(i) = rest.find("\x1b[") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('m') else { break };
        let params: Vec<&str> = after[..end].split(';').collect();
        let mut k = 0;
        while k < params.len() {
            match params[k] {
                "48" => {
                    let n = if params.get(k + 1) == Some(&"2") {
                        5
                    } else {
                        3
                    };
                    bg = params[k..(k + n).min(params.len())].join(";");
                    k += n;
                }
                "49" | "0" | "" => {
                    bg.clear();
                    k += 1;
                }
                p if (p.len() == 2 && p.starts_with('4'))
                    || (p.len() == 3 && p.starts_with("10")) =>
                {
                    bg = p.to_owned();
                    k += 1;
                }
                _ => k += 1,
            }
        }
        rest = &after[end + 1..];
    }
    bg
}

/// Which of `labels` (on one line of a styled capture) is highlighted: the one whose
/// background differs from all the others', 1-based.
pub fn highlighted(styled: &str, labels: &[String]) -> Option<u32> {
    let line = styled
        .lines()
        .find(|l| labels.iter().all(|o| l.contains(label(o))))?;
    let bgs: Vec<String> = labels
        .iter()
        .map(|o| {
            line.find(label(o))
                .map(|at| background_at(line, at))
                .unwrap_or_default()
        })
        .collect();
    let unique: Vec<usize> = (0..bgs.len())
        .filter(|&i| bgs.iter().filter(|b| **b == bgs[i]).count() == 1)
        .collect();
    match unique.as_slice() {
        [i] if labels.len() > 1 => Some(*i as u32 + 1),
        _ => None,
    }
}

/// Moves the selection from option `from` to `n` with `keys` (towards the first, towards the
/// last), waits until `reached` reads it there, and confirms with Enter; the refusal, with
/// nothing confirmed, when it does not get there in time.
#[allow(clippy::too_many_arguments)]
fn step_and_confirm(
    ctx: &Ctx,
    term: &dyn Terminal,
    from: u32,
    n: u32,
    keys: (&str, &str),
    mut reached: impl FnMut() -> Result<bool, SdkError>,
    shown: &str,
    d: &Dialog,
) -> Result<Option<AnswerOutcome>, SdkError> {
    let key = if n > from { keys.1 } else { keys.0 };
    for _ in 0..from.abs_diff(n) {
        term.send_key(ctx, key)?;
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while !reached()? {
        if Instant::now() >= deadline {
            return Ok(Some(refuse(
                format!("the selection did not reach {shown:?}: Enter was not pressed"),
                Some(d.clone()),
            )));
        }
        ctx.sleep(POLL)?;
    }
    term.send_key(ctx, "Enter")?;
    Ok(None)
}

fn current(
    ctx: &Ctx,
    term: &dyn Terminal,
    rules: &ScreenRules,
) -> Result<Option<Dialog>, SdkError> {
    Ok(screen::dialog(
        &normalize_screen(&term.capture(ctx)?),
        rules,
    ))
}

/// Answers the dialog on `term` with `choice`, if it is the one with `fingerprint`.
pub fn answer(
    ctx: &Ctx,
    term: &dyn Terminal,
    choice: &str,
    fingerprint: Option<&str>,
    rules: &ScreenRules,
) -> Result<AnswerOutcome, SdkError> {
    let shown_screen = normalize_screen(&term.capture(ctx)?);
    let Some(d) = screen::dialog(&shown_screen, rules) else {
        return Ok(refuse(
            "no dialog is on the agent's screen now: nothing was pressed".into(),
            None,
        ));
    };
    if let Some(fp) = fingerprint
        && fp != d.fingerprint
    {
        return Ok(refuse(
            format!(
                "the dialog on screen is not the one you answered: it now asks ({}): {}{}; nothing was pressed",
                d.kind,
                d.question,
                if d.options.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", d.options.join(" · "))
                }
            ),
            Some(d),
        ));
    }
    let n = match pick(&d, choice) {
        Ok(n) => n,
        Err(why) => return Ok(refuse(format!("{why}: nothing was pressed"), Some(d))),
    };
    let option = d.options.get(n as usize - 1).cloned();
    let shown = option
        .clone()
        .unwrap_or_else(|| if n == 1 { "yes".into() } else { "no".into() });
    // A digit only where the screen numbers its options (a CLI's update may drop them).
    let style = match d.answer.as_str() {
        "digit" if !option.as_deref().is_some_and(|o| shown_screen.contains(o)) => "select_enter",
        other => other,
    };
    match style {
        "yes_no" => {
            term.type_keys(ctx, if n == 1 { "y" } else { "n" })?;
            term.send_key(ctx, "Enter")?;
        }
        "digit" => term.type_keys(ctx, &n.to_string())?,
        "letter" if option.as_deref().and_then(letter).is_some() => {
            let k = option.as_deref().and_then(letter).expect("checked");
            if k == "Escape" {
                term.send_key(ctx, &k)?;
            } else {
                term.type_keys(ctx, &k)?;
            }
        }
        // Options on one line, the selection shown by colour alone: read it, move it with
        // Left/Right, read it again, confirm.
        "select_lr" => {
            let at = |t: &dyn Terminal| -> Result<Option<u32>, SdkError> {
                Ok(highlighted(&t.capture_styled(ctx)?, &d.options))
            };
            let Some(from) = at(term)? else {
                return Ok(refuse("cannot tell which option is selected: answer in the agent's terminal (ao open)".into(), Some(d)));
            };
            let reached = || Ok(at(term)? == Some(n));
            if let Some(refused) =
                step_and_confirm(ctx, term, from, n, ("Left", "Right"), reached, &shown, &d)?
            {
                return Ok(refused);
            }
        }
        // `select_enter`, and `letter` without a letter: move the mark, check it, confirm.
        _ => {
            let Some(from) = d.selected else {
                return Ok(refuse("cannot tell which option is selected: answer in the agent's terminal (ao open)".into(), Some(d)));
            };
            let reached = || {
                Ok(current(ctx, term, rules)?
                    .is_some_and(|x| x.fingerprint == d.fingerprint && x.selected == Some(n)))
            };
            if let Some(refused) =
                step_and_confirm(ctx, term, from, n, ("Up", "Down"), reached, &shown, &d)?
            {
                return Ok(refused);
            }
        }
    }
    let deadline = Instant::now() + SETTLE;
    loop {
        match current(ctx, term, rules)? {
            None => {
                return Ok(AnswerOutcome {
                    answered: true,
                    evidence: format!("answered {shown:?}: the dialog closed"),
                    dialog: Some(d),
                });
            }
            Some(x) if x.fingerprint != d.fingerprint => {
                return Ok(AnswerOutcome {
                    answered: true,
                    evidence: format!(
                        "answered {shown:?}: the next dialog asks ({}): {}",
                        x.kind, x.question
                    ),
                    dialog: Some(d),
                });
            }
            Some(_) if Instant::now() >= deadline => {
                return Ok(refuse(
                    format!(
                        "pressed the keys for {shown:?}, but the dialog is still on screen after {} s",
                        SETTLE.as_secs()
                    ),
                    Some(d),
                ));
            }
            Some(_) => ctx.sleep(POLL)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::agent::DialogRule;
    use std::cell::RefCell;

    /// A dialog with a movable selection that closes on its answer.
    struct Fake {
        options: Vec<&'static str>,
        selected: RefCell<usize>,
        style_digit: bool,
        answered: RefCell<Option<String>>,
        keys: RefCell<Vec<String>>,
    }

    impl Terminal for Fake {
        fn capture(&self, _: &Ctx) -> Result<String, SdkError> {
            if self.answered.borrow().is_some() {
                return Ok("❯ ".into());
            }
            let mut s = String::from("────────\n Trust this folder?\n");
            for (i, o) in self.options.iter().enumerate() {
                let mark = if i == *self.selected.borrow() {
                    "❯"
                } else {
                    " "
                };
                if self.style_digit {
                    s.push_str(&format!(" {mark} {}. {o}\n", i + 1));
                } else {
                    s.push_str(&format!(" {mark} {o}\n"));
                }
            }
            Ok(s)
        }
        fn clear_input(&self, _: &Ctx) -> Result<(), SdkError> {
            Ok(())
        }
        fn paste(&self, _: &Ctx, _: &str) -> Result<(), SdkError> {
            Ok(())
        }
        fn press_enter(&self, c: &Ctx) -> Result<(), SdkError> {
            self.send_key(c, "Enter")
        }
        fn type_keys(&self, _: &Ctx, keys: &str) -> Result<(), SdkError> {
            self.keys.borrow_mut().push(keys.to_owned());
            if let Ok(n) = keys.parse::<usize>() {
                *self.answered.borrow_mut() = Some(self.options[n - 1].to_owned());
            }
            Ok(())
        }
        fn send_key(&self, _: &Ctx, key: &str) -> Result<(), SdkError> {
            self.keys.borrow_mut().push(key.to_owned());
            let mut sel = self.selected.borrow_mut();
            match key {
                "Down" => *sel = (*sel + 1).min(self.options.len() - 1),
                "Up" => *sel = sel.saturating_sub(1),
                "Enter" => *self.answered.borrow_mut() = Some(self.options[*sel].to_owned()),
                _ => {}
            }
            Ok(())
        }
    }

    fn rules(answer: &str) -> ScreenRules {
        ScreenRules {
            dialogs: vec![DialogRule {
                marker: "Trust this folder?".into(),
                kind: "trust".into(),
                answer: answer.into(),
                options: Vec::new(),
            }],
            ..ScreenRules::default()
        }
    }

    fn fake(style_digit: bool) -> Fake {
        Fake {
            options: vec!["No, exit", "Yes, I trust this folder"],
            selected: RefCell::new(0),
            style_digit,
            answered: RefCell::default(),
            keys: RefCell::default(),
        }
    }

    #[test]
    fn the_selection_is_moved_and_checked_before_enter() {
        let t = fake(false);
        let fp = current(&Ctx::detached(), &t, &rules("select_enter"))
            .unwrap()
            .unwrap()
            .fingerprint;
        let out = answer(
            &Ctx::detached(),
            &t,
            "yes",
            Some(&fp),
            &rules("select_enter"),
        )
        .unwrap();
        assert!(out.answered, "{out:?}");
        assert_eq!(
            t.answered.borrow().as_deref(),
            Some("Yes, I trust this folder")
        );
        assert_eq!(*t.keys.borrow(), ["Down", "Enter"]);
    }

    #[test]
    fn a_digit_answers_a_digit_dialog() {
        let t = fake(true);
        let out = answer(&Ctx::detached(), &t, "2", None, &rules("digit")).unwrap();
        assert!(out.answered, "{out:?}");
        assert_eq!(*t.keys.borrow(), ["2"]);
    }

    #[test]
    fn another_dialog_or_a_bad_choice_presses_nothing() {
        let t = fake(true);
        let out = answer(&Ctx::detached(), &t, "2", Some("00000000"), &rules("digit")).unwrap();
        assert!(!out.answered);
        assert!(
            out.evidence.contains("not the one you answered"),
            "{}",
            out.evidence
        );
        let out = answer(&Ctx::detached(), &t, "maybe", None, &rules("digit")).unwrap();
        assert!(!out.answered);
        assert!(
            out.evidence.starts_with("no option starts with"),
            "{}",
            out.evidence
        );
        let out = answer(&Ctx::detached(), &t, "7", None, &rules("digit")).unwrap();
        assert!(
            out.evidence.starts_with("choose 1 to 2"),
            "{}",
            out.evidence
        );
        assert!(t.keys.borrow().is_empty());
    }

    #[test]
    fn a_whole_label_wins_over_longer_ones() {
        let d = Dialog {
            kind: "permission".into(),
            question: "Do you want to create new.txt?".into(),
            options: vec![
                "1. Yes".into(),
                "2. Yes, allow all edits".into(),
                "3. No".into(),
            ],
            answer: "digit".into(),
            fingerprint: "0".into(),
            selected: Some(1),
        };
        assert_eq!(pick(&d, "yes"), Ok(1));
        assert_eq!(pick(&d, "Yes, allow"), Ok(2));
        assert_eq!(pick(&d, "n"), Ok(3));
        assert!(pick(&d, "ye").unwrap_err().contains("several"));
    }

    #[test]
    fn the_dialogs_own_letter_picks_its_option() {
        let d = Dialog {
            kind: "permission".into(),
            question: "Would you like to run the following command?".into(),
            options: vec![
                "1. Yes, proceed (y)".into(),
                "2. Yes, and don't ask again for commands that start with `ls` (p)".into(),
                "3. No, and tell Codex what to do differently (esc)".into(),
            ],
            answer: "letter".into(),
            fingerprint: "0".into(),
            selected: Some(1),
        };
        assert_eq!(pick(&d, "y"), Ok(1));
        assert_eq!(pick(&d, "p"), Ok(2));
        assert_eq!(pick(&d, "esc"), Ok(3));
        assert!(
            pick(&d, "yes").unwrap_err().contains("several"),
            "ambiguous: the human picks"
        );
    }

    #[test]
    fn the_highlighted_option_is_the_one_coloured_alone() {
        // OpenCode 1.18.33's permission options, as `capture-pane -e` shows them.
        let line = "\x1b[48;5;234m  \x1b[48;5;215m \x1b[38;5;232mAllow once\x1b[38;5;15m \x1b[48;5;234m  \
                    \x1b[38;5;8mAllow always\x1b[38;5;15m   \x1b[38;5;8mReject\x1b[38;5;15m   enter confirm";
        let labels: Vec<String> = ["1. Allow once", "2. Allow always", "3. Reject"]
            .map(String::from)
            .to_vec();
        assert_eq!(highlighted(line, &labels), Some(1));
        let moved = line
            .replace(
                "48;5;215m \x1b[38;5;232mAllow once",
                "48;5;234m \x1b[38;5;8mAllow once",
            )
            .replace("\x1b[38;5;8mReject", "\x1b[48;5;215m\x1b[38;5;232mReject");
        assert_eq!(highlighted(&moved, &labels), Some(3));
        assert_eq!(
            highlighted("Allow once   Allow always   Reject", &labels),
            None,
            "no colour: unknown"
        );
    }

    #[test]
    fn option_letters() {
        assert_eq!(letter("1. Yes, proceed (y)").as_deref(), Some("y"));
        assert_eq!(
            letter("3. No, and tell Codex what to do differently (esc)").as_deref(),
            Some("Escape")
        );
        assert_eq!(letter("2. No"), None);
    }
}

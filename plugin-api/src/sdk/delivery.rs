//! Acknowledged delivery of a message to an agent's input (DESIGN §3 "Delivery").
//!
//! Upstream typed the text, slept 300 ms, pressed Enter and reported success whatever happened;
//! its users' second complaint was messages left sitting in the input box. The real CLIs taught
//! a worse failure: an Enter pressed while a permission, trust or yes/no dialog is on screen
//! *answers that dialog* for the human. So:
//!
//! 1. wait until the agent is ready: its hook says `ready`/`idle`, or the screen stays
//!    unchanged for `stable_ms`, and (with the agent's grammar) its input line shows; a dialog on screen (by the agent's [`ScreenRules`]) or a hook
//!    saying `waiting_input` with nothing on screen to contradict it **refuses** the delivery,
//!    naming the question: nothing is typed;
//! 2. clear the input line and paste the text as one bracketed paste;
//! 3. wait for the paste to land; look for a dialog once more; press Enter;
//! 4. acknowledged only on evidence that the text became a user turn: a prompt-submit hook
//!    after Enter, or the text seen leaving the input line (the input line no longer holds
//!    it, or output appeared below it). A screen that merely changed is no evidence. Enter is
//!    pressed again (bounded) only while the text still sits in the input, since a second
//!    Enter interrupts a turn in some CLIs.
//!
//! Runtimes supply the terminal operations ([`Terminal`]); the policy lives here, once.

use crate::sdk::agent::screen;
use crate::sdk::{Ctx, SdkError};
use crate::slots::agent::{ActivityState, Dialog, ScreenRules};
use crate::slots::runtime::{DeliveryOptions, SendOutcome};
use crate::status_file;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The terminal operations delivery needs from a runtime.
pub trait Terminal {
    /// The visible screen as text.
    fn capture(&self, ctx: &Ctx) -> Result<String, SdkError>;
    /// Clears the agent's input line (Ctrl-U).
    fn clear_input(&self, ctx: &Ctx) -> Result<(), SdkError>;
    /// Pastes `text` as one paste (bracketed when the application asked for it).
    fn paste(&self, ctx: &Ctx, text: &str) -> Result<(), SdkError>;
    /// Presses Enter.
    fn press_enter(&self, ctx: &Ctx) -> Result<(), SdkError>;
    /// Types `keys` literally, without Enter (answering a dialog with `ao answer`).
    fn type_keys(&self, _ctx: &Ctx, _keys: &str) -> Result<(), SdkError> {
        Err(SdkError::Unsupported("typing keys".into()))
    }
    /// The visible screen with its colours (SGR escape sequences kept), for dialogs that mark
    /// the selected option with colour alone.
    fn capture_styled(&self, _ctx: &Ctx) -> Result<String, SdkError> {
        Err(SdkError::Unsupported("styled capture".into()))
    }
    /// Presses one named key: `Up`, `Down`, `Left`, `Right`, `Enter`, `Escape`.
    fn send_key(&self, _ctx: &Ctx, _key: &str) -> Result<(), SdkError> {
        Err(SdkError::Unsupported("pressing keys".into()))
    }
    /// The end of the session's status file read inside the session, for a session whose files
    /// live in its runtime (a container, a pod). `None`: the host's file
    /// ([`DeliveryOptions::status_file`]) is the one.
    fn status_tail(&self, _ctx: &Ctx) -> Option<String> {
        None
    }
}

/// One delivery at a time per session: two interleaved pastes would garble both. Runtimes keep
/// one of these and hold [`SessionLocks::get`]'s lock around [`deliver`].
#[derive(Debug, Default)]
pub struct SessionLocks(Mutex<HashMap<String, Arc<Mutex<()>>>>);

impl SessionLocks {
    /// The lock of one session.
    pub fn get(&self, session: &str) -> Arc<Mutex<()>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(session.to_owned())
            .or_default()
            .clone()
    }

    /// Runs `f` holding `session`'s lock: one delivery (or dialog answer) at a time.
    pub fn one_at_a_time<R>(&self, session: &str, f: impl FnOnce() -> R) -> R {
        let lock = self.get(session);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        f()
    }
}

/// How often the screen and the status file are looked at.
const POLL: Duration = Duration::from_millis(40);

/// Hook events that mean "a user prompt was submitted" (Claude Code and Codex hooks, the
/// scripted agent; OpenCode's session turning busy). Tool events are not: answering a dialog
/// fires them too.
const PROMPT_EVENTS: &[&str] = &["UserPromptSubmit", "session.status", "chat.message"];

/// Removes what must never reach an agent's input: control characters other than newline and
/// tab (an embedded `ESC [201~` would end the bracketed paste and type the rest as keys), and
/// carriage returns (normalised to newlines).
pub fn sanitize(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

/// Screen text compared for change: trailing blanks on each line and trailing empty lines
/// dropped, so a cursor moving to a fresh line is not "a change".
pub fn normalize_screen(screen: &str) -> String {
    let mut lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The newest status record `keep` accepts: from the session when its files live there,
/// else from the host's file.
fn hook_record(
    ctx: &Ctx,
    term: &dyn Terminal,
    opts: &DeliveryOptions,
    keep: impl Fn(&status_file::StatusRecord) -> bool,
) -> Option<status_file::StatusRecord> {
    match term.status_tail(ctx) {
        Some(tail) => status_file::latest_in(status_file::Source::Tail(&tail), keep),
        None => opts
            .status_file
            .as_deref()
            .and_then(|p| status_file::latest_where(Path::new(p), keep)),
    }
}

fn on_screen(screen: &str, opts: &DeliveryOptions) -> Option<Dialog> {
    opts.screen.as_ref().and_then(|r| screen::dialog(screen, r))
}

/// The outcome of a refusal at a dialog: nothing was typed (or, when the dialog rose after the
/// paste, the text sits unsent below it).
pub fn refused(dialog: Dialog, typed: bool) -> SendOutcome {
    let how = if dialog.options.is_empty() {
        String::new()
    } else {
        format!(" (choices: {})", dialog.options.join(", "))
    };
    let evidence = format!(
        "not delivered: the agent is asking the human ({}): {}{how}; answer it with \
         `ao answer <session> <choice>`{}",
        dialog.kind,
        dialog.question,
        if typed {
            "; the message was pasted but not submitted"
        } else {
            ""
        },
    );
    SendOutcome {
        acknowledged: false,
        attempts: 0,
        evidence,
        dialog: Some(dialog),
    }
}

/// A short, distinctive piece of the message to look for on screen: its first non-blank
/// line, cut at 24 characters (a TUI wraps and collapses the rest).
fn fragment(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.chars()
        .take(24)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Non-blank lines below the last line holding `frag`, `None` when it is not visible.
fn lines_below(screen: &str, frag: &str) -> Option<usize> {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines.iter().rposition(|l| l.contains(frag))?;
    Some(
        lines[at + 1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .count(),
    )
}

/// Non-blank lines below the last line that starts with one of the agent's prompts.
fn below_prompt(screen: &str, rules: &ScreenRules) -> Option<usize> {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines.iter().rposition(|l| {
        let t = l.trim_start();
        rules
            .prompt_prefixes
            .iter()
            .any(|p| t.starts_with(p.as_str()))
    })?;
    Some(
        lines[at + 1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .count(),
    )
}

/// The evidence, on screen, that the text went from the input line into the conversation.
fn left_input(
    pasted: &str,
    now: &str,
    full: &str,
    frag: &str,
    rules: Option<&ScreenRules>,
) -> Option<String> {
    if let Some(r) = rules.filter(|r| !r.prompt_prefixes.is_empty()) {
        let before = screen::input_line(pasted, r)?;
        let after = screen::input_line(now, r).unwrap_or_default();
        if !before.is_empty() && after != before && (frag.is_empty() || !after.contains(frag)) {
            return Some("the text left the input line".into());
        }
        // An agent whose input line is the screen's last (`prompt_within: 1`) prints nothing
        // below it while one edits: a new line under the last prompt line is the turn's
        // output. (Agents with a footer under the input, whose lines come and go, are not
        // read this way: that would be a changed screen, not evidence.) The
        // submitted text can look exactly like the input line it was (Aider echoes it with its
        // prompt), so without this a turn that prints little would draw a second Enter, and a
        // busy agent's terminal keeps that Enter for its next prompt: an empty message.
        if r.prompt_within == 1
            && let (Some(b), Some(a)) = (below_prompt(pasted, r), below_prompt(now, r))
            && a > b
        {
            return Some("output appeared below the submitted text".into());
        }
        return None;
    }
    // Without a grammar: a line editor prints below the submitted line. A long paste may
    // have scrolled its first line away, so its last characters stand in for it.
    let tail: String = {
        let last = full
            .lines()
            .map(str::trim_end)
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("");
        let n = last.chars().count();
        last.chars().skip(n.saturating_sub(10)).collect()
    };
    let frag = [frag, tail.as_str()]
        .into_iter()
        .find(|f| !f.is_empty() && lines_below(pasted, f).is_some())?;
    let (b, a) = (lines_below(pasted, frag)?, lines_below(now, frag)?);
    (a > b).then(|| "output appeared below the submitted text".into())
}

/// Delivers `text` through `term` and reports what was observed. `Err` only when the terminal
/// itself fails (the session is gone); a message that was not taken up is `Ok` with
/// `acknowledged: false` and the reason in `evidence` (and `dialog` when one is on screen).
pub fn deliver(
    ctx: &Ctx,
    term: &dyn Terminal,
    text: &str,
    opts: &DeliveryOptions,
) -> Result<SendOutcome, SdkError> {
    let text = sanitize(text);
    if text.trim().is_empty() {
        return Err(SdkError::InvalidParams("the message is empty".into()));
    }
    match wait_ready(ctx, term, opts)? {
        Ready::Yes => {}
        Ready::Dialog(d) => return Ok(refused(d, false)),
        Ready::No(why) => {
            return Ok(SendOutcome {
                acknowledged: false,
                attempts: 0,
                evidence: why,
                dialog: None,
            });
        }
    }

    let before = normalize_screen(&term.capture(ctx)?);
    if let Some(d) = on_screen(&before, opts) {
        return Ok(refused(d, false));
    }
    term.clear_input(ctx)?;
    term.paste(ctx, &text)?;
    let pasted = settle(ctx, term, &before, opts)?;
    let frag = fragment(&text);
    let rules = opts.screen.as_ref();

    // Capped: a caller's `u32::MAX` must not mean "press Enter forever".
    let attempts_max = 1 + opts.max_enter_retries.min(20);
    let window = Duration::from_millis(opts.ack_timeout_ms / u64::from(attempts_max)).max(POLL * 5);
    for attempt in 1..=attempts_max {
        // The last look before the key: a dialog that rose during the paste takes this Enter.
        let now = normalize_screen(&term.capture(ctx)?);
        if let Some(d) = on_screen(&now, opts) {
            return Ok(refused(d, true));
        }
        if attempt > 1 && now != pasted && left_input(&pasted, &now, &text, &frag, rules).is_some()
        {
            // Submitted by the previous Enter after its window closed.
            return Ok(ack(attempt - 1, "the text left the input line".into()));
        }
        let entered_ms = status_file::now_ms();
        term.press_enter(ctx)?;
        let until = Instant::now() + window;
        loop {
            // Any prompt-submit record since Enter, not only the newest: a quick agent has
            // already written its next event (a tool, or `Stop`) by the time we look.
            if let Some(rec) = hook_record(ctx, term, opts, |r| {
                r.at_ms + 50 >= entered_ms
                    && r.state == ActivityState::Active
                    && r.event
                        .as_deref()
                        .is_some_and(|e| PROMPT_EVENTS.contains(&e))
            }) {
                return Ok(ack(
                    attempt,
                    format!(
                        "hook: {}",
                        rec.event.as_deref().unwrap_or("prompt submitted")
                    ),
                ));
            }
            let now = normalize_screen(&term.capture(ctx)?);
            if let Some(why) = left_input(&pasted, &now, &text, &frag, rules) {
                return Ok(ack(attempt, why));
            }
            if Instant::now() >= until {
                break;
            }
            ctx.sleep(POLL)?;
        }
    }
    Ok(SendOutcome {
        acknowledged: false,
        attempts: attempts_max,
        evidence: format!(
            "not acknowledged: no evidence within {} ms after {attempts_max} Enter presses that \
             the text became a user turn (no prompt-submit hook; the text did not leave the \
             input line)",
            opts.ack_timeout_ms
        ),
        dialog: None,
    })
}

fn ack(attempts: u32, evidence: String) -> SendOutcome {
    SendOutcome {
        acknowledged: true,
        attempts,
        evidence,
        dialog: None,
    }
}

enum Ready {
    Yes,
    No(String),
    Dialog(Dialog),
}

fn wait_ready(ctx: &Ctx, term: &dyn Terminal, opts: &DeliveryOptions) -> Result<Ready, SdkError> {
    let deadline = Instant::now() + Duration::from_millis(opts.ready_timeout_ms);
    let stable = Duration::from_millis(opts.stable_ms);
    let mut last = normalize_screen(&term.capture(ctx)?);
    let mut since = Instant::now();
    loop {
        if let Some(d) = on_screen(&last, opts) {
            return Ok(Ready::Dialog(d));
        }
        let hook = hook_record(ctx, term, opts, |_| true);
        // With a grammar, only a visible input line takes text, whatever the hooks say.
        let prompt_shown = opts.screen.as_ref().is_none_or(|r| {
            (r.prompt_prefixes.is_empty() && r.ready.is_empty()) || screen::accepts_input(&last, r)
        });
        match hook.as_ref().map(|r| r.state) {
            Some(ActivityState::Ready | ActivityState::Idle) if prompt_shown => {
                return Ok(Ready::Yes);
            }
            // The hooks say a question is pending. With a grammar, the screen (which shows no
            // dialog) is fresher evidence that it was answered; without one, nothing contradicts
            // the hook, so nothing is typed.
            Some(ActivityState::WaitingInput) if opts.screen.is_none() => {
                let question = hook
                    .and_then(|r| r.detail)
                    .unwrap_or_else(|| "a question or a permission".into());
                return Ok(Ready::Dialog(Dialog {
                    kind: "hook".into(),
                    fingerprint: screen::fingerprint(&question, &[]),
                    question,
                    options: Vec::new(),
                    answer: String::new(),
                    selected: None,
                }));
            }
            _ => {}
        }
        // A hook that says "active" may be stale (the agent died mid-turn): trust a quiet
        // screen then too, but only after a longer silence.
        let needed = match hook.map(|r| r.state) {
            Some(ActivityState::Active) => stable * 4,
            _ => stable,
        };
        if since.elapsed() >= needed && prompt_shown {
            return Ok(Ready::Yes);
        }
        if Instant::now() >= deadline {
            let why = if prompt_shown {
                "its screen kept changing"
            } else {
                "its input line never showed"
            };
            return Ok(Ready::No(format!(
                "not delivered: the agent was not ready for input within {} ms ({why})",
                opts.ready_timeout_ms
            )));
        }
        ctx.sleep(POLL)?;
        let now = normalize_screen(&term.capture(ctx)?);
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

/// Waits for the pasted text to show up and stop moving (a long paste echoes in pieces), and
/// returns the screen to compare against after Enter.
fn settle(
    ctx: &Ctx,
    term: &dyn Terminal,
    before: &str,
    opts: &DeliveryOptions,
) -> Result<String, SdkError> {
    let quiet = Duration::from_millis(opts.stable_ms.min(300)).max(POLL * 2);
    let deadline = Instant::now() + Duration::from_millis(2_000);
    let mut last = normalize_screen(&term.capture(ctx)?);
    let mut since = Instant::now();
    loop {
        if (last != before && since.elapsed() >= quiet) || Instant::now() >= deadline {
            return Ok(last);
        }
        ctx.sleep(POLL)?;
        let now = normalize_screen(&term.capture(ctx)?);
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::agent::DialogRule;
    use std::cell::RefCell;

    /// A fake terminal: a line editor whose behaviour on Enter is scripted. A submitted line
    /// stays on screen with the agent's output below it, as in a REPL.
    struct Fake {
        screen: RefCell<Vec<String>>,
        input: RefCell<String>,
        enters_ignored: RefCell<u32>,
        deaf: bool,
        submitted: RefCell<Vec<String>>,
        enters: RefCell<u32>,
        /// Shown above the prompt once the paste lands (a dialog rising mid-delivery).
        after_paste: Option<String>,
    }

    impl Fake {
        fn new(enters_ignored: u32, deaf: bool) -> Self {
            Self {
                screen: RefCell::new(vec!["welcome".into()]),
                input: RefCell::default(),
                enters_ignored: RefCell::new(enters_ignored),
                deaf,
                submitted: RefCell::default(),
                enters: RefCell::default(),
                after_paste: None,
            }
        }
    }

    impl Terminal for Fake {
        fn capture(&self, _: &Ctx) -> Result<String, SdkError> {
            Ok(format!(
                "{}\n> {}",
                self.screen.borrow().join("\n"),
                self.input.borrow()
            ))
        }
        fn clear_input(&self, _: &Ctx) -> Result<(), SdkError> {
            if !self.deaf {
                self.input.borrow_mut().clear();
            }
            Ok(())
        }
        fn paste(&self, _: &Ctx, text: &str) -> Result<(), SdkError> {
            if !self.deaf {
                self.input.borrow_mut().push_str(text);
            }
            if let Some(d) = &self.after_paste {
                self.screen.borrow_mut().push(d.clone());
            }
            Ok(())
        }
        fn press_enter(&self, _: &Ctx) -> Result<(), SdkError> {
            *self.enters.borrow_mut() += 1;
            if self.deaf {
                return Ok(());
            }
            let mut ignored = self.enters_ignored.borrow_mut();
            if *ignored > 0 {
                *ignored -= 1;
                return Ok(());
            }
            let msg = std::mem::take(&mut *self.input.borrow_mut());
            self.screen.borrow_mut().push(format!("> {msg}"));
            self.screen.borrow_mut().push("working on it".into());
            self.submitted.borrow_mut().push(msg);
            Ok(())
        }
    }

    fn quick() -> DeliveryOptions {
        DeliveryOptions {
            ready_timeout_ms: 2_000,
            stable_ms: 100,
            ack_timeout_ms: 800,
            max_enter_retries: 3,
            status_file: None,
            screen: None,
        }
    }

    fn with_rules() -> DeliveryOptions {
        DeliveryOptions {
            screen: Some(ScreenRules {
                dialogs: vec![DialogRule {
                    marker: "Do you want to proceed?".into(),
                    kind: "permission".into(),
                    answer: "digit".into(),
                    options: Vec::new(),
                }],
                prompt_prefixes: vec!["> ".into(), ">".into()],
                ..ScreenRules::default()
            }),
            ..quick()
        }
    }

    #[test]
    fn a_message_is_acknowledged_when_it_leaves_the_input_line() {
        for opts in [quick(), with_rules()] {
            let term = Fake::new(0, false);
            let out = deliver(&Ctx::detached(), &term, "fix the test", &opts).unwrap();
            assert!(out.acknowledged, "{out:?}");
            assert_eq!(out.attempts, 1);
            assert_eq!(term.submitted.borrow().as_slice(), ["fix the test"]);
        }
    }

    /// Aider echoes a submitted message with its prompt, so the input line looks the same
    /// after Enter; the turn's first output below it is the evidence (seen with Aider 0.86.2:
    /// without it, a second Enter reached Aider mid-turn and became an empty message later).
    #[test]
    fn output_below_a_bottom_input_line_acknowledges() {
        let rules = ScreenRules {
            prompt_prefixes: vec!["diff>".into()],
            tail: 3,
            prompt_within: 1,
            ..ScreenRules::default()
        };
        let pasted = "Tokens: 2.9k sent\n\nprompts/app-1.md (read only)\ndiff> Fail now.\ndiff> @sim error 529";
        let now = format!(
            "{pasted}\n\nlitellm.APIError: APIError: OpenAIException - overloaded\nRetrying in 0.2 seconds..."
        );
        let text = "Fail now.\n@sim error 529";
        let got = left_input(pasted, &now, text, &fragment(text), Some(&rules));
        assert_eq!(
            got.as_deref(),
            Some("output appeared below the submitted text")
        );
        // Nothing new below it: no evidence, whatever else changed above.
        let above = pasted.replace("Tokens: 2.9k sent", "Tokens: 3.0k sent");
        assert_eq!(
            left_input(pasted, &above, text, &fragment(text), Some(&rules)),
            None
        );
        // An input line with a footer under it, or anywhere: lines below it are no evidence.
        for within in [0, 6] {
            let footer = ScreenRules {
                prompt_within: within,
                ..rules.clone()
            };
            assert_eq!(
                left_input(pasted, &now, text, &fragment(text), Some(&footer)),
                None
            );
        }
    }

    #[test]
    fn a_swallowed_enter_is_pressed_again() {
        let term = Fake::new(2, false);
        let out = deliver(&Ctx::detached(), &term, "x", &with_rules()).unwrap();
        assert!(out.acknowledged);
        assert_eq!(out.attempts, 3);
    }

    #[test]
    fn an_agent_that_never_reads_is_reported_not_acknowledged() {
        let term = Fake::new(0, true);
        let start = Instant::now();
        let out = deliver(&Ctx::detached(), &term, "x", &quick()).unwrap();
        assert!(!out.acknowledged);
        assert_eq!(out.attempts, 4);
        assert!(
            out.evidence.starts_with("not acknowledged"),
            "{}",
            out.evidence
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn nothing_is_typed_into_a_dialog() {
        let term = Fake::new(0, false);
        term.screen.borrow_mut().extend([
            "────────────────".into(),
            "Bash command".into(),
            " rm -rf build".into(),
            "Do you want to proceed?".into(),
            " ❯ 1. Yes".into(),
            "   2. No".into(),
        ]);
        let out = deliver(&Ctx::detached(), &term, "fix the test", &with_rules()).unwrap();
        assert!(!out.acknowledged);
        let d = out.dialog.expect("the dialog is reported");
        assert_eq!(d.options, ["1. Yes", "2. No"]);
        assert!(d.question.contains("rm -rf build"), "{}", d.question);
        assert!(out.evidence.contains("ao answer"), "{}", out.evidence);
        assert_eq!(*term.enters.borrow(), 0, "no Enter at a dialog");
        assert!(term.input.borrow().is_empty(), "nothing typed");
    }

    #[test]
    fn a_dialog_that_rises_after_the_paste_gets_no_enter() {
        let mut term = Fake::new(0, false);
        term.after_paste = Some("Do you want to proceed?".into());
        let out = deliver(&Ctx::detached(), &term, "fix the test", &with_rules()).unwrap();
        assert!(!out.acknowledged);
        assert!(out.dialog.is_some());
        assert!(
            out.evidence.contains("pasted but not submitted"),
            "{}",
            out.evidence
        );
        assert_eq!(*term.enters.borrow(), 0);
    }

    #[test]
    fn a_hook_saying_waiting_input_refuses_without_a_screen_grammar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut rec =
            status_file::StatusRecord::now(ActivityState::WaitingInput, Some("PermissionRequest"));
        rec.detail = Some("Bash: rm -rf build".into());
        status_file::append(&path, &rec).unwrap();
        let mut opts = quick();
        opts.status_file = Some(path.display().to_string());
        let term = Fake::new(0, false);
        let out = deliver(&Ctx::detached(), &term, "x", &opts).unwrap();
        assert!(!out.acknowledged);
        assert_eq!(out.dialog.unwrap().question, "Bash: rm -rf build");
        assert_eq!(*term.enters.borrow(), 0);
    }

    /// A terminal whose screen never moves, beside a hook that writes `event` on Enter.
    struct Quiet(std::path::PathBuf, &'static str);

    impl Terminal for Quiet {
        fn capture(&self, _: &Ctx) -> Result<String, SdkError> {
            Ok("> ".into())
        }
        fn clear_input(&self, _: &Ctx) -> Result<(), SdkError> {
            Ok(())
        }
        fn paste(&self, _: &Ctx, _: &str) -> Result<(), SdkError> {
            Ok(())
        }
        fn press_enter(&self, _: &Ctx) -> Result<(), SdkError> {
            let rec = status_file::StatusRecord::now(ActivityState::Active, Some(self.1));
            status_file::append(&self.0, &rec).map_err(|e| SdkError::Internal(e.to_string()))
        }
    }

    #[test]
    fn only_a_prompt_submit_hook_after_enter_is_an_acknowledgement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let old = status_file::StatusRecord {
            at_ms: 1,
            state: ActivityState::Active,
            event: Some("UserPromptSubmit".into()),
            detail: None,
            session: None,
            payload_hex: None,
        };
        status_file::append(&path, &old).unwrap();
        let mut opts = quick();
        opts.status_file = Some(path.display().to_string());
        let out = deliver(
            &Ctx::detached(),
            &Quiet(path.clone(), "UserPromptSubmit"),
            "x",
            &opts,
        )
        .unwrap();
        assert!(out.acknowledged, "{out:?}");
        assert_eq!(out.evidence, "hook: UserPromptSubmit");
        // A tool starting is what answering a dialog looks like: not evidence.
        let out = deliver(&Ctx::detached(), &Quiet(path, "PreToolUse"), "x", &opts).unwrap();
        assert!(!out.acknowledged, "{out:?}");
    }

    #[test]
    fn control_sequences_never_reach_the_agent() {
        assert_eq!(
            sanitize("a\x1b[201~rm -rf\r\nb\tc\x07"),
            "a[201~rm -rf\nb\tc"
        );
        assert_eq!(normalize_screen("a  \nb\n\n  \n"), "a\nb");
    }

    #[test]
    fn an_empty_message_is_refused() {
        let err = deliver(&Ctx::detached(), &Fake::new(0, false), " \x1b ", &quick());
        assert!(matches!(err, Err(SdkError::InvalidParams(_))));
    }
}

//! Acknowledged delivery of a message to an agent's input (DESIGN §3 "Delivery").
//!
//! Upstream typed the text, slept 300 ms, pressed Enter and reported success whatever happened;
//! its users' second complaint was messages left sitting in the input box. Here a message counts
//! as delivered only when the agent is seen to start working on it:
//!
//! 1. wait until the agent is ready: its hook says `ready`/`idle`/`waiting_input`, or the screen
//!    stays unchanged for `stable_ms` (a working agent animates);
//! 2. clear the input line and paste the text as one bracketed paste;
//! 3. wait for the paste to land, press Enter;
//! 4. acknowledged when the hook records `active` after Enter, or the screen changes beyond the
//!    echoed text; otherwise press Enter again, a bounded number of times, then report failure.
//!
//! Runtimes supply the terminal operations ([`Terminal`]); the policy lives here, once.

use crate::sdk::{Ctx, SdkError};
use crate::slots::agent::ActivityState;
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
}

/// How often the screen and the status file are looked at.
const POLL: Duration = Duration::from_millis(40);

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

fn hook_state(opts: &DeliveryOptions) -> Option<status_file::StatusRecord> {
    opts.status_file
        .as_deref()
        .and_then(|p| status_file::latest(Path::new(p)))
}

/// Delivers `text` through `term` and reports what was observed. `Err` only when the terminal
/// itself fails (the session is gone); a message that was not taken up is `Ok` with
/// `acknowledged: false` and the reason in `evidence`.
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
    if let Err(why) = wait_ready(ctx, term, opts)? {
        return Ok(SendOutcome {
            acknowledged: false,
            attempts: 0,
            evidence: why,
        });
    }

    let before = normalize_screen(&term.capture(ctx)?);
    term.clear_input(ctx)?;
    term.paste(ctx, &text)?;
    let pasted = settle(ctx, term, &before, opts)?;

    // Capped: a caller's `u32::MAX` must not mean "press Enter forever".
    let attempts_max = 1 + opts.max_enter_retries.min(20);
    let window = Duration::from_millis(opts.ack_timeout_ms / u64::from(attempts_max)).max(POLL * 5);
    let entered_ms = status_file::now_ms();
    for attempt in 1..=attempts_max {
        term.press_enter(ctx)?;
        let until = Instant::now() + window;
        loop {
            if let Some(rec) = hook_state(opts)
                && rec.at_ms + 50 >= entered_ms
                && matches!(rec.state, ActivityState::Active)
            {
                return Ok(SendOutcome {
                    acknowledged: true,
                    attempts: attempt,
                    evidence: format!(
                        "hook: active ({})",
                        rec.event.as_deref().unwrap_or("status file")
                    ),
                });
            }
            if normalize_screen(&term.capture(ctx)?) != pasted {
                return Ok(SendOutcome {
                    acknowledged: true,
                    attempts: attempt,
                    evidence: "screen changed after Enter".into(),
                });
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
            "not acknowledged: no sign of work within {} ms after {attempts_max} Enter presses \
             (screen unchanged since the paste)",
            opts.ack_timeout_ms
        ),
    })
}

/// `Ok(Ok(()))` when ready, `Ok(Err(why))` when the agent never became ready in time.
fn wait_ready(
    ctx: &Ctx,
    term: &dyn Terminal,
    opts: &DeliveryOptions,
) -> Result<Result<(), String>, SdkError> {
    let deadline = Instant::now() + Duration::from_millis(opts.ready_timeout_ms);
    let stable = Duration::from_millis(opts.stable_ms);
    let mut last = normalize_screen(&term.capture(ctx)?);
    let mut since = Instant::now();
    loop {
        let hook = hook_state(opts);
        if let Some(rec) = &hook
            && matches!(
                rec.state,
                ActivityState::Ready | ActivityState::Idle | ActivityState::WaitingInput
            )
        {
            return Ok(Ok(()));
        }
        // A hook that says "active" may be stale (the agent died mid-turn): trust a quiet
        // screen then too, but only after a longer silence.
        let needed = match hook.map(|r| r.state) {
            Some(ActivityState::Active) => stable * 4,
            _ => stable,
        };
        if since.elapsed() >= needed {
            return Ok(Ok(()));
        }
        if Instant::now() >= deadline {
            return Ok(Err(format!(
                "not delivered: the agent was not ready for input within {} ms \
                 (its screen kept changing)",
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
    use std::cell::RefCell;

    /// A fake terminal: a line editor whose behaviour on Enter is scripted.
    struct Fake {
        screen: RefCell<Vec<String>>,
        input: RefCell<String>,
        enters_ignored: RefCell<u32>,
        deaf: bool,
        submitted: RefCell<Vec<String>>,
    }

    impl Fake {
        fn new(enters_ignored: u32, deaf: bool) -> Self {
            Self {
                screen: RefCell::new(vec!["> ".into()]),
                input: RefCell::default(),
                enters_ignored: RefCell::new(enters_ignored),
                deaf,
                submitted: RefCell::default(),
            }
        }
    }

    impl Terminal for Fake {
        fn capture(&self, _: &Ctx) -> Result<String, SdkError> {
            let mut s = self.screen.borrow().join("\n");
            s.push_str(&self.input.borrow());
            Ok(s)
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
            Ok(())
        }
        fn press_enter(&self, _: &Ctx) -> Result<(), SdkError> {
            if self.deaf {
                return Ok(());
            }
            let mut ignored = self.enters_ignored.borrow_mut();
            if *ignored > 0 {
                *ignored -= 1;
                return Ok(());
            }
            let msg = std::mem::take(&mut *self.input.borrow_mut());
            self.screen.borrow_mut().push(format!("working on: {msg}"));
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
        }
    }

    #[test]
    fn a_message_is_acknowledged_when_the_screen_moves_after_enter() {
        let term = Fake::new(0, false);
        let out = deliver(&Ctx::detached(), &term, "fix the test", &quick()).unwrap();
        assert!(out.acknowledged, "{out:?}");
        assert_eq!(out.attempts, 1);
        assert_eq!(term.submitted.borrow().as_slice(), ["fix the test"]);
    }

    #[test]
    fn a_swallowed_enter_is_pressed_again() {
        let term = Fake::new(2, false);
        let out = deliver(&Ctx::detached(), &term, "x", &quick()).unwrap();
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

    /// A terminal whose screen never moves, beside a hook that reports work.
    struct Quiet(std::path::PathBuf);

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
            let rec =
                status_file::StatusRecord::now(ActivityState::Active, Some("UserPromptSubmit"));
            status_file::append(&self.0, &rec).map_err(|e| SdkError::Internal(e.to_string()))
        }
    }

    #[test]
    fn a_hook_saying_active_after_enter_is_an_acknowledgement() {
        let path = std::env::temp_dir().join(format!("ao-delivery-hook-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let old = status_file::StatusRecord {
            at_ms: 1,
            state: ActivityState::Active,
            event: Some("stale".into()),
            detail: None,
            session: None,
        };
        status_file::append(&path, &old).unwrap();
        let mut opts = quick();
        opts.status_file = Some(path.display().to_string());
        let out = deliver(&Ctx::detached(), &Quiet(path.clone()), "x", &opts).unwrap();
        assert!(out.acknowledged, "{out:?}");
        assert_eq!(out.evidence, "hook: active (UserPromptSubmit)");
        std::fs::remove_file(&path).unwrap();
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

//! Keeps panics on the plugin's side of the waist.
//!
//! An unwind that reaches an `extern "C"` boundary aborts the whole process, host included. So
//! every entry point runs through [`run`], which turns a panic into a `PANICKED` error carrying the
//! panic message and location. The plugin's copy of std has its own panic hook, which would print
//! to the terminal the host may be drawing on; [`install_hook`] replaces it with one that records
//! the message for [`run`] and forwards it to the host's log.

use crate::abi::{ErrorCode, PluginError};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces this library's panic hook (once). The host's hook is untouched: it lives in the
/// host's own copy of std.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            let text = match info.location() {
                Some(loc) => format!("{msg} (at {}:{})", loc.file(), loc.line()),
                None => msg,
            };
            crate::sdk::logging::forward_panic(&text);
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

/// Runs `f`, converting a panic into `Err(PANICKED)`. `what` names the entry point.
pub fn run<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> Result<T, PluginError> {
    install_hook();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
            let msg = recorded
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(PluginError::new(
                ErrorCode::PANICKED,
                format!("plugin panicked in `{what}`: {msg}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_location() {
        let r: Result<(), _> = run("notify", || panic!("boom {}", 42));
        let e = r.unwrap_err();
        assert_eq!(e.code, ErrorCode::PANICKED);
        assert!(
            e.message
                .as_str()
                .starts_with("plugin panicked in `notify`: boom 42 (at ")
        );
        assert!(e.message.as_str().contains("guard.rs"));
    }

    #[test]
    fn ordinary_results_pass_through() {
        assert_eq!(run("x", || Ok::<_, PluginError>(5)).unwrap(), 5);
    }
}

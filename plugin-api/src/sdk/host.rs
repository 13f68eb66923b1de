//! The plugin's view of the host ([`HostHandle`]) and of one call ([`Ctx`]).

use crate::abi::{AbiStr, HostBox, LogRecord};
use crate::manifest::{CallCtx, HostInfo, host_verbs};
use crate::sdk::SdkError;
use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A cheap, clonable handle on the host that loaded this plugin.
#[derive(Clone)]
pub struct HostHandle {
    inner: Arc<HostBox>,
    info: Arc<HostInfo>,
}

impl std::fmt::Debug for HostHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostHandle")
            .field("info", &self.info)
            .finish()
    }
}

impl HostHandle {
    pub(crate) fn new(host: HostBox, info: HostInfo) -> Self {
        Self {
            inner: Arc::new(host),
            info: Arc::new(info),
        }
    }

    /// Facts about the host (version, protocol, data dir).
    pub fn info(&self) -> &HostInfo {
        &self.info
    }

    /// Sends a log record to the host. Prefer the `tracing` macros, which end up here.
    pub fn log(&self, level: u8, target: &str, message: &str, fields_json: &str) {
        self.inner.log(LogRecord {
            level,
            target: target.into(),
            message: message.into(),
            fields_json: fields_json.into(),
        });
    }

    /// Pushes an asynchronous event to the host.
    pub fn emit(&self, event: &serde_json::Value) -> Result<(), SdkError> {
        let json = event.to_string();
        self.inner
            .emit(AbiStr::from(json.as_str()))
            .into_result()
            .map_err(SdkError::from)
    }

    /// A generic request to the host (see `manifest::host_verbs`).
    pub fn call_host(
        &self,
        verb: &str,
        params: &serde_json::Value,
    ) -> Result<serde_json::Value, SdkError> {
        let params = params.to_string();
        let out = self
            .inner
            .call_host(AbiStr::from(verb), AbiStr::from(params.as_str()))
            .into_result()
            .map_err(SdkError::from)?;
        serde_json::from_str(out.as_str())
            .map_err(|e| SdkError::Internal(format!("host answered `{verb}` with bad JSON: {e}")))
    }

    /// Resolves a secret the user's config references as `${NAME}`. The value never needs to be
    /// stored in the plugin's config.
    pub fn secret(&self, name: &str) -> Result<String, SdkError> {
        let v = self.call_host(host_verbs::SECRET_GET, &serde_json::json!({ "name": name }))?;
        v.get("value")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| SdkError::NotFound(format!("secret `{name}` is not set")))
    }
}

/// The set of request ids the host has cancelled, shared by an instance and its calls.
#[derive(Default)]
pub(crate) struct CancelSet {
    ids: Mutex<HashSet<u64>>,
    changed: Condvar,
}

impl CancelSet {
    pub(crate) fn cancel(&self, id: u64) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        self.changed.notify_all();
    }

    pub(crate) fn forget(&self, id: u64) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    fn contains(&self, id: u64) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }
}

/// One call's context: its ids, its deadline and whether the host gave up on it.
pub struct Ctx {
    call: CallCtx,
    started: Instant,
    cancels: Arc<CancelSet>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("call", &self.call).finish()
    }
}

impl Ctx {
    pub(crate) fn new(call: CallCtx, cancels: Arc<CancelSet>) -> Self {
        Self {
            call,
            started: Instant::now(),
            cancels,
        }
    }

    /// A context for calling a component directly in unit tests, with no deadline.
    pub fn detached() -> Self {
        Self::new(CallCtx::default(), Arc::default())
    }

    /// The envelope the host sent.
    pub fn call(&self) -> &CallCtx {
        &self.call
    }

    /// Whether the host has cancelled this call (long operations should poll this).
    pub fn is_cancelled(&self) -> bool {
        self.cancels.contains(self.call.request_id)
    }

    /// `Err(Cancelled)` once the host has cancelled this call.
    pub fn check(&self) -> Result<(), SdkError> {
        if self.is_cancelled() {
            Err(SdkError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Time left before the host stops waiting, if it set a timeout.
    pub fn remaining(&self) -> Option<Duration> {
        let total = Duration::from_millis(self.call.timeout_ms?);
        Some(total.saturating_sub(self.started.elapsed()))
    }

    /// Sleeps for `d`, or less if the call is cancelled meanwhile (then `Err(Cancelled)`).
    /// Use it for retry back-off so a cancelled call stops promptly.
    pub fn sleep(&self, d: Duration) -> Result<(), SdkError> {
        let deadline = Instant::now() + d;
        let mut ids = self.cancels.ids.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if ids.contains(&self.call.request_id) {
                return Err(SdkError::Cancelled);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            ids = self
                .cancels
                .changed
                .wait_timeout(ids, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_early_when_cancelled() {
        let cancels = Arc::new(CancelSet::default());
        let ctx = Ctx::new(
            CallCtx {
                request_id: 7,
                ..Default::default()
            },
            cancels.clone(),
        );
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            let r = ctx.sleep(Duration::from_secs(30));
            (r.is_err(), start.elapsed())
        });
        // Cancelling an unrelated id must not wake it up for good.
        cancels.cancel(8);
        cancels.cancel(7);
        let (cancelled, took) = t.join().unwrap();
        assert!(cancelled);
        assert!(took < Duration::from_secs(10));
    }

    #[test]
    fn remaining_counts_down_from_the_timeout() {
        let ctx = Ctx::new(
            CallCtx {
                request_id: 1,
                timeout_ms: Some(60_000),
                ..Default::default()
            },
            Arc::default(),
        );
        let left = ctx.remaining().unwrap();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
        assert!(Ctx::detached().remaining().is_none());
    }
}

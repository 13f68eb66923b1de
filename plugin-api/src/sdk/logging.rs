//! Forwards the plugin's `tracing` events to the host.
//!
//! A cdylib has its own copy of tracing's globals, so the host's subscriber is invisible here and
//! `info!` would go nowhere. On first instantiation the SDK installs [`Forwarder`] as this
//! library's global subscriber; it turns each event into a `LogRecord` for `Host::log`. Spans are
//! not forwarded: put correlation ids in the call context instead.
//!
//! Which host handle gets an event: the one of the instance whose call (or constructor) is
//! running on this thread, so a library with several components attributes each log line to the
//! right one; on the plugin's own background threads, the first host that instantiated anything.

use crate::sdk::HostHandle;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

static FALLBACK: OnceLock<HostHandle> = OnceLock::new();

thread_local! {
    static CURRENT: RefCell<Option<HostHandle>> = const { RefCell::new(None) };
}

/// Installs the forwarder for this library (once) and records the fallback host.
pub(crate) fn install(host: &HostHandle) {
    if FALLBACK.set(host.clone()).is_ok() {
        let max = level_filter(host.info().log_level);
        // Fails only if the plugin installed its own subscriber, which then keeps precedence.
        let _ = tracing::subscriber::set_global_default(Forwarder { max });
    }
}

/// Runs `f` with `host` as this thread's log destination.
pub(crate) fn scoped<R>(host: &HostHandle, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(Some(host.clone())));
    // Restored even if `f` panics (the guard in `sdk::guard` catches the panic above us).
    struct Restore(Option<HostHandle>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// Makes `host` this thread's log destination until replaced (for `TestHost`).
pub(crate) fn set_thread_host(host: &HostHandle) {
    CURRENT.with(|c| *c.borrow_mut() = Some(host.clone()));
}

fn with_host(f: impl FnOnce(&HostHandle)) {
    let current = CURRENT.with(|c| c.borrow().clone());
    if let Some(host) = current.as_ref().or_else(|| FALLBACK.get()) {
        f(host);
    }
}

/// Sends a panic message to the host log, if a host is known yet.
pub(crate) fn forward_panic(text: &str) {
    with_host(|host| host.log(1, "panic", text, ""));
}

fn level_filter(n: u8) -> LevelFilter {
    match n {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// The level numbers `LogRecord` uses: 1 = error … 5 = trace.
pub fn level_number(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

struct Forwarder {
    max: LevelFilter,
}

impl Subscriber for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut v = FieldsVisitor::default();
        event.record(&mut v);
        let fields = if v.fields.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(v.fields).to_string()
        };
        let meta = event.metadata();
        with_host(|host| {
            host.log(
                level_number(meta.level()),
                meta.target(),
                &v.message,
                &fields,
            )
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct FieldsVisitor {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for FieldsVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.insert(field.name().into(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields
                .insert(field.name().into(), format!("{value:?}").into());
        }
    }
}

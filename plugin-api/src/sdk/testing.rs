//! A host for a plugin's own unit tests: build a component with [`TestHost::handle`], call its
//! methods with [`crate::sdk::Ctx::detached`], and look at what it logged and emitted.

use crate::abi::{self, AbiResult, AbiStr, AbiString, ErrorCode, Host, LogRecord, PluginError};
use crate::manifest::{HostInfo, PROTOCOL_VERSION, host_verbs};
use crate::sdk::HostHandle;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// An in-memory host that records logs and events and answers secrets from a map.
#[derive(Debug, Default)]
pub struct TestHost {
    secrets: Mutex<BTreeMap<String, String>>,
    logs: Mutex<Vec<String>>,
    events: Mutex<Vec<serde_json::Value>>,
}

impl TestHost {
    /// A host with no secrets.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Makes `secret(name)` answer `value`.
    pub fn set_secret(&self, name: &str, value: &str) {
        self.secrets
            .lock()
            .unwrap()
            .insert(name.into(), value.into());
    }

    /// A handle to give to a component's `new`. Log forwarding is installed too: `tracing`
    /// events on this thread (each `#[test]` runs on its own) are recorded by this host.
    pub fn handle(self: &Arc<Self>) -> HostHandle {
        let info = HostInfo {
            ao_version: "test".into(),
            protocol: PROTOCOL_VERSION.into(),
            abi: abi::ABI_VERSION,
            log_level: 5,
            ..HostInfo::default()
        };
        let handle = HostHandle::new(abi::box_host(Shared(self.clone())), info);
        crate::sdk::logging::install(&handle);
        crate::sdk::logging::set_thread_host(&handle);
        handle
    }

    /// Log lines so far, as `LEVEL message`.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Events emitted so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.events.lock().unwrap().clone()
    }
}

struct Shared(Arc<TestHost>);

impl Host for Shared {
    fn log(&self, r: LogRecord) {
        let level = ["OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"][usize::from(r.level.min(5))];
        self.0
            .logs
            .lock()
            .unwrap()
            .push(format!("{level} {}", r.message));
    }

    fn emit(&self, event_json: AbiStr<'_>) -> AbiResult<(), PluginError> {
        match serde_json::from_str(event_json.as_str()) {
            Ok(v) => {
                self.0.events.lock().unwrap().push(v);
                Ok(()).into()
            }
            Err(e) => Err(PluginError::new(ErrorCode::INVALID_PARAMS, e.to_string())).into(),
        }
    }

    fn call_host(
        &self,
        method: AbiStr<'_>,
        params: AbiStr<'_>,
    ) -> AbiResult<AbiString, PluginError> {
        let params: serde_json::Value = serde_json::from_str(params.as_str()).unwrap_or_default();
        let out = match method.as_str() {
            host_verbs::SECRET_GET => {
                let name = params["name"].as_str().unwrap_or_default();
                match self.0.secrets.lock().unwrap().get(name) {
                    Some(v) => Ok(serde_json::json!({ "value": v }).to_string()),
                    None => Err(PluginError::new(
                        ErrorCode::NOT_FOUND,
                        format!("no secret `{name}`"),
                    )),
                }
            }
            other => Err(PluginError::new(
                ErrorCode::UNSUPPORTED_METHOD,
                other.to_string(),
            )),
        };
        out.map(AbiString::from).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{Ctx, SdkError};
    use crate::slots::notifier::{Notification, Notifier, NotifyOutcome, NotifyRequest, Priority};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Config {
        name: String,
    }

    struct Named(String);

    impl Notifier for Named {
        type Config = Config;
        fn new(config: Config, _: &HostHandle) -> Result<Self, SdkError> {
            tracing::info!("built {}", config.name);
            Ok(Named(config.name))
        }
        fn notify(&self, _: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
            tracing::info!("{} got {}", self.0, req.notification.title);
            Ok(NotifyOutcome::default())
        }
    }

    fn request(title: &str) -> NotifyRequest {
        NotifyRequest {
            notification: Notification {
                event_type: "x".into(),
                priority: Priority::Info,
                title: title.into(),
                message: String::new(),
                session_id: None,
                project_id: None,
                pr_url: None,
                url: None,
                timestamp_ms: 0,
                data: serde_json::Value::Null,
            },
        }
    }

    #[test]
    fn each_threads_logs_reach_its_own_host() {
        let run = |name: &'static str| {
            std::thread::spawn(move || {
                let host = TestHost::new();
                let n = Named::new(Config { name: name.into() }, &host.handle()).unwrap();
                for i in 0..20 {
                    n.notify(&Ctx::detached(), request(&i.to_string())).unwrap();
                }
                host.logs()
            })
        };
        let (a, b) = (run("a"), run("b"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(a.len(), 21, "{a:?}");
        assert!(
            a.iter()
                .all(|l| l.contains("built a") || l.starts_with("INFO a got")),
            "{a:?}"
        );
        assert!(
            b.iter()
                .all(|l| l.contains("built b") || l.starts_with("INFO b got")),
            "{b:?}"
        );
    }

    #[test]
    fn a_scoped_host_wins_and_is_restored_afterwards() {
        let outer = TestHost::new();
        let inner = TestHost::new();
        let (outer_handle, inner_handle) = (outer.handle(), inner.handle());
        crate::sdk::logging::set_thread_host(&outer_handle);
        crate::sdk::logging::scoped(&inner_handle, || tracing::info!("inside"));
        tracing::info!("after");
        assert_eq!(inner.logs(), ["INFO inside"]);
        assert_eq!(outer.logs(), ["INFO after"]);
    }
}

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

    /// A handle to give to a component's `new`. Log forwarding from `tracing` is installed too.
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

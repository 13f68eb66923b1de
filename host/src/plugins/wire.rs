//! The JSON-lines protocol between `ao` and `ao __plugin-shim serve`, which runs one component
//! of a library in a child process. It carries exactly what crosses the ABI waist in process.

use ao_plugin_api::abi::{AbiString, ErrorCode, PluginError};
use serde::{Deserialize, Serialize};

/// Parent → child.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToShim {
    /// First line: build the instance.
    Instantiate {
        /// `slot/name`.
        component: String,
        /// The component's config, JSON text.
        config: String,
        /// `HostInfo`, JSON text.
        host_info: String,
    },
    /// Run a method.
    Call {
        /// The request id (also in `ctx`).
        id: u64,
        /// Method name.
        method: String,
        /// Params, JSON text.
        params: String,
        /// `CallCtx`, JSON text.
        ctx: String,
    },
    /// Cancel a call.
    Cancel {
        /// The request id.
        id: u64,
    },
    /// The answer to a `CallHost`.
    HostReply {
        /// The `CallHost` id.
        id: u64,
        /// Its result.
        result: WireResult,
    },
    /// Stop the instance and exit.
    Shutdown,
}

/// Child → parent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FromShim {
    /// The instance exists.
    Ready,
    /// The library could not be opened or the instance could not be built.
    Failed {
        /// Why.
        error: WireError,
    },
    /// A call finished.
    Result {
        /// Its request id.
        id: u64,
        /// Its result.
        result: WireResult,
    },
    /// A `Host::log` record.
    Log {
        /// 1 = error … 5 = trace.
        level: u8,
        /// The plugin-side target.
        target: String,
        /// The message.
        message: String,
        /// Fields, JSON text or empty.
        fields: String,
    },
    /// A `Host::emit` event, JSON text.
    Emit {
        /// The event.
        event: String,
    },
    /// A `Host::call_host` request; answered with `HostReply`.
    CallHost {
        /// Correlates the reply.
        id: u64,
        /// The verb.
        method: String,
        /// Params, JSON text.
        params: String,
    },
}

/// A result across the pipe: JSON text or an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireResult {
    /// Success, JSON text.
    Ok(String),
    /// Failure.
    Err(WireError),
}

/// `PluginError` as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// `ErrorCode` value.
    pub code: u32,
    /// One line.
    pub message: String,
    /// Whether a retry may help.
    pub retryable: bool,
    /// Details, JSON text or empty.
    #[serde(default)]
    pub details: String,
}

impl From<PluginError> for WireError {
    fn from(e: PluginError) -> Self {
        Self {
            code: e.code.0,
            message: e.message.into_string(),
            retryable: e.retryable,
            details: e.details_json.into_string(),
        }
    }
}

impl From<WireError> for PluginError {
    fn from(e: WireError) -> Self {
        PluginError {
            code: ErrorCode(e.code),
            message: AbiString::from(e.message),
            retryable: e.retryable,
            details_json: AbiString::from(e.details),
        }
    }
}

impl From<Result<String, PluginError>> for WireResult {
    fn from(r: Result<String, PluginError>) -> Self {
        match r {
            Ok(s) => WireResult::Ok(s),
            Err(e) => WireResult::Err(e.into()),
        }
    }
}

impl From<WireResult> for Result<String, PluginError> {
    fn from(r: WireResult) -> Self {
        match r {
            WireResult::Ok(s) => Ok(s),
            WireResult::Err(e) => Err(e.into()),
        }
    }
}

/// Serialises one message as a line.
pub fn line<T: Serialize>(msg: &T) -> String {
    let mut s = serde_json::to_string(msg).expect("wire messages serialise");
    s.push('\n');
    s
}

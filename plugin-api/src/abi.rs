//! The frozen ABI waist between `ao` and its plugins: the only module that uses abi_stable.
//!
//! Everything here is type-checked by abi_stable when a library loads, and that check has a
//! direction: a host whose types grew a field refuses plugins built before the growth. So within
//! ABI major 1 **nothing in this file may change shape** — no field, no method, no variant. New
//! needs become new protocol method names, new JSON fields (see [`crate::slots`]) or new
//! `call_host` verbs. A second ABI would add a `PluginRootV2` beside this one.
//!
//! The waist is ten function pointers:
//! - the root module: [`PluginRoot`] with `abi`, `manifest()` and `instantiate(..)`;
//! - an [`Instance`] trait object: `call`, `cancel`, `shutdown`;
//! - a [`Host`] trait object implemented by `ao`: `log`, `emit`, `call_host`;
//! - [`PluginError`] with an open set of [`ErrorCode`]s.
//!
//! Plugin authors never use this module; `export_plugin!` generates all of it.
// `#[sabi_trait]` expands to items that trip these lints on current rustc.
#![allow(
    non_local_definitions,
    non_camel_case_types,
    missing_docs,
    unreachable_pub
)]

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RStr, RString},
};

#[doc(hidden)]
pub use abi_stable::library::{
    __call_root_module_loader, CheckTypeLayout, LibHeader, LibraryError, ROOT_MODULE_LOADER_NAME,
    RootModuleError, RootModuleResult, lib_header_from_path,
};
pub use abi_stable::std_types::RString as AbiString;
pub use abi_stable::std_types::{RBox as AbiBox, RResult as AbiResult, RStr as AbiStr};

/// The ABI major this crate speaks. Stored in every root module as a cheap sanity value.
pub const ABI_VERSION: u32 = 1;

/// The root module every plugin library exports (through `export_plugin!`).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRootRef)))]
#[sabi(missing_field(panic))]
pub struct PluginRoot {
    /// Always [`ABI_VERSION`].
    pub abi: u32,
    /// The plugin's manifest as JSON (see [`crate::manifest::Manifest`]).
    pub manifest: extern "C" fn() -> RString,
    /// Creates one instance of a component (`"notifier/webhook"`) from its JSON config.
    #[sabi(last_prefix_field)]
    pub instantiate: extern "C" fn(
        component: RStr<'_>,
        config_json: RStr<'_>,
        host_info_json: RStr<'_>,
        host: HostBox,
    ) -> RResult<InstanceBox, PluginError>,
}

impl RootModule for PluginRootRef {
    declare_root_module_statics! {PluginRootRef}
    const BASE_NAME: &'static str = "ao_plugin";
    const NAME: &'static str = "ao_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// One live component inside a plugin. Calls may arrive concurrently from several host threads.
#[sabi_trait]
pub trait Instance: Send + Sync {
    /// Runs one protocol method. `params_json` and the returned string are the method's serde
    /// types; `ctx_json` is a [`crate::manifest::CallCtx`].
    fn call(
        &self,
        method: RStr<'_>,
        params_json: RStr<'_>,
        ctx_json: RStr<'_>,
    ) -> RResult<RString, PluginError>;

    /// Asks the call with this request id to stop. Best effort: long calls poll for it.
    fn cancel(&self, request_id: u64);

    /// Flushes and stops whatever the instance runs in the background. Called once, last.
    #[sabi(last_prefix_field)]
    fn shutdown(&self);
}

/// An owned [`Instance`] trait object.
pub type InstanceBox = Instance_TO<'static, RBox<()>>;

/// What `ao` offers a plugin. Implemented by the host.
#[sabi_trait]
pub trait Host: Send + Sync {
    /// Forwards one log record to the host's tracing.
    fn log(&self, record: LogRecord);

    /// Pushes an asynchronous event (stream output, state change) to the host. Never blocks.
    fn emit(&self, event_json: RStr<'_>) -> RResult<(), PluginError>;

    /// A generic request to the host: `"secret.get"`, `"host.info"`, … (see `crate::host_verbs`).
    #[sabi(last_prefix_field)]
    fn call_host(&self, method: RStr<'_>, params_json: RStr<'_>) -> RResult<RString, PluginError>;
}

/// An owned [`Host`] trait object.
pub type HostBox = Host_TO<'static, RBox<()>>;

/// One log line from a plugin.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct LogRecord {
    /// 1 = error, 2 = warn, 3 = info, 4 = debug, 5 = trace.
    pub level: u8,
    /// The plugin-side module path that logged.
    pub target: RString,
    /// The formatted message.
    pub message: RString,
    /// Structured fields as a JSON object, or empty.
    pub fields_json: RString,
}

/// An error crossing the waist. `code` is an open set: unknown codes stay valid values.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What kind of failure (see the constants on [`ErrorCode`]).
    pub code: ErrorCode,
    /// One line a person can act on.
    pub message: RString,
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// Structured detail as JSON, or empty.
    pub details_json: RString,
}

/// An extensible error code. A newtype rather than an enum so that codes can be added within
/// ABI 1 without changing the checked layout.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Something went wrong inside the plugin.
    pub const INTERNAL: Self = Self(1);
    /// The component config was rejected.
    pub const INVALID_CONFIG: Self = Self(2);
    /// The method's parameters were rejected.
    pub const INVALID_PARAMS: Self = Self(3);
    /// The component does not implement this method.
    pub const UNSUPPORTED_METHOD: Self = Self(4);
    /// The thing asked about does not exist.
    pub const NOT_FOUND: Self = Self(5);
    /// A dependency (service, binary, network) is unavailable.
    pub const UNAVAILABLE: Self = Self(6);
    /// The call ran out of time.
    pub const TIMEOUT: Self = Self(7);
    /// The call was cancelled.
    pub const CANCELLED: Self = Self(8);
    /// The plugin panicked; the instance must not be used again.
    pub const PANICKED: Self = Self(9);
    /// Credentials are missing or lack a permission.
    pub const PERMISSION_DENIED: Self = Self(10);
    /// A remote service refused because of rate limits.
    pub const RATE_LIMITED: Self = Self(11);
    /// The request conflicts with the current state (e.g. a branch already exists).
    pub const CONFLICT: Self = Self(12);
    /// The component named in `instantiate` is not in this library.
    pub const UNKNOWN_COMPONENT: Self = Self(13);

    /// A short stable name for logs and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::INTERNAL => "internal",
            Self::INVALID_CONFIG => "invalid_config",
            Self::INVALID_PARAMS => "invalid_params",
            Self::UNSUPPORTED_METHOD => "unsupported_method",
            Self::NOT_FOUND => "not_found",
            Self::UNAVAILABLE => "unavailable",
            Self::TIMEOUT => "timeout",
            Self::CANCELLED => "cancelled",
            Self::PANICKED => "panicked",
            Self::PERMISSION_DENIED => "permission_denied",
            Self::RATE_LIMITED => "rate_limited",
            Self::CONFLICT => "conflict",
            Self::UNKNOWN_COMPONENT => "unknown_component",
            _ => "unknown",
        }
    }
}

impl PluginError {
    /// A non-retryable error with no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: RString::from(message.into()),
            retryable: false,
            details_json: RString::new(),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for PluginError {}

/// Wraps a plugin-side [`Instance`] implementation into the ABI trait object.
#[doc(hidden)]
pub fn box_instance<T: Instance + 'static>(instance: T) -> InstanceBox {
    Instance_TO::from_value(instance, abi_stable::sabi_trait::TD_Opaque)
}

/// Wraps the host's [`Host`] implementation into the ABI trait object.
#[doc(hidden)]
pub fn box_host<T: Host + 'static>(host: T) -> HostBox {
    Host_TO::from_value(host, abi_stable::sabi_trait::TD_Opaque)
}

/// Builds the root module value a library exports.
#[doc(hidden)]
pub fn make_root(
    manifest: extern "C" fn() -> RString,
    instantiate: extern "C" fn(
        RStr<'_>,
        RStr<'_>,
        RStr<'_>,
        HostBox,
    ) -> RResult<InstanceBox, PluginError>,
) -> PluginRootRef {
    use abi_stable::prefix_type::PrefixTypeTrait;
    PluginRoot {
        abi: ABI_VERSION,
        manifest,
        instantiate,
    }
    .leak_into_prefix()
}

#[cfg(test)]
mod tests {
    /// `export_plugin!` spells the root-module static's mangled name by hand so that plugin
    /// crates need no abi_stable dependency; this pins the spelling to abi_stable's own.
    #[test]
    fn export_macro_uses_abi_stables_loader_symbol() {
        assert_eq!(
            super::ROOT_MODULE_LOADER_NAME,
            crate::sdk::export::ROOT_SYMBOL
        );
    }
}

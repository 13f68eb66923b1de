//! The plugin author's side: plain Rust traits per slot (in [`crate::slots`]), typed configs,
//! and [`crate::export_plugin!`], which turns them into a loadable library.
//!
//! What the SDK does so that authors do not have to:
//! - every entry point runs under `catch_unwind`; a panic becomes a `PANICKED` error and its
//!   message goes to the host's log, never to the terminal (see [`guard`]);
//! - `tracing` events inside the plugin are forwarded to the host (see [`logging`]);
//! - configs and requests are decoded from JSON into the author's types, with one-line errors;
//! - cancellation and deadlines are visible through [`Ctx`].
//!
//! And the parts every adapter of a kind would otherwise rewrite: [`command`] (argv + deadline +
//! cancellation), [`procs`] (is the agent's process alive), [`delivery`] (acknowledged message
//! delivery over any terminal), [`git`] and [`post_create`] (workspace plugins), [`agent`]
//! (transcript tails, activity layering, prices: agent plugins).

pub mod agent;
pub mod answer;
pub mod command;
#[cfg(feature = "container")]
pub mod container;
pub mod delivery;
pub mod error;
#[doc(hidden)]
pub mod export;
pub mod git;
pub mod guard;
mod host;
#[cfg(feature = "http")]
pub mod http;
#[doc(hidden)]
pub mod instance;
pub mod logging;
pub mod notify;
pub mod post_create;
pub mod procs;
pub mod testing;
pub mod tmux;

pub use error::SdkError;
pub use host::{Ctx, HostHandle};

use crate::manifest::Slot;

/// How a slot trait is turned into a component. Implemented once per slot by `slots::*::Adapter`;
/// authors never implement it.
#[doc(hidden)]
pub trait ComponentKind {
    /// The slot the component fills.
    const SLOT: Slot;
    /// Protocol methods the component answers.
    fn methods() -> Vec<String>;
    /// JSON Schema of the component's config.
    fn config_schema() -> serde_json::Value;
    /// Decodes the config and builds the component.
    fn instantiate(config_json: &str, host: &HostHandle) -> Result<Box<dyn Dispatch>, SdkError>;
}

/// A live component: routes a method name to the author's typed method.
#[doc(hidden)]
pub trait Dispatch: Send + Sync {
    /// Decodes `params_json`, calls the method, encodes the answer.
    fn call(&self, method: &str, params_json: &str, ctx: &Ctx) -> Result<String, SdkError>;
    /// Lets the component stop background work.
    fn shutdown(&self);
}

/// Decodes a request, naming the method on failure.
#[doc(hidden)]
pub fn decode<T: serde::de::DeserializeOwned>(method: &str, json: &str) -> Result<T, SdkError> {
    let json = if json.trim().is_empty() { "null" } else { json };
    serde_json::from_str(json)
        .map_err(|e| SdkError::InvalidParams(format!("bad parameters for `{method}`: {e}")))
}

/// Encodes a response.
#[doc(hidden)]
pub fn encode<T: serde::Serialize>(value: &T) -> Result<String, SdkError> {
    serde_json::to_string(value)
        .map_err(|e| SdkError::Internal(format!("could not encode the response: {e}")))
}

/// Decodes a component config, turning serde's message into one line that names the config.
#[doc(hidden)]
pub fn decode_config<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, SdkError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| SdkError::InvalidConfig(format!("invalid config: {e}")))
}

/// The JSON Schema of a config type.
#[doc(hidden)]
pub fn schema_of<T: schemars::JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(serde_json::Value::Null)
}

/// Required methods plus the optional ones an implementation says it overrides, de-duplicated.
#[doc(hidden)]
pub fn method_list(required: &[&str], optional_known: &[&str], declared: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = required.iter().map(|m| m.to_string()).collect();
    for m in declared {
        if optional_known.contains(m) && !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    out
}

/// Generates a slot's `Adapter<T>` (the [`ComponentKind`]) and its dispatcher from a method
/// table, so that each slot file only lists `CONST => method(Request)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __slot_adapter {
    (
        slot: $slot:expr, trait: $tr:ident,
        required: [ $( $rconst:ident => $rfn:ident ),* $(,)? ],
        optional: [ $( $oconst:ident => $ofn:ident ),* $(,)? ] $(,)?
    ) => {
        /// Turns an implementation of the slot trait into a component (used by `export_plugin!`).
        #[doc(hidden)]
        pub struct Adapter<T>(::std::marker::PhantomData<T>);

        struct Live<T>(T);

        impl<T: $tr> $crate::sdk::ComponentKind for Adapter<T> {
            const SLOT: $crate::manifest::Slot = $slot;
            fn methods() -> Vec<String> {
                $crate::sdk::method_list(
                    &[$($rconst),*],
                    &[$($oconst),*],
                    T::IMPLEMENTS,
                )
            }
            fn config_schema() -> $crate::serde_json::Value {
                $crate::sdk::schema_of::<T::Config>()
            }
            fn instantiate(
                config_json: &str,
                host: &$crate::sdk::HostHandle,
            ) -> Result<Box<dyn $crate::sdk::Dispatch>, $crate::sdk::SdkError> {
                let config: T::Config = $crate::sdk::decode_config(config_json)?;
                Ok(Box::new(Live(T::new(config, host)?)))
            }
        }

        impl<T: $tr> $crate::sdk::Dispatch for Live<T> {
            fn call(
                &self,
                method: &str,
                params_json: &str,
                ctx: &$crate::sdk::Ctx,
            ) -> Result<String, $crate::sdk::SdkError> {
                match method {
                    $( $rconst => {
                        let req = $crate::sdk::decode(method, params_json)?;
                        $crate::sdk::encode(&self.0.$rfn(ctx, req)?)
                    } )*
                    $( $oconst if T::IMPLEMENTS.contains(&$oconst) => {
                        let req = $crate::sdk::decode(method, params_json)?;
                        $crate::sdk::encode(&self.0.$ofn(ctx, req)?)
                    } )*
                    other => Err($crate::sdk::SdkError::Unsupported(format!(
                        "{} component does not implement `{other}`",
                        <Adapter<T> as $crate::sdk::ComponentKind>::SLOT
                    ))),
                }
            }
            fn shutdown(&self) {
                self.0.shutdown();
            }
        }
    };
}

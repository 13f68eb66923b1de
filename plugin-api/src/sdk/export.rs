//! What `export_plugin!` expands to, kept out of the macro so that it is ordinary checked code.

use crate::abi::{
    self, AbiResult, AbiStr, AbiString, ErrorCode, HostBox, InstanceBox, PluginError, PluginRootRef,
};
use crate::manifest::{ComponentManifest, HostInfo, Manifest, Slot};
use crate::sdk::instance::PluginInstance;
use crate::sdk::{ComponentKind, Dispatch, HostHandle, SdkError, guard, logging};

/// abi_stable's mangled name for the root-module static (`_as.lib_header.root module loader`).
/// Spelled out so the macro can emit it; a unit test pins it to abi_stable's constant.
pub const ROOT_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// The static description `export_plugin!` builds for a library.
pub struct PluginDef {
    /// Plugin id.
    pub name: &'static str,
    /// The plugin crate's version.
    pub version: &'static str,
    /// One line.
    pub description: &'static str,
    /// The protocol it speaks (always `PROTOCOL_VERSION` outside fixtures).
    pub protocol: &'static str,
    /// Its components.
    pub components: &'static [ComponentDef],
}

/// Builds a component from its JSON config.
type Factory = fn(&str, &HostHandle) -> Result<Box<dyn Dispatch>, SdkError>;

/// One component of a [`PluginDef`].
pub struct ComponentDef {
    slot: Slot,
    name: &'static str,
    methods: fn() -> Vec<String>,
    schema: fn() -> serde_json::Value,
    instantiate: Factory,
}

impl ComponentDef {
    /// The component for slot adapter `K`, named `name`.
    pub const fn of<K: ComponentKind>(name: &'static str) -> Self {
        Self {
            slot: K::SLOT,
            name,
            methods: K::methods,
            schema: K::config_schema,
            instantiate: K::instantiate,
        }
    }
}

/// The build target as `arch-os-env`, computed the same way by host and plugin.
pub fn target_triple() -> String {
    let env = if cfg!(target_env = "gnu") {
        "gnu"
    } else if cfg!(target_env = "musl") {
        "musl"
    } else if cfg!(target_env = "msvc") {
        "msvc"
    } else {
        "none"
    };
    format!(
        "{}-{}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS,
        env
    )
}

/// The manifest of a plugin definition.
pub fn manifest(def: &PluginDef) -> Manifest {
    Manifest {
        name: def.name.to_string(),
        version: def.version.to_string(),
        description: def.description.to_string(),
        abi: abi::ABI_VERSION,
        protocol: def.protocol.to_string(),
        sdk_version: env!("CARGO_PKG_VERSION").to_string(),
        target: target_triple(),
        panic: if cfg!(panic = "unwind") {
            "unwind"
        } else {
            "abort"
        }
        .to_string(),
        components: def
            .components
            .iter()
            .map(|c| ComponentManifest {
                slot: c.slot,
                name: c.name.to_string(),
                config_schema: (c.schema)(),
                methods: (c.methods)(),
            })
            .collect(),
    }
}

/// The root module's `manifest()`.
pub fn manifest_json(def: &PluginDef) -> AbiString {
    let json = guard::run("manifest", || {
        serde_json::to_string(&manifest(def))
            .map_err(|e| PluginError::new(ErrorCode::INTERNAL, e.to_string()))
    });
    // A manifest that cannot be produced is reported as JSON the host will refuse to parse.
    AbiString::from(json.unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.message.as_str())))
}

/// The root module's `instantiate(..)`.
pub fn instantiate(
    def: &PluginDef,
    component: AbiStr<'_>,
    config_json: AbiStr<'_>,
    host_info_json: AbiStr<'_>,
    host: HostBox,
) -> AbiResult<InstanceBox, PluginError> {
    guard::run("instantiate", || {
        let info: HostInfo = serde_json::from_str(host_info_json.as_str()).map_err(|e| {
            PluginError::new(ErrorCode::INVALID_PARAMS, format!("bad host info: {e}"))
        })?;
        let host = HostHandle::new(host, info);
        logging::install(&host);
        let wanted = component.as_str();
        let Some(c) = def
            .components
            .iter()
            .find(|c| format!("{}/{}", c.slot, c.name) == wanted)
        else {
            return Err(PluginError::new(
                ErrorCode::UNKNOWN_COMPONENT,
                format!("plugin `{}` has no component `{wanted}`", def.name),
            ));
        };
        let dispatch = logging::scoped(&host, || (c.instantiate)(config_json.as_str(), &host))?;
        Ok(abi::box_instance(PluginInstance::new(dispatch, host)))
    })
    .into()
}

/// The value the root-module constructor returns.
pub fn root_module(
    manifest: extern "C" fn() -> AbiString,
    instantiate: extern "C" fn(
        AbiStr<'_>,
        AbiStr<'_>,
        AbiStr<'_>,
        HostBox,
    ) -> AbiResult<InstanceBox, PluginError>,
) -> PluginRootRef {
    abi::make_root(manifest, instantiate)
}

/// Picks the given value, or the default when none was given.
#[doc(hidden)]
#[macro_export]
macro_rules! __first_or {
    ($x:expr, $d:expr) => {
        $x
    };
    (, $d:expr) => {
        $d
    };
}

/// Exports a plugin library. One line in a plugin's `lib.rs`:
///
/// ```ignore
/// ao_plugin_api::export_plugin! {
///     name: "notifier-webhook",
///     description: "POST events to a URL",
///     components: [ notifier "webhook" => WebhookNotifier ],
/// }
/// ```
///
/// Each component is `<slot> "<name>" => Type`, where `Type` implements that slot's trait from
/// [`crate::slots`]. `description` defaults to the crate's `description`. The library must be
/// built with `panic = "unwind"`; anything else is a compile error.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:literal,
        $( description: $desc:literal, )?
        $( protocol: $proto:literal, )?
        components: [ $( $slot:ident $cname:literal => $ty:ty ),+ $(,)? ] $(,)?
    ) => {
        #[cfg(not(panic = "unwind"))]
        compile_error!(
            "ao plugins must be built with panic = \"unwind\" (the SDK turns a plugin panic into \
             an error only if it can unwind): remove `panic = \"abort\"` from your profile"
        );

        #[doc(hidden)]
        static __AO_PLUGIN_DEF: $crate::sdk::export::PluginDef = $crate::sdk::export::PluginDef {
            name: $name,
            version: env!("CARGO_PKG_VERSION"),
            description: $crate::__first_or!($($desc)?, env!("CARGO_PKG_DESCRIPTION")),
            protocol: $crate::__first_or!($($proto)?, $crate::manifest::PROTOCOL_VERSION),
            components: &[ $(
                $crate::sdk::export::ComponentDef::of::<$crate::slots::$slot::Adapter<$ty>>($cname)
            ),+ ],
        };

        #[doc(hidden)]
        extern "C" fn __ao_plugin_manifest() -> $crate::abi::AbiString {
            $crate::sdk::export::manifest_json(&__AO_PLUGIN_DEF)
        }

        #[doc(hidden)]
        extern "C" fn __ao_plugin_instantiate(
            component: $crate::abi::AbiStr<'_>,
            config_json: $crate::abi::AbiStr<'_>,
            host_info_json: $crate::abi::AbiStr<'_>,
            host: $crate::abi::HostBox,
        ) -> $crate::abi::AbiResult<$crate::abi::InstanceBox, $crate::abi::PluginError> {
            $crate::sdk::export::instantiate(
                &__AO_PLUGIN_DEF, component, config_json, host_info_json, host,
            )
        }

        #[doc(hidden)]
        fn __ao_plugin_root() -> $crate::abi::PluginRootRef {
            $crate::sdk::export::root_module(__ao_plugin_manifest, __ao_plugin_instantiate)
        }

        #[doc(hidden)]
        extern "C" fn __ao_plugin_root_ctor() -> $crate::abi::RootModuleResult {
            $crate::abi::__call_root_module_loader(__ao_plugin_root)
        }

        /// The abi_stable library header the host looks up after `dlopen`.
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #[unsafe(no_mangle)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::abi::LibHeader = unsafe {
            $crate::abi::LibHeader::from_constructor::<$crate::abi::PluginRootRef>(
                __ao_plugin_root_ctor,
                $crate::abi::CheckTypeLayout::Yes,
            )
        };

        /// The manifest this library reports (for the plugin's own tests).
        #[doc(hidden)]
        pub fn ao_plugin_manifest() -> $crate::manifest::Manifest {
            $crate::sdk::export::manifest(&__AO_PLUGIN_DEF)
        }
    };
}

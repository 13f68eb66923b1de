//! Loaded plugins, with their components keyed by (slot, name).

use crate::Error;
use crate::error::did_you_mean;
use crate::plugins::catalog::{self, Catalog, Entry, Status};
use crate::plugins::component::{Backend, CallOptions, ComponentHandle};
use crate::plugins::loader;
use crate::plugins::{compat, precheck};
use ao_plugin_api::manifest::{ComponentManifest, HostInfo, Manifest, PROTOCOL_VERSION, Slot};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a plugin's code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// In the `ao` process: fastest; a crash (not a panic) in the plugin takes `ao` down.
    #[default]
    InProcess,
    /// One child process per instance: a crash or hang costs a restart of that child.
    Subprocess,
}

/// A plugin ready to instantiate.
pub struct LoadedPlugin {
    /// Its manifest (as the library itself reported it).
    pub manifest: Manifest,
    /// Its file.
    pub path: PathBuf,
    backend: Backend,
}

/// One component of a loaded plugin.
#[derive(Clone)]
pub struct ComponentEntry {
    /// The plugin providing it.
    pub plugin: Arc<LoadedPlugin>,
    /// Its manifest entry.
    pub manifest: ComponentManifest,
}

/// Everything loaded.
#[derive(Default)]
pub struct Registry {
    components: BTreeMap<(Slot, String), ComponentEntry>,
    /// Libraries that were `ok` in the catalog but failed to load, with why.
    pub failures: Vec<(PathBuf, String)>,
    /// Where plugin events go, if anyone listens.
    pub events: Option<tokio::sync::mpsc::Sender<Value>>,
    /// Host facts given to every instance.
    pub host_info: HostInfo,
}

impl Registry {
    /// Opens every usable library of the catalog in this process. A failure is recorded, never
    /// fatal.
    pub fn load(catalog: &Catalog) -> Registry {
        Self::load_with(catalog, Path::new("ao"), |_| Isolation::InProcess)
    }

    /// Like [`Registry::load`], choosing per plugin where it runs. Subprocess plugins are not
    /// opened in this process at all; `shim` is the executable serving `__plugin-shim`.
    pub fn load_with(
        catalog: &Catalog,
        shim: &Path,
        isolation: impl Fn(&Entry) -> Isolation,
    ) -> Registry {
        let mut reg = Registry {
            host_info: default_host_info(),
            ..Registry::default()
        };
        for entry in catalog.entries.iter().filter(|e| e.status == Status::Ok) {
            let loaded = match isolation(entry) {
                Isolation::InProcess => load_entry(entry),
                Isolation::Subprocess => subprocess_entry(entry, shim),
            };
            match loaded {
                Ok(plugin) => reg.add(plugin),
                Err(why) => reg.failures.push((entry.path.clone(), why)),
            }
        }
        reg
    }

    /// A registry holding just these plugins (for `ao plugins call`).
    pub fn with_plugins(plugins: Vec<Arc<LoadedPlugin>>) -> Registry {
        let mut reg = Registry {
            host_info: default_host_info(),
            ..Registry::default()
        };
        for p in plugins {
            reg.add(p);
        }
        reg
    }

    fn add(&mut self, plugin: Arc<LoadedPlugin>) {
        for c in &plugin.manifest.components {
            let key = (c.slot, c.name.clone());
            if let Some(first) = self.components.get(&key) {
                self.failures.push((
                    plugin.path.clone(),
                    format!(
                        "component `{}` is already provided by {}; ignored",
                        c.id(),
                        first.plugin.path.display()
                    ),
                ));
                continue;
            }
            self.components.insert(
                key,
                ComponentEntry {
                    plugin: plugin.clone(),
                    manifest: c.clone(),
                },
            );
        }
    }

    /// Every component id (`slot/name`), sorted.
    pub fn component_ids(&self) -> Vec<String> {
        self.components.values().map(|c| c.manifest.id()).collect()
    }

    /// Every loaded component's manifest (what config checks validate settings against).
    pub fn component_manifests(&self) -> Vec<ComponentManifest> {
        self.components
            .values()
            .map(|c| c.manifest.clone())
            .collect()
    }

    /// Looks up `slot/name`.
    pub fn component(&self, id: &str) -> Result<&ComponentEntry, Error> {
        let not_found = || {
            let ids = self.component_ids();
            Error::ComponentNotFound {
                component: id.to_string(),
                hint: did_you_mean(id, ids.iter().map(String::as_str)),
            }
        };
        let (slot, name) = id.split_once('/').ok_or_else(|| {
            Error::Invalid(format!(
                "`{id}` is not a component id: write it as <slot>/<name>, e.g. notifier/webhook"
            ))
        })?;
        let slot = Slot::parse(slot).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown slot `{slot}` (slots: {})",
                Slot::ALL.map(Slot::as_str).join(", ")
            ))
        })?;
        self.components
            .get(&(slot, name.to_string()))
            .ok_or_else(not_found)
    }

    /// A handle on a configured instance of `slot/name`. The instance is created now, so a bad
    /// config is reported here rather than at the first call.
    pub async fn instantiate(
        &self,
        id: &str,
        config: &Value,
        opts: CallOptions,
    ) -> Result<Arc<ComponentHandle>, Error> {
        let entry = self.component(id)?;
        let handle = Arc::new(ComponentHandle::new(
            entry.manifest.id(),
            entry.plugin.backend.clone(),
            config,
            entry.manifest.methods.clone(),
            opts,
            self.host_info.clone(),
            self.events.clone(),
        )?);
        handle.start().await?;
        Ok(handle)
    }
}

/// The file must still be the one the catalog checked: it could have been swapped since.
fn checked_again(entry: &Entry) -> Result<&Manifest, String> {
    let probed = entry.manifest.as_ref().ok_or("it was never probed")?;
    precheck::check(&entry.path)?;
    if !catalog::unchanged(entry, &entry.path) {
        return Err("the file changed after it was checked; run the command again".into());
    }
    Ok(probed)
}

/// Opens one catalog entry in process, and checks it says the same about itself as it did to
/// the probe.
pub fn load_entry(entry: &Entry) -> Result<Arc<LoadedPlugin>, String> {
    let probed = checked_again(entry)?;
    let (library, manifest) = loader::open(&entry.path).map_err(|e| e.summary)?;
    compat::same_build(probed, &manifest)
        .map_err(|why| format!("it changed while loading: {why}"))?;
    let backend = Backend::InProcess(library);
    Ok(Arc::new(LoadedPlugin {
        manifest,
        path: entry.path.clone(),
        backend,
    }))
}

/// Prepares one catalog entry to run in child processes. Nothing is opened here; each child
/// opens the library itself.
pub fn subprocess_entry(entry: &Entry, shim: &Path) -> Result<Arc<LoadedPlugin>, String> {
    let manifest = checked_again(entry)?.clone();
    let backend = Backend::Subprocess {
        shim: shim.to_path_buf(),
        library: entry.path.clone(),
    };
    Ok(Arc::new(LoadedPlugin {
        manifest,
        path: entry.path.clone(),
        backend,
    }))
}

fn default_host_info() -> HostInfo {
    let level = if tracing::enabled!(tracing::Level::TRACE) {
        5
    } else if tracing::enabled!(tracing::Level::DEBUG) {
        4
    } else if tracing::enabled!(tracing::Level::INFO) {
        3
    } else if tracing::enabled!(tracing::Level::WARN) {
        2
    } else {
        1
    };
    HostInfo {
        ao_version: crate::VERSION.to_string(),
        protocol: PROTOCOL_VERSION.to_string(),
        abi: ao_plugin_api::abi::ABI_VERSION,
        log_level: level,
        data_dir: crate::paths::data_dir().map(|d| d.display().to_string()),
        instance_id: String::new(),
        extra: BTreeMap::new(),
    }
}

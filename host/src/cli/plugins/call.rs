//! `ao plugins call <slot>/<name> <method>`: instantiate one component, call one protocol method,
//! print the JSON answer. How a plugin author tries a plugin without a host, and how support
//! reproduces a problem.

use crate::cli::{Globals, output};
use anyhow::{Context, Result, bail};
use ao::plugins::{CallOptions, Registry};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The component, as `<slot>/<name>` (e.g. notifier/webhook)
    component: String,
    /// The protocol method (e.g. notify)
    method: String,
    /// The component's config: JSON, or @file (YAML or JSON)
    #[arg(long, default_value = "{}")]
    config: String,
    /// The method's parameters: JSON, or @file (YAML or JSON)
    #[arg(long, default_value = "null")]
    params: String,
    /// Give up after this long (e.g. 30s, 2m)
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Run the plugin in this process, or in a child process that may crash without harm
    /// (default: the config's `plugins.isolation` for this plugin, else in-process)
    #[arg(long, value_enum)]
    isolation: Option<IsolationArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum IsolationArg {
    InProcess,
    Subprocess,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 30s, 2m)"))
}

/// `@path` reads a file; YAML is a superset of JSON, so one parser takes both.
fn value_arg(flag: &str, text: &str) -> Result<serde_json::Value> {
    let (source, body) = match text.strip_prefix('@') {
        Some(path) => (
            path.to_string(),
            std::fs::read_to_string(path).with_context(|| format!("could not read {path}"))?,
        ),
        None => (format!("--{flag}"), text.to_string()),
    };
    if let Some((line, column)) = ao::config::depth::too_deep(&body) {
        anyhow::bail!(
            "{source}:{line}:{column}: `[`/`{{` nest more than {} levels deep: flatten them",
            ao::config::depth::MAX_FLOW_DEPTH
        );
    }
    serde_yaml_ng::from_str(&body).with_context(|| format!("{source} is not valid JSON or YAML"))
}

/// One line for a component whose library is there but cannot be used (failed to load,
/// incompatible): that, not "no plugin provides it", is what the user needs to hear.
fn unusable(catalog: &ao::plugins::Catalog, component: &str) -> Option<String> {
    use ao::plugins::Status;
    let (slot, name) = component.split_once('/')?;
    let broken = || {
        catalog
            .entries
            .iter()
            .filter(|e| matches!(e.status, Status::Failed(_) | Status::Incompatible(_)))
    };
    if let Some(e) = broken().find(|e| {
        e.manifest
            .as_ref()
            .is_some_and(|m| m.components.iter().any(|c| c.id() == component))
    }) {
        return Some(format!(
            "`{component}` is in {}, which cannot be used: {}",
            e.path.display(),
            e.status.label()
        ));
    }
    // A library that failed before saying what it provides: matched by its name.
    broken()
        .find(|e| {
            e.name == name
                || e.name == format!("{slot}-{name}")
                || e.name.ends_with(&format!("-{name}"))
        })
        .map(|e| {
            format!(
                "no usable plugin provides `{component}`; {} (plugin `{}`) may, but cannot be \
                 used: {}",
                e.path.display(),
                e.name,
                e.status.label()
            )
        })
}

/// The config's choice for this plugin, when there is a readable config.
fn configured_isolation(globals: &Globals, plugin: &str) -> IsolationArg {
    let cwd = std::env::current_dir().unwrap_or_default();
    let config = ao::config::discover(globals.config.as_deref(), &cwd)
        .ok()
        .flatten()
        .and_then(|(file, _)| ao::config::load(&file).ok());
    match config.and_then(|c| c.isolation.get(plugin).copied()) {
        Some(ao::config::model::IsolationName::Subprocess) => IsolationArg::Subprocess,
        _ => IsolationArg::InProcess,
    }
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let config = value_arg("config", &args.config)?;
    let params = value_arg("params", &args.params)?;
    let catalog = super::scan(globals);
    let Some(entry) = catalog.entries.iter().find(|e| {
        e.status == ao::plugins::Status::Ok
            && e.manifest
                .as_ref()
                .is_some_and(|m| m.components.iter().any(|c| c.id() == args.component))
    }) else {
        if let Some(why) = unusable(&catalog, &args.component) {
            bail!(why);
        }
        let ids: Vec<String> = catalog
            .entries
            .iter()
            .filter(|e| e.status == ao::plugins::Status::Ok)
            .flat_map(|e| {
                e.manifest
                    .iter()
                    .flat_map(|m| m.components.iter().map(|c| c.id()))
            })
            .collect();
        bail!(ao::Error::ComponentNotFound {
            component: args.component.clone(),
            hint: ao::error::did_you_mean(&args.component, ids.iter().map(String::as_str)),
        });
    };
    let isolation = args
        .isolation
        .unwrap_or_else(|| configured_isolation(globals, &entry.name));
    let plugin = match isolation {
        IsolationArg::InProcess => ao::plugins::registry::load_entry(entry),
        IsolationArg::Subprocess => {
            ao::plugins::registry::subprocess_entry(entry, &std::env::current_exe()?)
        }
    }
    .map_err(|reason| ao::Error::PluginRejected {
        path: entry.path.clone(),
        reason,
    })?;
    let registry = Registry::with_plugins(vec![plugin]);
    let opts = CallOptions {
        timeout: args.timeout,
        instantiate_timeout: args.timeout,
        ..CallOptions::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let answer = rt.block_on(async {
        let handle = registry.instantiate(&args.component, &config, opts).await?;
        let answer = handle.call_json(&args.method, params).await;
        handle.shutdown().await;
        answer
    });
    // A hung plugin thread must not keep the process alive after we have answered.
    rt.shutdown_timeout(Duration::from_millis(100));
    output::json(&answer?)?;
    Ok(ExitCode::SUCCESS)
}

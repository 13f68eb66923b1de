//! What the commands that act on sessions share: load the config and the plugins it needs into
//! a [`Fleet`], on a tokio runtime that does not outlive a hung plugin thread.

use crate::cli::{Globals, context};
use anyhow::{Context, Result, anyhow};
use ao::config::model::IsolationName;
use ao::fleet::Fleet;
use ao::plugins::{Isolation, Registry};
use std::time::Duration;

/// A fleet and the runtime its calls run on.
pub(crate) struct Opened {
    pub(crate) fleet: Fleet,
    pub(crate) rt: tokio::runtime::Runtime,
}

impl Opened {
    /// Runs `f` to completion, then stops the plugins.
    pub(crate) fn run<T>(self, f: impl AsyncFnOnce(&Fleet) -> T) -> T {
        let Opened { fleet, rt } = self;
        let out = rt.block_on(async {
            let out = f(&fleet).await;
            fleet.shutdown().await;
            out
        });
        // A hung plugin thread must not keep the process alive after we have answered.
        rt.shutdown_timeout(Duration::from_millis(200));
        out
    }
}

/// Loads the config (from `--config` or discovery) and every usable plugin.
pub(crate) fn open(globals: &Globals) -> Result<Opened> {
    let config = context::load_config(globals)?;
    let catalog = crate::cli::plugins::scan_with(globals, &config);
    let exe = std::env::current_exe().context("finding the ao executable")?;
    let isolation = config.isolation.clone();
    let registry = Registry::load_with(&catalog, &exe, |entry| match isolation.get(&entry.name) {
        Some(IsolationName::Subprocess) => Isolation::Subprocess,
        _ => Isolation::InProcess,
    });
    for (path, why) in &registry.failures {
        tracing::warn!("{}: {why}", path.display());
    }
    let data = ao::paths::data_dir()
        .ok_or_else(|| anyhow!("cannot tell where the data directory is (is HOME set?)"))?;
    ao::paths::secure_data_dir(&data)
        .with_context(|| format!("could not make {} private", data.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok(Opened {
        fleet: Fleet::new(config, registry, data, exe),
        rt,
    })
}

/// The project to act in: the flag, else the only one, else the one whose path holds the
/// current directory.
pub(crate) fn pick_project(fleet: &Fleet, flag: Option<&str>) -> Result<String> {
    if let Some(p) = flag {
        return Ok(fleet.project(p)?.id.clone());
    }
    let projects = &fleet.config.projects;
    if projects.len() == 1 {
        return Ok(projects.keys().next().cloned().unwrap_or_default());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    projects
        .values()
        .find(|p| cwd.starts_with(&p.path))
        .map(|p| p.id.clone())
        .ok_or_else(|| {
            anyhow!(
                "several projects ({}): say which with --project",
                projects.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
}

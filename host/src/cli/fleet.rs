//! What the commands that act on sessions share: load the config and the plugins it needs into
//! a [`Fleet`], on a tokio runtime that does not outlive a hung plugin thread.

use crate::cli::{Globals, context, output};
use anyhow::{Context, Result, anyhow};
use ao::config::model::IsolationName;
use ao::fleet::Fleet;
use ao::plugins::{Isolation, Registry};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

/// A fleet and the runtime its calls run on.
pub(crate) struct Opened {
    pub(crate) fleet: Fleet,
    pub(crate) rt: tokio::runtime::Runtime,
    /// Undo half-made spawns before the command runs (off for dry runs, which change nothing).
    pub(crate) recover: bool,
}

impl Opened {
    /// Runs `f` to completion, then stops the plugins.
    pub(crate) fn run<T>(self, f: impl AsyncFnOnce(&Fleet) -> T) -> T {
        let Opened { fleet, rt, recover } = self;
        let out = rt.block_on(async {
            // What a killed spawn left half-made is undone before anything else.
            let recovered = if recover {
                ao::fleet::journal::recover(&fleet).await
            } else {
                Vec::new()
            };
            for r in recovered {
                output::note(&r.describe());
                RECOVERED.fetch_add(1, Ordering::SeqCst);
            }
            let out = f(&fleet).await;
            fleet.shutdown().await;
            out
        });
        // A hung plugin thread must not keep the process alive after we have answered.
        rt.shutdown_timeout(Duration::from_millis(200));
        out
    }
}

/// Makes Ctrl-C and SIGTERM interrupt the spawns in flight, which stop at their next step and
/// undo what they made. A second signal ends ao at once; the spawn journal then lets the next
/// `ao` command finish the undo. Call inside [`Opened::run`].
pub(crate) fn interrupt_on_signals(fleet: &Fleet) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let stop = fleet.interrupt.clone();
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 130u8,
            _ = term.recv() => 143,
        };
        output::note(
            "interrupted: undoing what was made (interrupt again to stop at once; the next \
             `ao` command then finishes the undo)",
        );
        SIGNALLED.store(code, Ordering::SeqCst);
        stop.trigger();
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        std::process::exit(i32::from(code));
    });
}

/// How many half-made spawns [`Opened::run`] undid before the command ran.
static RECOVERED: AtomicUsize = AtomicUsize::new(0);

/// See [`RECOVERED`]: `ao session cleanup` counts them as cleaned up.
pub(crate) fn recovered() -> usize {
    RECOVERED.load(Ordering::SeqCst)
}

/// 128 + the signal that interrupted the command (SIGINT unless SIGTERM came).
static SIGNALLED: AtomicU8 = AtomicU8::new(130);

/// The exit code of a command whose operation was interrupted, as shells expect it.
pub(crate) fn interrupted() -> std::process::ExitCode {
    std::process::ExitCode::from(SIGNALLED.load(Ordering::SeqCst))
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
        recover: true,
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

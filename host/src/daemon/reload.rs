//! The daemon follows its config file. A cheap `stat` every second; a changed file is read once
//! it holds still, checked exactly as `ao start` checks it (syntax, paths, the plugins it names
//! and their settings), and swapped in: projects added get a poller at once, removed ones stop
//! being polled, changed ones tick on their new settings from their next tick. An invalid edit
//! keeps the running config and says why: in the log, in `ao status` (through the pid file) and
//! to a human once per distinct problem.

use super::{DaemonInfo, Pollers, write_info};
use crate::config::{self, Config};
use crate::fleet::Fleet;
use crate::lifecycle::events::{Event, EventKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the file is looked at.
const EVERY: Duration = Duration::from_secs(1);
/// A changed file must hold still this long: an editor may write it in several steps.
const SETTLE: Duration = Duration::from_millis(250);

/// What identifies one version of the file without reading it.
type Stamp = Option<(u64, SystemTime, u64)>;

fn stamp(file: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(file).ok()?;
    Some((m.len(), m.modified().ok()?, m.ino()))
}

/// Watches until `stop` changes.
pub(super) async fn watch(
    pollers: Arc<Pollers>,
    info_path: PathBuf,
    mut info: DaemonInfo,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let file = pollers.shared.current.get().config.file.clone();
    let mut seen = stamp(&file);
    let mut told: Option<String> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        let now = stamp(&file);
        if now == seen {
            continue;
        }
        tokio::time::sleep(SETTLE).await;
        if stamp(&file) != now {
            continue;
        }
        seen = now;
        let running = pollers.shared.current.get();
        let error = match load(&running, &file) {
            Ok(Some((new, text))) => {
                apply(&pollers, &running, new);
                super::keep_running_config(&running.data_dir, &running.config.hash, &text);
                None
            }
            Ok(None) => None,
            Err(why) => {
                tracing::warn!("{}: keeping the running config: {why}", file.display());
                if told.as_deref() != Some(why.as_str()) {
                    invalid(&running, &why).await;
                    told = Some(why.clone());
                }
                Some(why)
            }
        };
        if error.is_none() {
            told = None;
        }
        if info.config_error != error {
            info.config_error = error;
            if let Err(e) = write_info(&info_path, &info) {
                tracing::warn!("could not update {}: {e}", info_path.display());
            }
        }
    }
}

/// The file's config when it differs from the running one and can run; `Ok(None)` when it is
/// the same; `Err` with the reason when it cannot run.
fn load(running: &Fleet, file: &Path) -> Result<Option<(Config, String)>, String> {
    let text = crate::files::read_regular(file, config::MAX_BYTES)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let new = config::load_text(file, &text).map_err(|e| e.to_string())?;
    if new == running.config {
        return Ok(None);
    }
    let components = running.registry().component_manifests();
    let problems = config::plugin_config::problems(&new, &text, &components);
    if let Some(first) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more: run `ao config check`)", n - 1),
        };
        return Err(format!("{first}{more}"));
    }
    Ok(Some((new, text)))
}

/// Swaps the new config in and starts pollers for added projects.
fn apply(pollers: &Pollers, running: &Fleet, new: Config) {
    let old = &running.config;
    let added: Vec<&String> = new
        .projects
        .keys()
        .filter(|k| !old.projects.contains_key(*k))
        .collect();
    let removed: Vec<&String> = old
        .projects
        .keys()
        .filter(|k| !new.projects.contains_key(*k))
        .collect();
    let changed: Vec<&String> = new
        .projects
        .iter()
        .filter(|(k, p)| old.projects.get(*k).is_some_and(|o| o != *p))
        .map(|(k, _)| k)
        .collect();
    let mut said = Vec::new();
    for (what, ids) in [
        ("added", &added),
        ("removed", &removed),
        ("changed", &changed),
    ] {
        if !ids.is_empty() {
            let ids: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
            said.push(format!("{what} {}", ids.join(", ")));
        }
    }
    if said.is_empty() {
        said.push("settings changed".into());
    }
    // What the running process cannot take without a restart is said, not pretended.
    let mut later = Vec::new();
    if new.port != old.port {
        later.push("port");
    }
    if new.plugin_dirs != old.plugin_dirs || new.isolation != old.isolation {
        later.push("plugins");
    }
    let mut message = format!("config reloaded: {}", said.join("; "));
    if !later.is_empty() {
        message.push_str(&format!(
            " ({} take effect after `ao stop && ao start`)",
            later.join(" and ")
        ));
    }
    tracing::info!("{message}");
    let added: Vec<String> = added.into_iter().cloned().collect();
    let fleet = Arc::new(running.reconfigured(new));
    pollers.shared.current.set(fleet.clone());
    for id in &added {
        pollers.start(id);
    }
    let ev = Event {
        session: None,
        ..Event::new(EventKind::ConfigReloaded, "", message)
    };
    for id in fleet.config.projects.keys() {
        crate::lifecycle::record(&fleet, id, &ev);
    }
}

/// Logs the refusal in every project's events and tells a human once.
async fn invalid(running: &Fleet, why: &str) {
    let ev = Event {
        session: None,
        ..Event::new(
            EventKind::ConfigInvalid,
            "",
            format!(
                "{} was edited but cannot run, so the previous config keeps running: {why}",
                running.config.file.display()
            ),
        )
    };
    for id in running.config.projects.keys() {
        crate::lifecycle::record(running, id, &ev);
    }
    if let Some(first) = running.config.projects.keys().next() {
        crate::lifecycle::notify::notify(running, first, &ev, None).await;
    }
}

//! What read-side commands share: find and load the config, open each project's store, gather
//! its sessions (reporting bad files instead of failing).

use crate::cli::Globals;
use anyhow::{Result, anyhow};
use ao::config::Config;
use ao::store::ProjectStore;
use ao::store::session::Session;
use ao::store::sessions::Listed;
use ao::store::view::SessionList;
use std::path::PathBuf;

/// Finds and loads the config, or says exactly where it looked.
pub(crate) fn load_config(globals: &Globals) -> Result<Config> {
    let cwd = std::env::current_dir()?;
    match ao::config::discover(globals.config.as_deref(), &cwd)? {
        Some((file, _)) => Ok(ao::config::load(&file)?),
        None => Err(anyhow!(
            "no agent-orchestrator.yaml in {} or above it, and no ~/.agent-orchestrator/config.yaml: \
             create one (see `ao config-help`) or pass --config",
            cwd.display()
        )),
    }
}

/// The store of one project of `config`.
pub(crate) fn project_store(config: &Config, project: &str) -> Result<ProjectStore> {
    let data = ao::paths::data_dir()
        .ok_or_else(|| anyhow!("cannot tell where the data directory is (is HOME set?)"))?;
    Ok(ProjectStore::new(&data, &config.hash, project))
}

/// Every session of every project, plus what could not be read.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    pub(crate) sessions: Vec<Session>,
    pub(crate) corrupt: Vec<(PathBuf, String)>,
}

pub(crate) fn gather(config: &Config) -> Result<Gathered> {
    let mut g = Gathered::default();
    for id in config.projects.keys() {
        for item in project_store(config, id)?.list_sessions()? {
            match item {
                Listed::Session(s) => g.sessions.push(*s),
                Listed::Reserved { .. } => {}
                Listed::Corrupt { path, reason } => g.corrupt.push((path, reason)),
            }
        }
    }
    Ok(g)
}

pub(crate) use ao::fleet::now_ms;

/// `42s`, `5m`, `3h`, `2d` since `then`.
pub(crate) fn ago(then: u64, now: u64) -> String {
    let s = now.saturating_sub(then) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Says on stderr that some metadata files are broken.
pub(crate) fn warn_corrupt(corrupt: &[(PathBuf, String)]) {
    for (path, reason) in corrupt {
        crate::cli::output::note(&format!(
            "warning: {}: corrupt: {reason} (see `ao doctor`)",
            path.display()
        ));
    }
}

/// The flags of every session listing.
#[derive(Debug, clap::Args)]
pub(crate) struct ListFlags {
    /// Print `{"data": [...], "meta": {...}}`
    #[arg(long)]
    pub(crate) json: bool,
    /// Include sessions that have ended
    #[arg(long)]
    pub(crate) include_terminated: bool,
    #[command(flatten)]
    pub(crate) cfg: crate::cli::ConfigFlag,
}

/// What a listing shows: the config, the sessions to show, how many ended ones were hidden.
pub(crate) struct Listing {
    pub(crate) config: Config,
    pub(crate) sessions: Vec<Session>,
    pub(crate) hidden: usize,
    pub(crate) corrupt: usize,
}

/// Loads, gathers, warns about corrupt files on stderr, and hides ended sessions unless asked.
pub(crate) fn listing(flags: &ListFlags, globals: &Globals) -> Result<Listing> {
    let config = load_config_or_running(&globals.with(&flags.cfg))?;
    let g = gather(&config)?;
    warn_corrupt(&g.corrupt);
    let (sessions, ended): (Vec<Session>, Vec<Session>) = g
        .sessions
        .into_iter()
        .partition(|s| flags.include_terminated || !s.status.is_terminal());
    Ok(Listing {
        config,
        sessions,
        hidden: ended.len(),
        corrupt: g.corrupt.len(),
    })
}

/// The config, or while the file on disk holds an edit that cannot run, the one the daemon
/// still runs (with a warning line), so the fleet can still be seen and stopped.
pub(crate) fn load_config_or_running(globals: &Globals) -> Result<Config> {
    match load_config(globals) {
        Ok(c) => Ok(c),
        Err(e) => running_config(globals).ok_or(e),
    }
}

/// While the file on disk holds an edit that cannot run, the config the daemon still runs, with
/// a warning line saying so; `None` when no daemon runs one.
fn running_config(globals: &Globals) -> Option<Config> {
    let cwd = std::env::current_dir().ok()?;
    let (file, _) = ao::config::discover(globals.config.as_deref(), &cwd).ok()??;
    let data = ao::paths::data_dir()?;
    let hash = ao::store::config_dir_hash(&file);
    let info = ao::daemon::running(&data, &hash)?;
    let why = info.config_error?;
    let text = std::fs::read_to_string(ao::daemon::running_config_file(&data, &hash)).ok()?;
    let config = ao::config::from_text(&file, &text, dirs::home_dir().as_deref()).ok()?;
    crate::cli::output::note(&format!(
        "warning: the daemon (pid {}) keeps running the previous config, since the edited file cannot run: {why}",
        info.pid
    ));
    Some(config)
}

/// Prints a listing as `{"data": [...], "meta": {...}}`, one session at a time.
pub(crate) fn print_json(l: &Listing) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        data: SessionList<'a>,
        meta: serde_json::Value,
    }
    let shown: Vec<&Session> = l.sessions.iter().collect();
    crate::cli::output::json(&Envelope {
        data: SessionList(&shown),
        meta: serde_json::json!({ "hiddenTerminatedCount": l.hidden, "corruptCount": l.corrupt }),
    })
}

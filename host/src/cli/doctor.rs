//! `ao doctor [--json]`: is everything `ao` needs in place? Exits non-zero when something is
//! broken; warnings alone do not fail it.

mod fleet;

use crate::cli::context;
use crate::cli::{Globals, output};
use anyhow::Result;
use ao::store::sessions::Listed;
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Warn,
    Error,
}

struct Check {
    name: String,
    level: Level,
    detail: String,
}

fn check(name: &str, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        level,
        detail: detail.into(),
    }
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let globals = &globals.with(&args.cfg);
    let mut checks = Vec::new();
    let cwd = std::env::current_dir()?;
    let config = match ao::config::discover(globals.config.as_deref(), &cwd) {
        Ok(None) => {
            checks.push(check(
                "config",
                Level::Error,
                "no agent-orchestrator.yaml found (see `ao config-help`)",
            ));
            None
        }
        Err(e) => {
            checks.push(check("config", Level::Error, e.to_string()));
            None
        }
        Ok(Some((file, _))) => match ao::config::load(&file) {
            Ok(c) => {
                let w = c.warnings.len();
                let level = if w > 0 { Level::Warn } else { Level::Ok };
                checks.push(check(
                    "config",
                    level,
                    format!(
                        "{} ({} project(s), {w} warning(s))",
                        file.display(),
                        c.projects.len()
                    ),
                ));
                Some(c)
            }
            Err(e) => {
                checks.push(check("config", Level::Error, format!("{e:#}")));
                None
            }
        },
    };

    let catalog = match &config {
        Some(c) => crate::cli::plugins::scan_with(globals, c),
        None => crate::cli::plugins::scan(globals),
    };
    let ok = catalog
        .entries
        .iter()
        .filter(|e| e.status == ao::plugins::Status::Ok)
        .count();
    checks.push(check("plugins", Level::Ok, format!("{ok} loadable")));
    if let Some(c) = &config {
        let text = std::fs::read_to_string(&c.file).unwrap_or_default();
        for p in crate::cli::plugins::config_problems(&catalog, c, &text) {
            checks.push(check(
                "config plugins",
                Level::Error,
                format!("{}: {}", p.path, p.message),
            ));
        }
    }
    for e in &catalog.entries {
        if matches!(
            e.status,
            ao::plugins::Status::Failed(_) | ao::plugins::Status::Incompatible(_)
        ) {
            checks.push(check(
                &format!("plugin {}", e.name),
                Level::Warn,
                format!("{}: {}", e.path.display(), e.status.label()),
            ));
        }
    }

    for (tool, argv) in [("tmux", ["tmux", "-V"]), ("git", ["git", "--version"])] {
        checks.push(match ao::proc::run(&argv, Duration::from_secs(5)) {
            Ok(f) if f.success => check(tool, Level::Ok, f.stdout.trim()),
            Ok(f) => check(
                tool,
                Level::Error,
                format!("`{}` failed: {}", argv.join(" "), f.stderr.trim()),
            ),
            Err(e) => check(tool, Level::Error, format!("{e}: install {tool}")),
        });
    }

    match ao::paths::data_dir() {
        None => checks.push(check(
            "data dir",
            Level::Error,
            "cannot tell where it is (is HOME set?)",
        )),
        Some(dir) => checks.push(
            match std::fs::create_dir_all(&dir).and_then(|_| tempfile::tempfile_in(&dir)) {
                Ok(_) => check(
                    "data dir",
                    Level::Ok,
                    format!("{} is writable", dir.display()),
                ),
                Err(e) => check(
                    "data dir",
                    Level::Error,
                    format!("{} is not writable: {e}", dir.display()),
                ),
            },
        ),
    }

    if let Some(c) = &config {
        for id in c.projects.keys() {
            store_checks(&mut checks, c, id)?;
        }
        let plugins_ok = !checks.iter().any(|k| k.name == "config plugins");
        if plugins_ok {
            fleet::checks(&mut checks, globals, c);
        }
    }

    let worst = checks.iter().map(|c| c.level).max().unwrap_or(Level::Ok);
    if args.json {
        output::json(&json!({
            "data": checks.iter().map(|c| json!({ "check": c.name, "level": c.level, "detail": c.detail })).collect::<Vec<_>>(),
            "meta": { "ok": worst != Level::Error },
        }))?;
    } else {
        let rows = checks
            .iter()
            .map(|c| {
                let level = match c.level {
                    Level::Ok => "ok",
                    Level::Warn => "warn",
                    Level::Error => "ERROR",
                };
                vec![c.name.clone(), level.into(), c.detail.clone()]
            })
            .collect();
        output::out(&output::table(&["CHECK", "RESULT", "DETAIL"], rows))?;
    }
    Ok(if worst == Level::Error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Corrupt metadata, reservations whose spawn died, locks and temp files left behind.
fn store_checks(checks: &mut Vec<Check>, c: &ao::config::Config, project: &str) -> Result<()> {
    let store = context::project_store(c, project)?;
    let name = format!("store {project}");
    let listed = store.list_sessions()?;
    let mut bad = 0;
    for item in &listed {
        match item {
            Listed::Corrupt { path, reason } => {
                bad += 1;
                checks.push(check(
                    &name,
                    Level::Error,
                    format!("{}: corrupt: {reason}", path.display()),
                ));
            }
            Listed::Reserved { id } => {
                let path = store.sessions_dir().join(id);
                let age = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                if age.is_some_and(|a| a > Duration::from_secs(300)) {
                    bad += 1;
                    checks.push(check(
                        &name,
                        Level::Warn,
                        format!(
                            "{}: reserved but never written (a spawn died)",
                            path.display()
                        ),
                    ));
                }
            }
            Listed::Session(_) => {}
        }
    }
    let mut leftovers = Vec::new();
    if let Ok(rd) = std::fs::read_dir(store.sessions_dir()) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let orphan_lock = n
                .strip_suffix(".lock")
                .is_some_and(|id| !store.sessions_dir().join(id).exists());
            if orphan_lock || n.starts_with(".tmp-") {
                leftovers.push(n);
            }
        }
    }
    if !leftovers.is_empty() {
        bad += 1;
        checks.push(check(
            &name,
            Level::Warn,
            format!(
                "stale lock or temp files (safe to delete): {}",
                leftovers.join(", ")
            ),
        ));
    }
    if bad == 0 {
        let n = listed.len();
        checks.push(check(
            &name,
            Level::Ok,
            format!("{n} session file(s) in {}", store.root().display()),
        ));
    }
    Ok(())
}

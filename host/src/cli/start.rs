//! `ao start [repo-url|path]`: find (or write) the config, clone a URL, and run the daemon
//! (pollers + webhook endpoint) in the background, or in the foreground with `--foreground`.

use crate::cli::{Globals, fleet, output};
use anyhow::{Context, Result, anyhow, bail};
use ao::daemon;
use std::io::{BufRead, IsTerminal};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A repository URL to clone, or a checkout (default: the current directory)
    target: Option<String>,
    /// Run in this terminal instead of in the background
    #[arg(long)]
    foreground: bool,
    /// Take the defaults instead of asking when a config has to be written
    #[arg(long, short = 'y')]
    yes: bool,
    /// Do not start the orchestrator agent
    #[arg(long)]
    no_orchestrator: bool,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let mut globals = globals.with(&args.cfg);
    if globals.config.is_none() {
        globals.config = find_or_write_config(args.target.as_deref(), args.yes)?;
    }
    let config = crate::cli::context::load_config(&globals)?;
    let data = ao::paths::data_dir().ok_or_else(|| anyhow!("HOME is not set"))?;
    if let Some(info) = daemon::running(&data, &config.hash) {
        output::note(&format!(
            "ao is already running for {} (pid {}, http://127.0.0.1:{})",
            config.file.display(),
            info.pid,
            info.port
        ));
        if !args.no_orchestrator {
            fleet::open(&globals)?.run(async |f| orchestrators(f).await);
        }
        return Ok(ExitCode::SUCCESS);
    }
    offer_restore(&data, &config.hash);
    if args.foreground {
        let opened = fleet::open(&globals)?;
        let fleet::Opened { fleet, rt, .. } = opened;
        let fleet = Arc::new(fleet);
        if !args.no_orchestrator {
            rt.block_on(orchestrators(&fleet));
        }
        rt.block_on(daemon::run(fleet, shutdown_signal()))?;
        rt.shutdown_timeout(Duration::from_millis(200));
        return Ok(ExitCode::SUCCESS);
    }
    let code = background(&config.file, &data, &config.hash)?;
    if !args.no_orchestrator {
        fleet::open(&globals)?.run(async |f| orchestrators(f).await);
    }
    Ok(code)
}

/// Starts each project's orchestrator agent unless it runs; a failure is a warning (the engine
/// runs without it).
async fn orchestrators(f: &ao::fleet::Fleet) {
    use ao::fleet::orchestrator::{Started, start};
    let projects: Vec<String> = f.config.projects.keys().cloned().collect();
    for p in projects {
        match start(f, &p).await {
            Ok(Started::New(s)) => output::note(&format!(
                "started the orchestrator {id} ({}); talk to it with `ao send {id} \"...\"`",
                s.agent.as_deref().unwrap_or("?"),
                id = s.id
            )),
            Ok(Started::Running(s)) => {
                output::note(&format!("the orchestrator {} is running", s.id))
            }
            Err(e) => output::note(&format!(
                "warning: the orchestrator of {p} did not start: {e} (--no-orchestrator skips it)"
            )),
        }
    }
}

/// Re-runs `ao start --foreground` detached from this terminal and waits until it listens.
fn background(config: &Path, data: &Path, hash: &str) -> Result<ExitCode> {
    ao::paths::secure_data_dir(data)?;
    let log_path = data.join(format!("daemon-{hash}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("could not open {}", log_path.display()))?;
    let exe = std::env::current_exe()?;
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new(exe)
        .args(["start", "--foreground", "--no-orchestrator", "--config"])
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting the daemon")?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(info) = daemon::running(data, hash).filter(|i| i.pid == child.id()) {
            output::note(&format!(
                "ao is running (pid {}); log: {}",
                info.pid,
                log_path.display()
            ));
            if let Some(d) = crate::cli::dashboard::Running::find(data, hash) {
                output::note(&format!("dashboard: {}", d.url("/")));
            }
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the daemon exited at start ({status}); see {}",
                log_path.display()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "the daemon did not come up within 20s; see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Sessions that were running at the last `ao stop`.
fn offer_restore(data: &Path, hash: &str) {
    let file = data.join(format!("last-run-{hash}.json"));
    let Ok(text) = std::fs::read_to_string(&file) else {
        return;
    };
    let ids: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
    if !ids.is_empty() {
        output::note(&format!(
            "{} session(s) were running at the last `ao stop`; if their agents are gone: ao session restore {}",
            ids.len(),
            ids.join(" ")
        ));
    }
}

/// The config to run: the one found from the target, or one written for it.
fn find_or_write_config(target: Option<&str>, yes: bool) -> Result<Option<PathBuf>> {
    let cwd = std::env::current_dir()?;
    let dir = match target {
        Some(t) if looks_like_url(t) => clone(t, &cwd)?,
        Some(t) => std::fs::canonicalize(t).with_context(|| format!("{t} is not a directory"))?,
        None => {
            if ao::config::discover(None, &cwd)?.is_some() {
                return Ok(None);
            }
            cwd.clone()
        }
    };
    if let Some((file, _)) = ao::config::discover(None, &dir)? {
        return Ok(Some(file));
    }
    if !dir.join(".git").exists() {
        bail!(
            "{} is not a git checkout: give a checkout or a repository URL",
            dir.display()
        );
    }
    let file = dir.join("agent-orchestrator.yaml");
    let text = generated_config(&dir, yes)?;
    std::fs::write(&file, text).with_context(|| format!("could not write {}", file.display()))?;
    output::note(&format!("wrote {}", file.display()));
    Ok(Some(file))
}

fn looks_like_url(t: &str) -> bool {
    t.contains("://") || t.starts_with("git@")
}

fn clone(url: &str, into: &Path) -> Result<PathBuf> {
    let name = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| anyhow!("cannot tell the repository's name from {url}"))?;
    let dest = into.join(name);
    if dest.exists() {
        return Ok(dest);
    }
    let dest_s = dest.display().to_string();
    let out = ao::proc::run(
        &["git", "clone", "--", url, &dest_s],
        Duration::from_secs(600),
    )
    .map_err(|e| anyhow!("git clone {url}: {e}"))?;
    if !out.success {
        bail!("git clone {url} failed: {}", out.stderr.trim());
    }
    Ok(dest)
}

/// A config for one checkout: its id, repo (from `origin`), base branch and agent.
fn generated_config(dir: &Path, yes: bool) -> Result<String> {
    let git = |args: &[&str]| {
        let mut argv = vec!["git", "-C"];
        let d = dir.display().to_string();
        argv.push(&d);
        argv.extend(args);
        ao::proc::run(&argv, Duration::from_secs(10))
            .ok()
            .filter(|o| o.success)
            .map(|o| o.stdout.trim().to_string())
    };
    let id: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let repo = git(&["remote", "get-url", "origin"]).and_then(|u| owner_name(&u));
    let branch = git(&["symbolic-ref", "--short", "refs/remotes/origin/HEAD"])
        .map(|b| b.trim_start_matches("origin/").to_string())
        .or_else(|| git(&["symbolic-ref", "--short", "HEAD"]))
        .unwrap_or_else(|| "main".into());
    let interactive = !yes && std::io::stdin().is_terminal();
    let agent = ask(
        interactive,
        "Agent (claude-code, codex, aider, opencode)",
        "claude-code",
    )?;
    let repo = ask(
        interactive,
        "Repository on GitHub (owner/name, empty for none)",
        repo.as_deref().unwrap_or(""),
    )?;
    let mut text = format!(
        "# Written by `ao start`; see `ao config-help`.\nprojects:\n  {id}:\n    path: .\n    defaultBranch: {branch}\n    agent: {agent}\n"
    );
    if !repo.is_empty() {
        text.push_str(&format!("    repo: {repo}\n"));
    }
    Ok(text)
}

fn owner_name(url: &str) -> Option<String> {
    let path = url.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = path.rsplit(['/', ':']);
    let name = parts.next()?;
    let owner = parts.next()?;
    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
}

fn ask(interactive: bool, question: &str, default: &str) -> Result<String> {
    if !interactive {
        return Ok(default.to_string());
    }
    output::ask(&format!("{question} [{default}]: "))?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim();
    Ok(if answer.is_empty() {
        default.to_string()
    } else {
        answer.to_string()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn owner_and_name_from_remote_urls() {
        assert_eq!(
            super::owner_name("git@github.com:acme/app.git").as_deref(),
            Some("acme/app")
        );
        assert_eq!(
            super::owner_name("https://github.com/acme/app").as_deref(),
            Some("acme/app")
        );
    }
}

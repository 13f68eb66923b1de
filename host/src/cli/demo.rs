//! `ao demo`: the whole lifecycle, offline, in under two minutes. The forge simulator plays
//! GitHub (with a CI that runs the repository's test and a reviewer), the scripted agent plays
//! the AI agents in tmux on a private socket, and the real engine (`ao start`'s daemon) does the
//! rest: agent 1's CI failure goes back to it with the log, the review comments too, the PR is
//! auto-merged and the session cleaned up; agent 2 asks a question and the human is notified.
//! The data stays for `ao status` to inspect.

mod timeline;
mod world;

use crate::cli::{Globals, fleet, output};
use anyhow::{Context, Result, anyhow, bail};
use ao::daemon;
use ao::fleet::Fleet;
use ao::fleet::kill::{KillReason, kill};
use ao::fleet::spawn::{SpawnRequest, spawn};
use ao::store::session::Session;
use ao::store::sessions::Listed;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timeline::Timeline;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Keep the demo's files here: a new or empty directory (default: a new one in the temp dir)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Give up when the scenario has not played out after this long
    #[arg(long, default_value = "110s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// The components the demo's config uses.
const NEEDS: [&str; 6] = [
    "runtime/tmux",
    "workspace/worktree",
    "agent/scripted",
    "tracker/github",
    "scm/github",
    "notifier/webhook",
];

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let dir = prepare_dir(args.dir)?;
    which_tmux()?;
    let forge = world::start_forge(&dir)?;
    // SAFETY: the only other thread of this process reads the simulator's stdout pipe; nothing
    // reads the environment concurrently. The config names the variable, never the token.
    unsafe { std::env::set_var(world::TOKEN_ENV, &forge.token) };
    let checkout = world::clone(&forge, &dir)?;
    let inbox = std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding the inbox")?;
    inbox.set_nonblocking(true)?;
    let inbox_url = format!("http://{}/notify", inbox.local_addr()?);
    let config = world::write_config(&forge, &dir, &checkout, &inbox_url)?;
    let opened = fleet::open(&Globals {
        plugin_dirs: globals.plugin_dirs.clone(),
        config: Some(config.clone()),
    })?;
    for id in NEEDS {
        opened.fleet.registry().component(id).map_err(|e| {
            anyhow!("`ao demo` needs the plugin for {id}: {e} (build them with `cargo build --workspace`)")
        })?;
    }
    output::out(&format!(
        "ao demo: the whole lifecycle, offline, in {}\n  forge   a simulated GitHub at {} with {} (issues #{}; CI runs `sh test.sh`; @rita reviews)\n  agents  ao-scripted-agent following {}, in tmux on {}\n",
        dir.display(),
        forge.url,
        forge.repo,
        forge.issues.join(", #"),
        forge.playbook.display(),
        dir.join("tmux.sock").display(),
    ))?;
    let fleet::Opened { fleet, rt, .. } = opened;
    let fleet = Arc::new(fleet);
    let outcome = rt.block_on(drive(fleet, &forge, inbox, args.timeout, &dir));
    rt.shutdown_timeout(Duration::from_millis(200));
    drop(forge);
    let outcome = outcome?;
    match outcome {
        Outcome::Settled(took) => {
            output::out(&format!(
                "\nDone in {:.1}s. Everything is still there to look at:\n  ao --config {} status --include-terminated\n  events:        {}\n  notifications: {}\n",
                took.as_secs_f64(),
                config.display(),
                events_path(&config)?.display(),
                dir.join("notifications.jsonl").display(),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::TimedOut(state) => {
            bail!(
                "the demo did not play out within {}: {state}; see {}",
                humantime::format_duration(args.timeout),
                dir.display()
            )
        }
        Outcome::Interrupted => Ok(ExitCode::from(130)),
    }
}

enum Outcome {
    Settled(Duration),
    TimedOut(String),
    Interrupted,
}

/// A new directory, or the user's if it is empty.
fn prepare_dir(dir: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("could not create {}", d.display()))?;
            if std::fs::read_dir(&d)?.next().is_some() {
                bail!(
                    "{} is not empty: give `--dir` a new or empty directory",
                    d.display()
                );
            }
            d
        }
        None => tempfile::Builder::new()
            .prefix("ao-demo-")
            .tempdir()
            .context("could not create a temporary directory")?
            .keep(),
    };
    // Absolute, so the config and the agents' paths hold from any working directory.
    dir.canonicalize()
        .with_context(|| format!("could not resolve {}", dir.display()))
}

fn which_tmux() -> Result<()> {
    let ok = std::process::Command::new("tmux")
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!(
            "`ao demo` runs its agents in tmux, which is not installed (Debian: apt-get install tmux)"
        );
    }
    Ok(())
}

fn events_path(config: &Path) -> Result<PathBuf> {
    let data = ao::paths::data_dir().ok_or_else(|| anyhow!("HOME is not set"))?;
    let hash = ao::store::config_dir_hash(config);
    Ok(ao::store::ProjectStore::new(&data, &hash, world::PROJECT).events_file())
}

fn sessions(fleet: &Fleet) -> Vec<Session> {
    let listed = fleet
        .store(world::PROJECT)
        .list_sessions()
        .unwrap_or_default();
    listed
        .into_iter()
        .filter_map(|l| match l {
            Listed::Session(s) => Some(*s),
            _ => None,
        })
        .collect()
}

/// Runs the engine, spawns the agents and prints the timeline until the scenario settles.
async fn drive(
    fleet: Arc<Fleet>,
    forge: &world::Forge,
    inbox: std::net::TcpListener,
    timeout: Duration,
    dir: &Path,
) -> Result<Outcome> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let app = axum::Router::new()
        .route(
            "/notify",
            axum::routing::post(
                |axum::extract::State(tx): axum::extract::State<
                    tokio::sync::mpsc::UnboundedSender<serde_json::Value>,
                >,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    let _ = tx.send(body);
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(tx);
    let inbox = tokio::net::TcpListener::from_std(inbox)?;
    let inbox = tokio::spawn(async move { axum::serve(inbox, app).await });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let engine = tokio::spawn(daemon::run(fleet.clone(), async {
        let _ = stopped.await;
    }));

    let mut tl = Timeline::new(
        fleet.store(world::PROJECT).events_file(),
        output::color_stdout(),
    );
    let mut log = std::fs::File::create(dir.join("notifications.jsonl"))?;
    let show = |lines: Vec<String>| -> Result<()> {
        for l in lines {
            output::out(&l)?;
        }
        Ok(())
    };
    let mut spawned = Ok(());
    for issue in &forge.issues {
        let req = SpawnRequest {
            project: world::PROJECT.into(),
            issue: Some(issue.clone()),
            ..SpawnRequest::default()
        };
        match spawn(&fleet, &req).await {
            Ok(s) => show(vec![tl.line(
                &s.session.id,
                "spawn",
                &format!(
                    "issue #{issue} on branch {} in {}",
                    s.session.branch.as_deref().unwrap_or("?"),
                    s.session.workspace.as_deref().unwrap_or("?")
                ),
            )])?,
            Err(e) => {
                spawned = Err(anyhow!("spawning on issue #{issue}: {e}"));
                break;
            }
        }
    }
    let deadline = Instant::now() + timeout;
    let outcome = loop {
        if spawned.is_err() {
            break Outcome::Interrupted;
        }
        let now = sessions(&fleet);
        let lines = tl.statuses(&now);
        show(lines)?;
        let lines: Vec<String> = tl.events().into_iter().map(|(_, l)| l).collect();
        show(lines)?;
        while let Ok(body) = rx.try_recv() {
            writeln!(log, "{body}")?;
            let line = tl.notification(body);
            show(vec![line])?;
        }
        if tl.settled() {
            break Outcome::Settled(tl.elapsed());
        }
        if Instant::now() >= deadline {
            let state: Vec<String> = now
                .iter()
                .map(|s| format!("{} is {}", s.id, s.status.as_str()))
                .collect();
            break Outcome::TimedOut(state.join(", "));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = tokio::signal::ctrl_c() => break Outcome::Interrupted,
        }
    };

    // The engine stops first, so nothing reacts to the demo's own ending.
    let _ = stop.send(());
    let _ = engine.await;
    let lines: Vec<String> = tl.events().into_iter().map(|(_, l)| l).collect();
    show(lines)?;
    for s in sessions(&fleet) {
        if s.status.is_terminal() {
            continue;
        }
        match kill(&fleet, &s, KillReason::User).await {
            Ok(k) => show(vec![tl.line(
                &s.id,
                "stop",
                &format!("{} (the demo is over)", k.describe(&s.id, "stopped")),
            )])?,
            Err(e) => show(vec![tl.line(
                &s.id,
                "stop",
                &format!("could not stop: {e}"),
            )])?,
        }
    }
    fleet.shutdown().await;
    inbox.abort();
    spawned?;
    Ok(outcome)
}

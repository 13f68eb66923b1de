//! `ao stop [--kill-sessions]`: stops the daemon. Agents keep running in tmux unless
//! `--kill-sessions`; the sessions that were live are recorded so `ao start` can offer to
//! restore them.

use crate::cli::{Globals, fleet, output};
use anyhow::{Result, anyhow, bail};
use ao::daemon;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Also stop every session's agent (workspaces with unpushed work are kept)
    #[arg(long)]
    kill_sessions: bool,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let globals = globals.with(&args.cfg);
    let config = crate::cli::context::load_config_or_running(&globals)?;
    let data = ao::paths::data_dir().ok_or_else(|| anyhow!("HOME is not set"))?;
    let live: Vec<ao::store::session::Session> = crate::cli::context::gather(&config)?
        .sessions
        .into_iter()
        .filter(|s| !s.status.is_terminal())
        .collect();
    let ids: Vec<&str> = live.iter().map(|s| s.id.as_str()).collect();
    ao::paths::secure_data_dir(&data)?;
    std::fs::write(
        data.join(format!("last-run-{}.json", config.hash)),
        serde_json::to_string(&ids)?,
    )?;
    let Some(info) = daemon::running(&data, &config.hash) else {
        if !args.kill_sessions {
            output::note("ao is not running");
            return Ok(ExitCode::SUCCESS);
        }
        kill_all(&globals, &live)?;
        return Ok(ExitCode::SUCCESS);
    };
    // SAFETY: sending SIGTERM to the pid the daemon recorded for itself.
    unsafe { libc::kill(info.pid as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    while daemon::running(&data, &config.hash).is_some() {
        if Instant::now() > deadline {
            // SAFETY: as above; it ignored SIGTERM.
            unsafe { libc::kill(info.pid as i32, libc::SIGKILL) };
            bail!(
                "the daemon (pid {}) did not stop within 15s; killed it",
                info.pid
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    output::note(&format!("stopped ao (pid {})", info.pid));
    if args.kill_sessions {
        kill_all(&globals, &live)?;
    } else if !live.is_empty() {
        output::note(&format!(
            "{} session(s) keep running: {}",
            live.len(),
            ids.join(" ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn kill_all(globals: &Globals, live: &[ao::store::session::Session]) -> Result<()> {
    let opened = fleet::open(globals)?;
    opened.run(async |f| -> Result<()> {
        for s in live {
            let k = ao::fleet::kill::kill(f, s, ao::fleet::kill::KillReason::User).await?;
            output::note(&k.describe(&s.id, "killed"));
        }
        // What ended before (a killed agent's dead pane) or was never recorded goes too.
        crate::cli::session::remove_leftovers(f, false).await?;
        Ok(())
    })
}

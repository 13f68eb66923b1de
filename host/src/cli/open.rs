//! `ao open <session> | --all`: shows sessions to a human through the configured Terminal plugin
//! (`defaults.terminal`, or `--terminal`): each session's attach command comes from its
//! runtime, the plugin decides how to show it (a tmux window, a browser tab, an iTerm2 tab).

use crate::cli::{Globals, fleet, output};
use anyhow::{Result, anyhow, bail};
use ao::fleet::Fleet;
use ao::store::session::Session;
use ao::store::sessions::Listed;
use ao_plugin_api::slots::runtime::{ATTACH_INFO, HandleRequest};
use ao_plugin_api::slots::terminal::{OpenAllRequest, OpenSessionRequest, SessionView};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The session to open
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    session: Option<String>,
    /// Every live session (of --project, else of every project)
    #[arg(long)]
    all: bool,
    /// With --all: only this project
    #[arg(long, requires = "all")]
    project: Option<String>,
    /// The terminal plugin (default: the config's defaults.terminal, else web)
    #[arg(long)]
    terminal: Option<String>,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let opened = fleet::open(&globals.with(&args.cfg))?;
    let name = args
        .terminal
        .clone()
        .unwrap_or_else(|| opened.fleet.config.terminal.clone());
    opened
        .fleet
        .registry()
        .component(&format!("terminal/{name}"))
        .map_err(|e| {
            anyhow!(
                "{e}; inside tmux, `--terminal tmux` opens windows there (or set defaults.terminal)"
            )
        })?;
    let sessions = match &args.session {
        Some(id) => vec![ao::fleet::send::find(&opened.fleet, id)?],
        None => live(&opened.fleet, args.project.as_deref())?,
    };
    if sessions.is_empty() {
        output::note("no live sessions to open");
        return Ok(ExitCode::SUCCESS);
    }
    let all = args.session.is_none();
    let dashboard =
        crate::cli::dashboard::Running::find(&opened.fleet.data_dir, &opened.fleet.config.hash);
    // The one URL a browser may be started with gets a one-time code (argv is public); the
    // others carry no credential.
    let first = if all {
        "/".to_string()
    } else {
        format!("/sessions/{}", sessions[0].id)
    };
    let first_url = dashboard.as_ref().and_then(|d| {
        d.one_time_url(&first)
            .map_err(|e| output::note(&format!("warning: {e}")))
            .ok()
    });
    let out = opened.run(
        async |f| -> Result<ao_plugin_api::slots::terminal::Opened> {
            let terminal = f.terminal(&name).await?;
            let mut views = Vec::new();
            for s in &sessions {
                let url = match (&dashboard, all) {
                    (Some(d), true) => Some(d.plain_url(&format!("/sessions/{}", s.id))),
                    _ => first_url.clone(),
                };
                views.push(view(f, s, url).await);
            }
            let opened = if all {
                terminal
                    .open_all(&OpenAllRequest {
                        sessions: views,
                        dashboard_url: first_url.clone(),
                    })
                    .await?
            } else {
                terminal
                    .open_session(&OpenSessionRequest {
                        session: views.remove(0),
                    })
                    .await?
            };
            Ok(opened)
        },
    );
    // The plugin's error already names `terminal/<name>`.
    let opened = out?;
    if opened.opened == 0 {
        bail!("terminal/{name} opened nothing: {}", opened.detail);
    }
    output::note(&opened.detail);
    Ok(ExitCode::SUCCESS)
}

/// Every session that has not ended, in one project or all.
fn live(fleet: &Fleet, project: Option<&str>) -> Result<Vec<Session>> {
    let ids: Vec<String> = match project {
        Some(p) => vec![fleet.project(p)?.id.clone()],
        None => fleet.config.projects.keys().cloned().collect(),
    };
    let mut out = Vec::new();
    for p in ids {
        for l in fleet.store(&p).list_sessions()? {
            if let Listed::Session(s) = l
                && !s.status.is_terminal()
            {
                out.push(*s);
            }
        }
    }
    Ok(out)
}

/// The session as the terminal sees it; no attach command when its runtime has none.
async fn view(fleet: &Fleet, s: &Session, dashboard_url: Option<String>) -> SessionView {
    let mut attach = None;
    if let (Some(h), Ok(p)) = (&s.runtime_handle, fleet.project(&s.project))
        && let Ok(rt) = fleet.runtime(p, &h.runtime).await
        && rt.implements(ATTACH_INFO)
    {
        attach = rt
            .attach_info(&HandleRequest { handle: h.clone() })
            .await
            .ok();
    }
    SessionView {
        session_id: s.id.clone(),
        project_id: s.project.clone(),
        attach,
        dashboard_url,
    }
}

//! `ao dashboard`: where the running daemon's dashboard is, with its token. The dashboard is
//! part of the daemon `ao start` runs, on 127.0.0.1 only.

use crate::cli::{Globals, context, output};
use anyhow::{Result, anyhow, bail};
use ao::daemon;
use ao::dashboard::auth;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let config = context::load_config(&globals.with(&args.cfg))?;
    let data = ao::paths::data_dir().ok_or_else(|| anyhow!("HOME is not set"))?;
    let Some(info) = daemon::running(&data, &config.hash) else {
        bail!(
            "ao is not running for {}: `ao start` runs the dashboard",
            config.file.display()
        );
    };
    let token = std::fs::read_to_string(auth::token_file(&data, &config.hash))?;
    output::out(&url(info.port, token.trim()))?;
    Ok(ExitCode::SUCCESS)
}

/// The URL that opens the dashboard (the token moves to a cookie on first load).
pub(crate) fn url(port: u16, token: &str) -> String {
    format!("http://127.0.0.1:{port}/?token={token}")
}

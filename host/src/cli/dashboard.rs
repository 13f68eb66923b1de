//! `ao dashboard`: where the running daemon's dashboard is, with its token. The dashboard is
//! part of the daemon `ao start` runs, on 127.0.0.1 only.

use crate::cli::{Globals, context, output};
use anyhow::{Result, anyhow, bail};
use ao::daemon;
use ao::dashboard::auth;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let config = context::load_config(&globals.with(&args.cfg))?;
    let data = ao::paths::data_dir().ok_or_else(|| anyhow!("HOME is not set"))?;
    let Some(d) = Running::find(&data, &config.hash) else {
        bail!(
            "ao is not running for {}: `ao start` runs the dashboard",
            config.file.display()
        );
    };
    output::out(&d.url("/"))?;
    Ok(ExitCode::SUCCESS)
}

/// The dashboard of a running daemon.
pub(crate) struct Running {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    token: String,
}

impl Running {
    /// The daemon's dashboard for a config (by its store hash), if it runs.
    pub(crate) fn find(data: &Path, hash: &str) -> Option<Running> {
        let info = daemon::running(data, hash)?;
        let token = std::fs::read_to_string(auth::token_file(data, hash)).ok()?;
        Some(Running {
            base: format!("http://127.0.0.1:{}", info.port),
            token: token.trim().to_string(),
        })
    }

    /// The URL that opens `path` (the token moves to a cookie on arrival). For a person to
    /// read or bookmark; never for another program's argv (see [`Running::one_time_url`]).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}?token={}", self.base, self.token)
    }

    /// `path` without any credential: works in a browser that already has the cookie.
    pub(crate) fn plain_url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL that opens `path` once, within a minute, with a code the daemon issued: safe to
    /// put in a browser's argv, which every local user can read.
    pub(crate) fn one_time_url(&self, path: &str) -> Result<String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(5)))
            .build()
            .into();
        let endpoint = format!("{}{}", self.base, auth::OPEN_CODES_PATH);
        let body = agent
            .post(&endpoint)
            .header("Authorization", &format!("Bearer {}", self.token))
            .send_empty()
            .and_then(|mut r| r.body_mut().read_to_string())
            .map_err(|e| anyhow!("the dashboard at {} gave no one-time code: {e}", self.base))?;
        let v: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| anyhow!("the dashboard at {} answered oddly: {e}", self.base))?;
        let code = v["code"]
            .as_str()
            .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| anyhow!("the dashboard at {} gave no one-time code", self.base))?;
        Ok(format!("{}{path}?code={code}", self.base))
    }
}

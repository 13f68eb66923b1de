//! `terminal/web` (the default on Linux): opens the dashboard in the browser — a session's page
//! for one session, the fleet page for `--all` — with the desktop's opener (`xdg-open` on
//! Linux, `open` on macOS), as an argument vector. The dashboard must be running (`ao start`);
//! the URL carries a one-time code (never the token: an argv is visible to every local user),
//! which the page trades for a cookie.

use ao_plugin_api::sdk::command::Command;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::terminal::{OpenAllRequest, OpenSessionRequest, Opened, Terminal};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The program (and leading arguments) that opens a URL; the URL is appended.
    #[serde(default = "default_opener")]
    pub opener: Vec<String>,
}

fn default_opener() -> Vec<String> {
    if cfg!(target_os = "macos") {
        vec!["open".into()]
    } else {
        vec!["xdg-open".into()]
    }
}

/// The terminal.
pub struct Web {
    opener: Vec<String>,
}

impl Web {
    fn open(&self, ctx: &Ctx, url: Option<&str>, what: &str) -> Result<Opened, SdkError> {
        let url = url.filter(|u| u.starts_with("http://127.0.0.1:")).ok_or_else(|| {
            SdkError::Unavailable(format!(
                "the dashboard is not running, so {what} has no page to open: start ao with `ao start`"
            ))
        })?;
        let mut argv = self.opener.clone();
        argv.push(url.to_string());
        Command::from_argv(&argv)?
            .timeout(Duration::from_secs(10))
            .run_ok(Some(ctx))?;
        // What is shown leaves the query out: it holds a credential.
        let shown = url.split('?').next().unwrap_or(url);
        Ok(Opened {
            opened: 1,
            detail: format!("opened {shown} in the browser"),
        })
    }
}

impl Terminal for Web {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        if config.opener.is_empty() || config.opener[0].is_empty() {
            return Err(SdkError::InvalidConfig(
                "`opener` must name a program, e.g. [\"xdg-open\"]".into(),
            ));
        }
        Ok(Web {
            opener: config.opener,
        })
    }

    fn open_session(&self, ctx: &Ctx, req: OpenSessionRequest) -> Result<Opened, SdkError> {
        self.open(
            ctx,
            req.session.dashboard_url.as_deref(),
            &req.session.session_id,
        )
    }

    fn open_all(&self, ctx: &Ctx, req: OpenAllRequest) -> Result<Opened, SdkError> {
        self.open(ctx, req.dashboard_url.as_deref(), "the fleet")
    }
}

ao_plugin_api::export_plugin! {
    name: "terminal-web",
    components: [ terminal "web" => Web ],
}

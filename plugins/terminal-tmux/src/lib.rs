//! `terminal/tmux`: opens ao sessions as windows of the tmux you run `ao open` in. One window
//! per session, named after it, running the runtime's attach command; a window that is already
//! there is selected, never duplicated. The tmux in use comes from `$TMUX` (as for any tmux
//! command run inside tmux); outside tmux the plugin says so instead of guessing.

use ao_plugin_api::sdk::command::Command;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::terminal::{
    self, IsOpen, OpenAllRequest, OpenSessionRequest, Opened, SessionView, Terminal,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// The component's configuration (`terminals.tmux` is not needed: it has no required keys).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Per tmux command.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    5_000
}

/// The terminal.
pub struct TmuxTerminal {
    timeout: Duration,
}

/// The socket of the tmux we run inside: the first field of `$TMUX`.
fn outer_socket() -> Result<String, SdkError> {
    std::env::var("TMUX")
        .ok()
        .and_then(|v| v.split(',').next().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            SdkError::InvalidParams(
                "terminal/tmux opens windows in the tmux you run ao in, and $TMUX is not set: run \
                 `ao open` inside tmux, or pick another terminal with --terminal"
                    .into(),
            )
        })
}

/// The argv a window runs: the attach command, with `$TMUX` unset so tmux agrees to nest.
fn window_argv(view: &SessionView) -> Result<Vec<String>, SdkError> {
    let attach = view
        .attach
        .as_ref()
        .filter(|a| !a.argv.is_empty())
        .ok_or_else(|| {
            SdkError::InvalidParams(format!(
                "session `{}` has no attach command (its runtime cannot be attached from a terminal)",
                view.session_id
            ))
        })?;
    // tmux reads a trailing `;` in an argument as a command separator.
    if let Some(bad) = attach.argv.iter().find(|a| a.ends_with(';')) {
        return Err(SdkError::InvalidParams(format!(
            "the attach command of `{}` has an argument ending in `;` ({bad}), which tmux would split",
            view.session_id
        )));
    }
    let mut argv = vec!["env".to_string(), "-u".into(), "TMUX".into()];
    argv.extend(attach.argv.iter().cloned());
    Ok(argv)
}

impl TmuxTerminal {
    fn tmux(&self, ctx: &Ctx, socket: &str, args: &[&str]) -> Result<String, SdkError> {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(socket)
            .args(args)
            .timeout(self.timeout)
            .run_ok(Some(ctx))?;
        Ok(out.stdout)
    }

    fn windows(&self, ctx: &Ctx, socket: &str) -> Result<Vec<String>, SdkError> {
        let text = self.tmux(ctx, socket, &["list-windows", "-F", "#{window_name}"])?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// Opens (or selects) the window of one session; true when a new window was made.
    fn open(
        &self,
        ctx: &Ctx,
        socket: &str,
        view: &SessionView,
        existing: &[String],
        focus: bool,
    ) -> Result<bool, SdkError> {
        let name = &view.session_id;
        if existing.iter().any(|w| w == name) {
            if focus {
                self.tmux(ctx, socket, &["select-window", "-t", &format!(":={name}")])?;
            }
            return Ok(false);
        }
        let argv = window_argv(view)?;
        let mut args = vec!["new-window"];
        if !focus {
            args.push("-d");
        }
        args.extend(["-n", name.as_str()]);
        args.extend(argv.iter().map(String::as_str));
        self.tmux(ctx, socket, &args)?;
        Ok(true)
    }
}

impl Terminal for TmuxTerminal {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[terminal::IS_SESSION_OPEN];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(TmuxTerminal {
            timeout: Duration::from_millis(config.timeout_ms.max(100)),
        })
    }

    fn open_session(&self, ctx: &Ctx, req: OpenSessionRequest) -> Result<Opened, SdkError> {
        let socket = outer_socket()?;
        let existing = self.windows(ctx, &socket)?;
        let made = self.open(ctx, &socket, &req.session, &existing, true)?;
        Ok(Opened {
            opened: 1,
            detail: format!(
                "{} tmux window {}",
                if made { "opened" } else { "selected" },
                req.session.session_id
            ),
        })
    }

    fn open_all(&self, ctx: &Ctx, req: OpenAllRequest) -> Result<Opened, SdkError> {
        let socket = outer_socket()?;
        let existing = self.windows(ctx, &socket)?;
        let (mut made, mut kept) = (0u32, 0u32);
        for view in &req.sessions {
            if self.open(ctx, &socket, view, &existing, false)? {
                made += 1;
            } else {
                kept += 1;
            }
        }
        Ok(Opened {
            opened: made + kept,
            detail: format!("{made} new tmux window(s), {kept} already open"),
        })
    }

    fn is_session_open(&self, ctx: &Ctx, req: OpenSessionRequest) -> Result<IsOpen, SdkError> {
        let socket = outer_socket()?;
        Ok(IsOpen {
            open: self
                .windows(ctx, &socket)?
                .contains(&req.session.session_id),
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "terminal-tmux",
    components: [ terminal "tmux" => TmuxTerminal ],
}

#[cfg(test)]
mod tests {
    use super::*;
    use ao_plugin_api::slots::runtime::AttachInfo;

    fn view(argv: &[&str]) -> SessionView {
        SessionView {
            session_id: "app-1".into(),
            project_id: "app".into(),
            attach: Some(AttachInfo {
                kind: "tmux".into(),
                target: "x-app-1".into(),
                argv: argv.iter().map(|s| s.to_string()).collect(),
                web: serde_json::Value::Null,
            }),
            dashboard_url: None,
        }
    }

    #[test]
    fn the_window_runs_the_attach_argv_with_tmux_unset() {
        let argv = window_argv(&view(&[
            "tmux",
            "-S",
            "/s",
            "attach-session",
            "-t",
            "=x-app-1",
        ]))
        .unwrap();
        assert_eq!(
            argv,
            [
                "env",
                "-u",
                "TMUX",
                "tmux",
                "-S",
                "/s",
                "attach-session",
                "-t",
                "=x-app-1"
            ]
        );
    }

    #[test]
    fn no_attach_command_or_a_separator_is_refused_by_name() {
        let e = window_argv(&view(&[])).unwrap_err().to_string();
        assert!(
            e.contains("app-1") && e.contains("no attach command"),
            "{e}"
        );
        let e = window_argv(&view(&["tmux", "attach;"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ending in `;`"), "{e}");
    }
}

//! `terminal/iterm2` (macOS): one iTerm2 tab per session, named `ao:<session>`, running the
//! runtime's attach command; a tab that already has that name is selected instead of opening a
//! second. Driven by AppleScript through `osascript` with the script as one argument: the attach
//! argv is shell-quoted (iTerm2 types it into a shell) and then escaped as an AppleScript string,
//! so no session name or path can break out of either.

use ao_plugin_api::sdk::command::{Command, applescript_string};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::terminal::{
    OpenAllRequest, OpenSessionRequest, Opened, SessionView, Terminal,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// The component's configuration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Open new tabs in a new window instead of the current one.
    #[serde(default)]
    pub new_window: bool,
}

/// One word for a POSIX shell: single-quoted unless it is plainly safe.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The AppleScript that selects or opens the tab of `view`.
pub fn script(view: &SessionView, new_window: bool) -> Result<String, SdkError> {
    let argv = view
        .attach
        .as_ref()
        .map(|a| a.argv.clone())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            SdkError::InvalidParams(format!(
                "session `{}` has no attach command (its runtime cannot be attached from a terminal)",
                view.session_id
            ))
        })?;
    // `exec`: the tab closes when the attach ends, instead of leaving a shell behind.
    let command = format!(
        "exec {}",
        argv.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let name = applescript_string(&format!("ao:{}", view.session_id));
    let command = applescript_string(&command);
    let open = if new_window {
        "set w to (create window with default profile)\n    set t to current tab of w"
    } else {
        "if (count of windows) is 0 then\n      set w to (create window with default profile)\n      set t to current tab of w\n    else\n      set w to current window\n      tell w to set t to (create tab with default profile)\n    end if"
    };
    Ok(format!(
        r#"tell application "iTerm2"
  activate
  repeat with w in windows
    repeat with t in tabs of w
      repeat with s in sessions of t
        if name of s is {name} then
          select w
          tell t to select
          return "selected"
        end if
      end repeat
    end repeat
  end repeat
    {open}
  tell current session of t
    set name to {name}
    write text {command}
  end tell
  return "opened"
end tell"#
    ))
}

/// The terminal.
pub struct Iterm2 {
    config: Config,
}

impl Iterm2 {
    fn run(&self, ctx: &Ctx, view: &SessionView) -> Result<String, SdkError> {
        let script = script(view, self.config.new_window)?;
        if !cfg!(target_os = "macos") {
            return Err(SdkError::Unsupported(
                "terminal/iterm2 runs on macOS; elsewhere use terminal web or tmux".into(),
            ));
        }
        let out = Command::new("osascript")
            .arg("-e")
            .arg(script)
            .timeout(Duration::from_secs(15))
            .run_ok(Some(ctx))?;
        Ok(out.stdout.trim().to_string())
    }
}

impl Terminal for Iterm2 {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Iterm2 { config })
    }

    fn open_session(&self, ctx: &Ctx, req: OpenSessionRequest) -> Result<Opened, SdkError> {
        let what = self.run(ctx, &req.session)?;
        Ok(Opened {
            opened: 1,
            detail: format!("{what} iTerm2 tab ao:{}", req.session.session_id),
        })
    }

    fn open_all(&self, ctx: &Ctx, req: OpenAllRequest) -> Result<Opened, SdkError> {
        let mut n = 0;
        for view in &req.sessions {
            self.run(ctx, view)?;
            n += 1;
        }
        Ok(Opened {
            opened: n,
            detail: format!("{n} iTerm2 tab(s)"),
        })
    }
}

ao_plugin_api::export_plugin! {
    name: "terminal-iterm2",
    components: [ terminal "iterm2" => Iterm2 ],
}

#[cfg(test)]
mod tests {
    use super::*;
    use ao_plugin_api::slots::runtime::AttachInfo;

    fn view(id: &str, argv: &[&str]) -> SessionView {
        SessionView {
            session_id: id.into(),
            project_id: "app".into(),
            attach: Some(AttachInfo {
                kind: "tmux".into(),
                target: id.into(),
                argv: argv.iter().map(|s| s.to_string()).collect(),
                web: serde_json::Value::Null,
            }),
            dashboard_url: None,
        }
    }

    #[test]
    fn words_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("tmux"), "tmux");
        assert_eq!(shell_quote("/tmp/my dir/s.sock"), "'/tmp/my dir/s.sock'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_script_names_the_tab_reuses_it_and_types_the_quoted_attach_command() {
        let s = script(
            &view(
                "app-1",
                &[
                    "tmux",
                    "-S",
                    "/tmp/a b/s.sock",
                    "attach-session",
                    "-t",
                    "=x-app-1",
                ],
            ),
            false,
        )
        .unwrap();
        assert!(s.contains(r#"if name of s is "ao:app-1" then"#), "{s}");
        assert!(s.contains(r#"return "selected""#));
        assert!(
            s.contains(r#"write text "exec tmux -S '/tmp/a b/s.sock' attach-session -t =x-app-1""#),
            "{s}"
        );
        assert!(s.contains("create tab with default profile"));
        assert!(
            script(&view("app-1", &["tmux"]), true)
                .unwrap()
                .contains("create window with default profile")
        );
    }

    #[test]
    fn nothing_breaks_out_of_the_applescript_string() {
        let s = script(
            &view("app\"1", &["echo", "x\" & do shell script \"id"]),
            false,
        )
        .unwrap();
        assert!(s.contains(r#"name of s is "ao:app\"1""#), "{s}");
        assert!(
            s.contains(r#"write text "exec echo 'x\" & do shell script \"id'""#),
            "{s}"
        );
        let none = script(&view("app-2", &[]), false).unwrap_err().to_string();
        assert!(none.contains("no attach command"), "{none}");
    }
}

//! `notifier/desktop` (the default notifier): a native notification on the machine `ao` runs on.
//! Linux and the BSDs: the freedesktop notification spec over the session D-Bus (notify-rust),
//! urgency from the event's priority (urgent → critical, info → low). macOS: `osascript` with
//! the text escaped for AppleScript and passed as one argument (no shell), a sound for urgent
//! events. An identical notification within `dedupeSecs` is shown once.

use ao_plugin_api::sdk::command::applescript_string;
use ao_plugin_api::sdk::notify::{Dedupe, clip, hint};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::notifier::{
    self, Notification, Notifier, NotifyAction, NotifyOutcome, NotifyRequest,
    NotifyWithActionsRequest, Priority,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// The component's configuration (`notifiers.desktop` in `agent-orchestrator.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Play a sound for urgent events (macOS).
    #[serde(default = "yes")]
    pub sound: bool,
    /// The application name notifications are shown under.
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// An identical notification within this many seconds is shown once (0: always).
    #[serde(default = "ao_plugin_api::sdk::notify::default_dedupe_secs")]
    pub dedupe_secs: u64,
}

fn yes() -> bool {
    true
}
fn default_app_name() -> String {
    "Agent Orchestrator".into()
}

/// What a desktop notification shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The summary line.
    pub title: String,
    /// The body.
    pub body: String,
    /// Whether it is urgent.
    pub urgent: bool,
}

/// The title and body of a notification: `URGENT [app-1]` for urgent ones, the message, what
/// to do, and the actions' labels.
pub fn shown(n: &Notification, actions: &[NotifyAction]) -> Shown {
    let urgent = n.priority == Priority::Urgent;
    let who = n
        .session_id
        .as_deref()
        .map(|s| format!(" [{s}]"))
        .unwrap_or_default();
    let title = if urgent {
        format!("URGENT{who}: {}", n.event_type)
    } else {
        format!("ao{who}: {}", n.event_type)
    };
    let mut body = n.message.clone();
    if let Some(h) = hint(n) {
        body.push_str(&format!("\n→ {h}"));
    }
    if !actions.is_empty() {
        let labels: Vec<&str> = actions.iter().map(|a| a.label.as_str()).collect();
        body.push('\n');
        body.push_str(&labels.join(" | "));
    }
    Shown {
        title: clip(&title, 120),
        body: clip(&body, 1000),
        urgent,
    }
}

/// The `osascript` argv that shows `s` on macOS (one `-e` argument; nothing goes through a
/// shell).
pub fn osascript_argv(s: &Shown, sound: bool) -> Vec<String> {
    let mut script = format!(
        "display notification {} with title {}",
        applescript_string(&s.body),
        applescript_string(&s.title)
    );
    if sound && s.urgent {
        script.push_str(" sound name \"default\"");
    }
    vec!["osascript".into(), "-e".into(), script]
}

/// The notifier.
pub struct Desktop {
    config: Config,
    dedupe: Dedupe,
}

impl Desktop {
    fn show(
        &self,
        ctx: &Ctx,
        n: &Notification,
        actions: &[NotifyAction],
    ) -> Result<NotifyOutcome, SdkError> {
        if !self.dedupe.first(&ao_plugin_api::sdk::notify::identity(n)) {
            return Ok(NotifyOutcome {
                id: None,
                attempts: 0,
            });
        }
        let s = shown(n, actions);
        let id = platform::show(ctx, &self.config, &s, n.priority)?;
        Ok(NotifyOutcome { id, attempts: 1 })
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;
    use ao_plugin_api::sdk::command::Command;

    pub(super) fn show(
        ctx: &Ctx,
        config: &Config,
        s: &Shown,
        _p: Priority,
    ) -> Result<Option<String>, SdkError> {
        let argv = osascript_argv(s, config.sound);
        Command::from_argv(&argv)?
            .timeout(Duration::from_secs(10))
            .run_ok(Some(ctx))?;
        Ok(None)
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    use super::*;
    use notify_rust::{Timeout, Urgency};

    pub(super) fn show(
        _ctx: &Ctx,
        config: &Config,
        s: &Shown,
        p: Priority,
    ) -> Result<Option<String>, SdkError> {
        let urgency = match p {
            Priority::Urgent => Urgency::Critical,
            Priority::Action | Priority::Warning => Urgency::Normal,
            Priority::Info => Urgency::Low,
        };
        let handle = notify_rust::Notification::new()
            .appname(&config.app_name)
            .summary(&s.title)
            .body(&s.body)
            .urgency(urgency)
            .timeout(Timeout::Default)
            .show()
            .map_err(|e| {
                SdkError::Unavailable(format!(
                    "no desktop notification service answered on the session D-Bus ({e}); \
                     is a desktop session running? (DBUS_SESSION_BUS_ADDRESS)"
                ))
            })?;
        Ok(Some(handle.id().to_string()))
    }
}

#[cfg(not(unix))]
mod platform {
    use super::*;

    pub(super) fn show(
        _ctx: &Ctx,
        _config: &Config,
        _s: &Shown,
        _p: Priority,
    ) -> Result<Option<String>, SdkError> {
        Err(SdkError::Unsupported(
            "desktop notifications are supported on Linux and macOS".into(),
        ))
    }
}

impl Notifier for Desktop {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[notifier::NOTIFY_WITH_ACTIONS];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Desktop {
            dedupe: Dedupe::new(Duration::from_secs(config.dedupe_secs)),
            config,
        })
    }

    fn notify(&self, ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
        self.show(ctx, &req.notification, &[])
    }

    fn notify_with_actions(
        &self,
        ctx: &Ctx,
        req: NotifyWithActionsRequest,
    ) -> Result<NotifyOutcome, SdkError> {
        self.show(ctx, &req.notification, &req.actions)
    }
}

ao_plugin_api::export_plugin! {
    name: "notifier-desktop",
    components: [ notifier "desktop" => Desktop ],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: Priority) -> Notification {
        Notification {
            event_type: "session.needs_input".into(),
            priority: p,
            title: "t".into(),
            message: "Say \"hi\" \\ then\nwait".into(),
            session_id: Some("app-2".into()),
            project_id: None,
            pr_url: None,
            url: None,
            timestamp_ms: 0,
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn macos_gets_one_escaped_applescript_argument_and_a_sound_when_urgent() {
        let s = shown(&n(Priority::Urgent), &[]);
        let argv = osascript_argv(&s, true);
        assert_eq!(argv.len(), 3);
        assert_eq!(
            argv[2],
            "display notification \"Say \\\"hi\\\" \\\\ then\\nwait\\n→ answer with `ao send app-2 \\\"...\\\"`\" \
             with title \"URGENT [app-2]: session.needs_input\" sound name \"default\""
        );
        let quiet = osascript_argv(&shown(&n(Priority::Info), &[]), true);
        assert!(!quiet[2].contains("sound"), "{quiet:?}");
        assert!(quiet[2].contains("with title \"ao [app-2]: session.needs_input\""));
    }

    #[test]
    fn control_characters_never_reach_applescript() {
        assert_eq!(applescript_string("a\u{7}b\u{1b}[31m"), "\"ab[31m\"");
    }
}

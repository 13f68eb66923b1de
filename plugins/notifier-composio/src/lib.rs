//! `notifier/composio`: delivers notifications through Composio's tool-execution API
//! (`POST {baseUrl}/api/v3/tools/execute/{tool}` with `x-api-key`, body `{user_id |
//! connected_account_id, arguments}`, answer `{data, error, successful, log_id}`), so a team
//! that already connected Slack, Discord or Gmail in Composio needs no other credential.
//!
//! `app` picks the tool and its arguments: `slack` → `SLACK_SEND_MESSAGE {channel, text}`,
//! `discord` → `DISCORD_SEND_MESSAGE {channel_id, content}`, `gmail` → `GMAIL_SEND_EMAIL
//! {recipient_email, subject, body}`; `tool` overrides the slug when Composio renames one. The
//! API key is a secret by reference (`apiKeyEnv`). Retries, errors and de-duplication as every
//! ao notifier.

use ao_plugin_api::sdk::http::{PostSettings, Poster};
use ao_plugin_api::sdk::notify::Dedupe;
use ao_plugin_api::sdk::notify::{clip, emoji, headline, hint, identity};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::notifier::{
    self, Notification, Notifier, NotifyOutcome, NotifyRequest, PostRequest,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum App {
    /// A Slack channel.
    Slack,
    /// A Discord channel.
    Discord,
    /// An email.
    Gmail,
}

/// The component's configuration (`notifiers.<alias>` in `agent-orchestrator.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The environment variable holding the Composio API key.
    pub api_key_env: String,
    /// Which connected app delivers (default `slack`).
    #[serde(default = "default_app")]
    pub app: App,
    /// Slack channel or Discord channel id.
    #[serde(default)]
    pub channel: Option<String>,
    /// Gmail recipient.
    #[serde(default)]
    pub email_to: Option<String>,
    /// Composio user the connection belongs to (default `default`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// A specific connected account instead of `userId`.
    #[serde(default)]
    pub connected_account_id: Option<String>,
    /// The tool slug, when it differs from the app's default.
    #[serde(default)]
    pub tool: Option<String>,
    /// API base (change only for a proxy or a test double).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Extra attempts after the first on 5xx, 429 and network errors.
    #[serde(default = "ao_plugin_api::sdk::http::default_retries")]
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    #[serde(default = "ao_plugin_api::sdk::http::default_retry_delay_ms")]
    pub retry_delay_ms: u64,
    /// Per-attempt timeout (tool execution includes the app's own API call).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// An identical notification within this many seconds is not sent again (0: always send).
    #[serde(default = "ao_plugin_api::sdk::notify::default_dedupe_secs")]
    pub dedupe_secs: u64,
}

fn default_app() -> App {
    App::Slack
}
fn default_base_url() -> String {
    "https://backend.composio.dev".into()
}
fn default_timeout_ms() -> u64 {
    30_000
}

/// The notifier.
pub struct Composio {
    poster: Poster,
    tool: String,
    app: App,
    target: String,
    account: Value,
    dedupe: Dedupe,
}

/// The text every app gets: headline, message, PR, what to do.
fn text(n: &Notification) -> String {
    let mut t = format!("{} *{}*\n{}", emoji(n.priority), headline(n), n.message);
    if let Some(pr) = &n.pr_url {
        t.push_str(&format!("\nPR: {pr}"));
    }
    if let Some(h) = hint(n) {
        t.push_str(&format!("\nWhat to do: {h}"));
    }
    clip(&t, 3500)
}

impl Composio {
    fn arguments(&self, subject: &str, text: String) -> Value {
        match self.app {
            App::Slack => json!({"channel": self.target, "text": text}),
            App::Discord => json!({"channel_id": self.target, "content": clip(&text, 2000)}),
            App::Gmail => {
                json!({"recipient_email": self.target, "subject": subject, "body": text})
            }
        }
    }

    fn execute(&self, ctx: &Ctx, arguments: Value) -> Result<NotifyOutcome, SdkError> {
        let mut body = self.account.clone();
        body["arguments"] = arguments;
        let posted = self
            .poster
            .post(ctx, "", &[], body.to_string().as_bytes())?;
        let v: Value = serde_json::from_str(&posted.body).unwrap_or_default();
        if v["successful"] != json!(true) {
            let why = match &v["error"] {
                Value::String(s) => s.clone(),
                Value::Null => "no `successful` in the answer".into(),
                other => other.to_string(),
            };
            return Err(SdkError::Unavailable(format!(
                "composio {} did not deliver: {}",
                self.tool,
                clip(&why, 300)
            )));
        }
        Ok(NotifyOutcome {
            id: v["log_id"].as_str().map(str::to_owned),
            attempts: posted.attempts,
        })
    }
}

impl Notifier for Composio {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[notifier::POST];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        let (default_tool, target) = match config.app {
            App::Slack => (
                "SLACK_SEND_MESSAGE",
                config.channel.clone().ok_or("`channel`"),
            ),
            App::Discord => (
                "DISCORD_SEND_MESSAGE",
                config.channel.clone().ok_or("`channel` (the channel id)"),
            ),
            App::Gmail => (
                "GMAIL_SEND_EMAIL",
                config.email_to.clone().ok_or("`emailTo`"),
            ),
        };
        let app_name = match config.app {
            App::Slack => "slack",
            App::Discord => "discord",
            App::Gmail => "gmail",
        };
        let target = target
            .map_err(|what| SdkError::InvalidConfig(format!("app {app_name} needs {what}")))?;
        let tool = config.tool.clone().unwrap_or_else(|| default_tool.into());
        if tool.is_empty() || !tool.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(SdkError::InvalidConfig(format!(
                "`tool` must be a Composio tool slug like SLACK_SEND_MESSAGE, not `{tool}`"
            )));
        }
        let mut headers = BTreeMap::new();
        headers.insert("x-api-key".to_string(), host.secret(&config.api_key_env)?);
        let poster = Poster::new(PostSettings {
            url: format!(
                "{}/api/v3/tools/execute/{tool}",
                config.base_url.trim_end_matches('/')
            ),
            headers,
            retries: config.retries,
            retry_delay: Duration::from_millis(config.retry_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
            label: "composio".into(),
            credential_hint: "the API key in `apiKeyEnv`".into(),
            url_setting: "`baseUrl` and `tool`".into(),
        })?;
        let account = match &config.connected_account_id {
            Some(id) => json!({"connected_account_id": id}),
            None => json!({"user_id": config.user_id.clone().unwrap_or_else(|| "default".into())}),
        };
        Ok(Composio {
            poster,
            tool,
            app: config.app,
            target,
            account,
            dedupe: Dedupe::new(Duration::from_secs(config.dedupe_secs)),
        })
    }

    fn notify(&self, ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
        let n = &req.notification;
        if !self.dedupe.first(&identity(n)) {
            return Ok(NotifyOutcome {
                id: None,
                attempts: 0,
            });
        }
        let subject = clip(&format!("[ao] {}", n.title), 200);
        self.execute(ctx, self.arguments(&subject, text(n)))
    }

    fn post(&self, ctx: &Ctx, req: PostRequest) -> Result<NotifyOutcome, SdkError> {
        self.execute(ctx, self.arguments("[ao] message", req.message))
    }
}

ao_plugin_api::export_plugin! {
    name: "notifier-composio",
    components: [ notifier "composio" => Composio ],
}

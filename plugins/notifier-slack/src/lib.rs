//! `notifier/slack`: tells a Slack channel what needs a human.
//!
//! Two ways in, both secrets by reference (the name of an environment variable):
//! - `webhookUrlEnv`: an incoming webhook (the channel is the webhook's);
//! - `botTokenEnv` + `channel`: `chat.postMessage` with a bot token; each session's
//!   notifications after the first go to the first one's thread.
//!
//! Messages are Block Kit (see `blocks`). Retries on 5xx, 429 and network errors honour
//! `Retry-After`; an identical notification within `dedupeSecs` is not sent again; no message
//! or log line shows the webhook path or the token.

mod blocks;

use ao_plugin_api::sdk::http::{PostSettings, Poster};
use ao_plugin_api::sdk::notify::Dedupe;
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::notifier::{
    self, Notification, Notifier, NotifyAction, NotifyOutcome, NotifyRequest,
    NotifyWithActionsRequest, PostRequest,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// The component's configuration (`notifiers.<alias>` in `agent-orchestrator.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The environment variable holding an incoming-webhook URL.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// The environment variable holding a bot token (`xoxb-…`); needs `channel`.
    #[serde(default)]
    pub bot_token_env: Option<String>,
    /// The channel (id or `#name`) a bot posts to.
    #[serde(default)]
    pub channel: Option<String>,
    /// The name shown as the sender (webhooks of legacy apps).
    #[serde(default = "default_username")]
    pub username: String,
    /// Slack's Web API base (change only for a proxy or a test double).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Extra attempts after the first on 5xx, 429 and network errors.
    #[serde(default = "ao_plugin_api::sdk::http::default_retries")]
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    #[serde(default = "ao_plugin_api::sdk::http::default_retry_delay_ms")]
    pub retry_delay_ms: u64,
    /// Per-attempt timeout.
    #[serde(default = "ao_plugin_api::sdk::http::default_timeout_ms")]
    pub timeout_ms: u64,
    /// An identical notification within this many seconds is not sent again (0: always send).
    #[serde(default = "ao_plugin_api::sdk::notify::default_dedupe_secs")]
    pub dedupe_secs: u64,
}

fn default_username() -> String {
    "Agent Orchestrator".into()
}
fn default_api_url() -> String {
    "https://slack.com/api".into()
}

enum Mode {
    Webhook,
    Bot {
        channel: String,
        /// The first message's `ts` per session: where later ones are threaded.
        threads: Mutex<HashMap<String, String>>,
    },
}

/// The notifier.
pub struct Slack {
    poster: Poster,
    mode: Mode,
    username: String,
    dedupe: Dedupe,
}

impl Slack {
    fn send(
        &self,
        ctx: &Ctx,
        session: Option<&str>,
        mut body: Value,
    ) -> Result<NotifyOutcome, SdkError> {
        match &self.mode {
            Mode::Webhook => {
                body["username"] = json!(self.username);
                let posted = self
                    .poster
                    .post(ctx, "", &[], body.to_string().as_bytes())?;
                Ok(NotifyOutcome {
                    id: None,
                    attempts: posted.attempts,
                })
            }
            Mode::Bot { channel, threads } => {
                if body.get("channel").is_none() {
                    body["channel"] = json!(channel);
                }
                let thread = session.and_then(|s| {
                    threads
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(s)
                        .cloned()
                });
                if let Some(ts) = &thread {
                    body["thread_ts"] = json!(ts);
                }
                let posted = self
                    .poster
                    .post(ctx, "", &[], body.to_string().as_bytes())?;
                // The Web API answers 200 with `ok: false` for its own errors.
                let v: Value = serde_json::from_str(&posted.body).unwrap_or_default();
                if v["ok"] != json!(true) {
                    return Err(api_error(
                        v["error"].as_str().unwrap_or("no `ok` in the answer"),
                    ));
                }
                let ts = v["ts"].as_str().map(str::to_owned);
                if let (Some(s), Some(ts), None) = (session, &ts, &thread) {
                    threads
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(s.to_string(), ts.clone());
                }
                Ok(NotifyOutcome {
                    id: ts,
                    attempts: posted.attempts,
                })
            }
        }
    }

    fn notify_all(
        &self,
        ctx: &Ctx,
        n: &Notification,
        actions: &[NotifyAction],
    ) -> Result<NotifyOutcome, SdkError> {
        if !self.dedupe.first(&ao_plugin_api::sdk::notify::identity(n)) {
            ao_plugin_api::tracing::debug!("slack: {} already sent, skipped", n.event_type);
            return Ok(NotifyOutcome {
                id: None,
                attempts: 0,
            });
        }
        self.send(
            ctx,
            n.session_id.as_deref(),
            blocks::notification(n, actions),
        )
    }
}

/// Slack's documented `error` codes, with what to fix.
fn api_error(code: &str) -> SdkError {
    match code {
        "not_authed" | "invalid_auth" | "token_revoked" | "token_expired" | "account_inactive"
        | "missing_scope" => SdkError::PermissionDenied(format!(
            "slack refused the bot token ({code}): check `botTokenEnv` and the app's `chat:write` scope"
        )),
        "channel_not_found" | "not_in_channel" | "is_archived" => SdkError::InvalidConfig(format!(
            "slack cannot post to the channel ({code}): check `channel` and invite the bot to it"
        )),
        "ratelimited" => SdkError::Unavailable("slack rate limited the bot (ratelimited)".into()),
        other => SdkError::InvalidParams(format!("slack rejected the message: {other}")),
    }
}

impl Notifier for Slack {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[notifier::NOTIFY_WITH_ACTIONS, notifier::POST];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        let (url, headers, mode, hint, setting) =
            match (&config.webhook_url_env, &config.bot_token_env) {
                (Some(env), None) => (
                    host.secret(env)?,
                    BTreeMap::new(),
                    Mode::Webhook,
                    "the webhook URL in `webhookUrlEnv`",
                    "the webhook URL in `webhookUrlEnv`",
                ),
                (None, Some(env)) => {
                    let channel = config.channel.clone().ok_or_else(|| {
                        SdkError::InvalidConfig("`botTokenEnv` needs `channel`".into())
                    })?;
                    let token = host.secret(env)?;
                    let mut headers = BTreeMap::new();
                    headers.insert("authorization".to_string(), format!("Bearer {token}"));
                    (
                        format!("{}/chat.postMessage", config.api_url.trim_end_matches('/')),
                        headers,
                        Mode::Bot {
                            channel,
                            threads: Mutex::new(HashMap::new()),
                        },
                        "the bot token in `botTokenEnv`",
                        "`apiUrl`",
                    )
                }
                (Some(_), Some(_)) => {
                    return Err(SdkError::InvalidConfig(
                        "give either `webhookUrlEnv` or `botTokenEnv`, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(SdkError::InvalidConfig(
                        "`webhookUrlEnv` (or `botTokenEnv` and `channel`) is required".into(),
                    ));
                }
            };
        let poster = Poster::new(PostSettings {
            url,
            headers,
            retries: config.retries,
            retry_delay: Duration::from_millis(config.retry_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
            label: "slack".into(),
            credential_hint: hint.into(),
            url_setting: setting.into(),
        })?;
        Ok(Slack {
            poster,
            mode,
            username: config.username,
            dedupe: Dedupe::new(Duration::from_secs(config.dedupe_secs)),
        })
    }

    fn notify(&self, ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
        self.notify_all(ctx, &req.notification, &[])
    }

    fn notify_with_actions(
        &self,
        ctx: &Ctx,
        req: NotifyWithActionsRequest,
    ) -> Result<NotifyOutcome, SdkError> {
        self.notify_all(ctx, &req.notification, &req.actions)
    }

    fn post(&self, ctx: &Ctx, req: PostRequest) -> Result<NotifyOutcome, SdkError> {
        let mut body = json!({"text": blocks::escape(&req.message)});
        if let Some(c) = &req.channel {
            body["channel"] = json!(c);
        }
        self.send(ctx, req.session_id.as_deref(), body)
    }
}

ao_plugin_api::export_plugin! {
    name: "notifier-slack",
    components: [ notifier "slack" => Slack ],
}

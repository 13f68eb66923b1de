//! `notifier/discord`: tells a Discord channel what needs a human, through a webhook
//! (`webhookUrlEnv`: the URL embeds the webhook's token, so it is a secret by reference).
//!
//! Each notification is one embed: the headline, the message, the priority's colour, fields for
//! project, priority, session, PR, what to do and action links. Mentions are disabled (an agent's
//! text must never ping `@everyone`). `?wait=true` makes Discord answer with the message, whose id
//! is returned. Retries on 5xx, 429 (Discord's `Retry-After`) and network errors; identical
//! notifications within `dedupeSecs` are sent once; no message or log shows the URL's path.

use ao_plugin_api::sdk::http::{PostSettings, Poster};
use ao_plugin_api::sdk::notify::Dedupe;
use ao_plugin_api::sdk::notify::{clip, color, emoji_char, headline, hint, priority_name};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::notifier::{
    self, Notification, Notifier, NotifyAction, NotifyOutcome, NotifyRequest,
    NotifyWithActionsRequest, PostRequest,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

/// The component's configuration (`notifiers.<alias>` in `agent-orchestrator.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The environment variable holding the webhook URL.
    pub webhook_url_env: String,
    /// The name shown as the sender.
    #[serde(default = "default_username")]
    pub username: String,
    /// An avatar image URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Post into this thread of a forum or text channel.
    #[serde(default)]
    pub thread_id: Option<String>,
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

/// The notifier.
pub struct Discord {
    poster: Poster,
    config: Config,
    dedupe: Dedupe,
}

fn iso(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

fn field(name: &str, value: String, inline: bool) -> Value {
    json!({"name": name, "value": clip(&value, 1024), "inline": inline})
}

/// The embed of a notification.
pub fn embed(n: &Notification, actions: &[NotifyAction]) -> Value {
    let mut fields = Vec::new();
    if let Some(p) = &n.project_id {
        fields.push(field("Project", p.clone(), true));
    }
    fields.push(field("Priority", priority_name(n.priority).into(), true));
    if let Some(s) = &n.session_id {
        fields.push(field("Session", s.clone(), true));
    }
    if let Some(pr) = &n.pr_url {
        fields.push(field(
            "Pull request",
            format!("[View pull request]({pr})"),
            false,
        ));
    }
    if let Some(h) = hint(n) {
        fields.push(field("What to do", h, false));
    }
    let links: Vec<String> = actions
        .iter()
        .filter_map(|a| Some(format!("[{}]({})", a.label, a.url.as_ref()?)))
        .collect();
    if !links.is_empty() {
        fields.push(field("Actions", links.join(" · "), false));
    }
    let mut e = json!({
        "title": clip(&format!("{} {}", emoji_char(n.priority), headline(n)), 256),
        "description": clip(&n.message, 4096),
        "color": color(n.priority),
        "fields": fields,
        "timestamp": iso(n.timestamp_ms),
        "footer": {"text": "Agent Orchestrator"},
    });
    if let Some(url) = n.pr_url.as_ref().or(n.url.as_ref()) {
        e["url"] = json!(url);
    }
    e
}

impl Discord {
    fn send(&self, ctx: &Ctx, mut body: Value) -> Result<NotifyOutcome, SdkError> {
        body["username"] = json!(self.config.username);
        if let Some(a) = &self.config.avatar_url {
            body["avatar_url"] = json!(a);
        }
        // Nothing an agent wrote may ping a channel.
        body["allowed_mentions"] = json!({"parse": []});
        let mut query = "?wait=true".to_string();
        if let Some(t) = &self.config.thread_id {
            query.push_str("&thread_id=");
            query.push_str(t);
        }
        let posted = self
            .poster
            .post(ctx, &query, &[], body.to_string().as_bytes())?;
        let id = serde_json::from_str::<Value>(&posted.body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        Ok(NotifyOutcome {
            id,
            attempts: posted.attempts,
        })
    }

    fn notify_all(
        &self,
        ctx: &Ctx,
        n: &Notification,
        actions: &[NotifyAction],
    ) -> Result<NotifyOutcome, SdkError> {
        if !self.dedupe.first(&ao_plugin_api::sdk::notify::identity(n)) {
            ao_plugin_api::tracing::debug!("discord: {} already sent, skipped", n.event_type);
            return Ok(NotifyOutcome {
                id: None,
                attempts: 0,
            });
        }
        self.send(ctx, json!({"embeds": [embed(n, actions)]}))
    }
}

impl Notifier for Discord {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[notifier::NOTIFY_WITH_ACTIONS, notifier::POST];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        if config
            .thread_id
            .as_deref()
            .is_some_and(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SdkError::InvalidConfig(
                "`threadId` must be a Discord id (digits)".into(),
            ));
        }
        let poster = Poster::new(PostSettings {
            url: host.secret(&config.webhook_url_env)?,
            headers: Default::default(),
            retries: config.retries,
            retry_delay: Duration::from_millis(config.retry_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
            label: "discord webhook".into(),
            credential_hint: "the webhook URL in `webhookUrlEnv` (it may have been deleted)".into(),
            url_setting: "the webhook URL in `webhookUrlEnv`".into(),
        })?;
        Ok(Discord {
            poster,
            dedupe: Dedupe::new(Duration::from_secs(config.dedupe_secs)),
            config,
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
        self.send(ctx, json!({"content": clip(&req.message, 2000)}))
    }
}

ao_plugin_api::export_plugin! {
    name: "notifier-discord",
    components: [ notifier "discord" => Discord ],
}

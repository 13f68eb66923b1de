//! `notifier/webhook`: POSTs each notification as JSON to a configured URL.
//!
//! The body keeps upstream's shape (`{"type": "notification", "event": {...}}`), so receivers
//! written for the TypeScript tool keep working. With `secretEnv`, the body is signed with
//! HMAC-SHA256 in `X-AO-Signature-256: sha256=<hex>` (GitHub's convention). 5xx answers, 429 and
//! network failures are retried with doubling back-off (honouring `Retry-After`); other 4xx answers
//! fail at once with a message that says what to fix.

mod payload;
mod send;

use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::notifier::{
    self, Notifier, NotifyOutcome, NotifyRequest, NotifyWithActionsRequest, PostRequest,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The component's configuration (`notifiers.<alias>` in `agent-orchestrator.yaml`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Where to POST. Give either this or `urlEnv`.
    #[serde(default)]
    pub url: Option<String>,
    /// The name of an environment variable holding the URL (for URLs that embed a token).
    #[serde(default)]
    pub url_env: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The name of an environment variable holding the HMAC-SHA256 signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Extra attempts after the first on 5xx, 429 and network errors.
    #[serde(default = "ao_plugin_api::sdk::http::default_retries")]
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    #[serde(default = "ao_plugin_api::sdk::http::default_retry_delay_ms")]
    pub retry_delay_ms: u64,
    /// Per-attempt timeout.
    #[serde(default = "ao_plugin_api::sdk::http::default_timeout_ms")]
    pub timeout_ms: u64,
}

/// The notifier.
pub struct Webhook {
    sender: send::Sender,
}

impl Notifier for Webhook {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        notifier::NOTIFY_WITH_ACTIONS,
        notifier::POST,
        notifier::TEST_CONNECTION,
    ];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        let url = match (&config.url, &config.url_env) {
            (Some(url), None) => url.clone(),
            (None, Some(name)) => host.secret(name)?,
            (Some(_), Some(_)) => {
                return Err(SdkError::InvalidConfig(
                    "give either `url` or `urlEnv`, not both".into(),
                ));
            }
            (None, None) => {
                return Err(SdkError::InvalidConfig(
                    "`url` (or `urlEnv`) is required".into(),
                ));
            }
        };
        let secret = config
            .secret_env
            .as_deref()
            .map(|name| host.secret(name))
            .transpose()?;
        let sender = send::Sender::new(send::Settings {
            url,
            headers: config.headers,
            secret,
            retries: config.retries,
            retry_delay: Duration::from_millis(config.retry_delay_ms),
            timeout: Duration::from_millis(config.timeout_ms),
        })?;
        Ok(Webhook { sender })
    }

    fn notify(&self, ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
        let body = payload::notification(&req.notification, None);
        self.sender.post(ctx, &req.notification.event_type, &body)
    }

    fn notify_with_actions(
        &self,
        ctx: &Ctx,
        req: NotifyWithActionsRequest,
    ) -> Result<NotifyOutcome, SdkError> {
        let body = payload::notification(&req.notification, Some(&req.actions));
        self.sender.post(ctx, &req.notification.event_type, &body)
    }

    fn post(&self, ctx: &Ctx, req: PostRequest) -> Result<NotifyOutcome, SdkError> {
        self.sender.post(ctx, "message", &payload::message(&req))
    }

    fn test_connection(&self, ctx: &Ctx, _req: ()) -> Result<(), SdkError> {
        self.sender
            .post(ctx, "ping", &serde_json::json!({ "type": "ping" }))
            .map(|_| ())
    }
}

ao_plugin_api::export_plugin! {
    name: "notifier-webhook",
    components: [ notifier "webhook" => Webhook ],
}

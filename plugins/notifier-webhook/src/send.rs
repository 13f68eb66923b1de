//! One POST with signing, retries and errors a person can act on.

use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::notifier::NotifyOutcome;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest `Retry-After` we honour; a longer one fails the call instead of parking a thread.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) secret: Option<String>,
    pub(crate) retries: u32,
    pub(crate) retry_delay: Duration,
    pub(crate) timeout: Duration,
}

pub(crate) struct Sender {
    settings: Settings,
    agent: ureq::Agent,
    /// `scheme://host[:port]`: what messages show, since webhook paths often embed tokens.
    shown: String,
}

/// What one attempt ended with.
enum Attempt {
    Done(NotifyOutcome),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Fail(SdkError),
}

impl Sender {
    pub(crate) fn new(settings: Settings) -> Result<Self, SdkError> {
        let shown = origin(&settings.url).ok_or_else(|| {
            SdkError::InvalidConfig("`url` must be an http:// or https:// URL".into())
        })?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("ao-notifier-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            settings,
            agent,
            shown,
        })
    }

    pub(crate) fn post(
        &self,
        ctx: &Ctx,
        event: &str,
        body: &Value,
    ) -> Result<NotifyOutcome, SdkError> {
        let bytes = body.to_string().into_bytes();
        let delivery = hex::encode(&Sha256::digest(&bytes)[..16]);
        let signature = self.settings.secret.as_ref().map(|s| sign(s, &bytes));
        let mut delay = self.settings.retry_delay;
        let mut attempt = 0;
        loop {
            ctx.check()?;
            attempt += 1;
            let reason = match self.attempt(event, &delivery, signature.as_deref(), &bytes) {
                Attempt::Done(mut outcome) => {
                    outcome.attempts = attempt;
                    return Ok(outcome);
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { reason, after } => {
                    if let Some(after) = after {
                        delay = delay.max(after);
                    }
                    reason
                }
            };
            let out_of_time = ctx.remaining().is_some_and(|left| left < delay);
            if attempt > self.settings.retries || out_of_time || delay > MAX_RETRY_AFTER {
                return Err(SdkError::Unavailable(format!(
                    "webhook {} failed after {attempt} attempt(s): {reason}",
                    self.shown
                )));
            }
            ao_plugin_api::tracing::warn!(attempt, "webhook {}: {reason}; retrying", self.shown);
            ctx.sleep(delay)?;
            delay *= 2;
        }
    }

    fn attempt(
        &self,
        event: &str,
        delivery: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Attempt {
        let mut req = self
            .agent
            .post(&self.settings.url)
            .header("content-type", "application/json")
            .header("x-ao-event", event)
            .header("x-ao-delivery", delivery);
        for (k, v) in &self.settings.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(sig) = signature {
            req = req.header("x-ao-signature-256", sig);
        }
        let mut resp = match req.send(body) {
            Ok(resp) => resp,
            Err(e) => return classify_transport(&e),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        match status {
            200..=299 => {
                let id = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| match &v["id"] {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    });
                Attempt::Done(NotifyOutcome { id, attempts: 0 })
            }
            429 => Attempt::Retry {
                reason: "rate limited (429)".into(),
                after: retry_after,
            },
            500..=599 => Attempt::Retry {
                reason: format!("server error {status}"),
                after: retry_after,
            },
            401 | 403 => Attempt::Fail(SdkError::PermissionDenied(format!(
                "webhook {} refused the request ({status}): check the receiver's credentials in \
                 `headers` or the signing secret",
                self.shown
            ))),
            404 | 410 => Attempt::Fail(SdkError::InvalidConfig(format!(
                "webhook {} answered {status}: check `url`",
                self.shown
            ))),
            _ => Attempt::Fail(SdkError::InvalidParams(format!(
                "webhook {} rejected the payload ({status}): {}",
                self.shown,
                first_line(&text)
            ))),
        }
    }
}

fn classify_transport(e: &ureq::Error) -> Attempt {
    match e {
        ureq::Error::Timeout(_) => Attempt::Retry {
            reason: "timed out".into(),
            after: None,
        },
        ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Attempt::Retry {
            reason: e.to_string(),
            after: None,
        },
        other => Attempt::Fail(SdkError::InvalidConfig(format!(
            "webhook request failed: {other}"
        ))),
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    // Drop userinfo: it is a credential.
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    Some(format!("{scheme}://{host}"))
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn origin_hides_path_query_and_credentials() {
        assert_eq!(
            origin("https://hooks.example.com/services/T000/B000/XXXX?x=1").as_deref(),
            Some("https://hooks.example.com")
        );
        assert_eq!(
            origin("http://user:pw@127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("ftp://x/y"), None);
        assert_eq!(origin("not a url"), None);
    }
}

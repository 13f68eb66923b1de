//! Outgoing HTTP for plugins that post to a service (feature `http`): one JSON POST with a
//! deadline, retries on network errors, 5xx and 429 (doubling back-off, honouring
//! `Retry-After` up to a minute), and errors a person can act on. URLs of webhooks often embed
//! their token, so messages and logs show only `scheme://host[:port]` ([`origin`]).

use crate::sdk::{Ctx, SdkError};
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest `Retry-After` honoured; a longer one fails the call instead of parking a thread.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Extra attempts after the first, unless a plugin's config says otherwise (serde `default`).
pub fn default_retries() -> u32 {
    2
}

/// Delay before the first retry, in ms (doubles each time).
pub fn default_retry_delay_ms() -> u64 {
    1000
}

/// Per-attempt timeout, in ms.
pub fn default_timeout_ms() -> u64 {
    10_000
}

/// How to post.
#[derive(Debug, Clone)]
pub struct PostSettings {
    /// Where (may hold a token: never shown).
    pub url: String,
    /// Extra headers on every request (may hold credentials: never shown).
    pub headers: BTreeMap<String, String>,
    /// Attempts after the first on 5xx, 429 and network errors.
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    pub retry_delay: Duration,
    /// Per-attempt deadline.
    pub timeout: Duration,
    /// What the service is, for messages: `slack webhook`, `discord webhook`, `composio`.
    pub label: String,
    /// What to check on 401/403, for messages: "the webhook URL", "`apiKeyEnv`".
    pub credential_hint: String,
    /// The setting that holds the URL, for messages: "`url`", "`webhookUrlEnv`".
    pub url_setting: String,
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct Posted {
    /// HTTP status.
    pub status: u16,
    /// The body (at most 64 KiB).
    pub body: String,
    /// Attempts made.
    pub attempts: u32,
}

/// Posts JSON to one URL.
pub struct Poster {
    settings: PostSettings,
    agent: ureq::Agent,
    shown: String,
}

enum Attempt {
    Done(Posted),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Fail(SdkError),
}

impl Poster {
    /// Checks the URL (http or https).
    pub fn new(settings: PostSettings) -> Result<Self, SdkError> {
        let shown = origin(&settings.url).ok_or_else(|| {
            SdkError::InvalidConfig(format!(
                "{} must be an http:// or https:// URL",
                settings.url_setting
            ))
        })?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("ao-plugin/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            settings,
            agent,
            shown,
        })
    }

    /// `scheme://host[:port]` of the URL.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// POSTs `body` as JSON to the URL (with `path` appended, e.g. `?wait=true`), retrying as
    /// the module says.
    pub fn post(
        &self,
        ctx: &Ctx,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Posted, SdkError> {
        let url = format!("{}{path}", self.settings.url);
        let mut delay = self.settings.retry_delay;
        let mut attempt = 0;
        loop {
            ctx.check()?;
            attempt += 1;
            let reason = match self.attempt(&url, headers, body) {
                Attempt::Done(mut posted) => {
                    posted.attempts = attempt;
                    return Ok(posted);
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
                    "{} {} failed after {attempt} attempt(s): {reason}",
                    self.settings.label, self.shown
                )));
            }
            crate::tracing::warn!(
                attempt,
                "{} {}: {reason}; retrying",
                self.settings.label,
                self.shown
            );
            ctx.sleep(delay)?;
            delay *= 2;
        }
    }

    fn attempt(&self, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Attempt {
        let mut req = self
            .agent
            .post(url)
            .header("content-type", "application/json");
        for (k, v) in &self.settings.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = match req.send(body) {
            Ok(resp) => resp,
            Err(e) => return self.transport(&e),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let (label, shown) = (&self.settings.label, &self.shown);
        match status {
            200..=299 => Attempt::Done(Posted {
                status,
                body: text,
                attempts: 0,
            }),
            429 => Attempt::Retry {
                reason: "rate limited (429)".into(),
                after: retry_after,
            },
            500..=599 => Attempt::Retry {
                reason: format!("server error {status}"),
                after: retry_after,
            },
            401 | 403 => Attempt::Fail(SdkError::PermissionDenied(format!(
                "{label} {shown} refused the request ({status}): check {}{}",
                self.settings.credential_hint,
                paren(&text)
            ))),
            404 | 410 => Attempt::Fail(SdkError::InvalidConfig(format!(
                "{label} {shown} answered {status}: check {}{}",
                self.settings.url_setting,
                paren(&text)
            ))),
            _ => Attempt::Fail(SdkError::InvalidParams(format!(
                "{label} {shown} rejected the payload ({status}){}",
                detail(&text)
            ))),
        }
    }

    fn transport(&self, e: &ureq::Error) -> Attempt {
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
                "{} {}: {other}",
                self.settings.label, self.shown
            ))),
        }
    }
}

/// ` (<first line of the answer>)`, or nothing.
fn paren(text: &str) -> String {
    match detail(text).strip_prefix(": ") {
        Some(line) => format!(" ({line})"),
        None => String::new(),
    }
}

/// `: <first line of the answer>`, at most 200 characters, or nothing.
fn detail(text: &str) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        String::new()
    } else {
        format!(": {line}")
    }
}

/// `scheme://host[:port]` of an http(s) URL, without credentials, path or query.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|h| !h.is_empty())?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_hides_path_query_and_credentials() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T000/B000/XXXX?x=1").as_deref(),
            Some("https://hooks.slack.com")
        );
        assert_eq!(
            origin("http://user:pw@127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("ftp://x/y"), None);
        assert_eq!(origin("not a url"), None);
    }
}

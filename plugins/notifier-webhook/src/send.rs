//! One POST with signing, retries and errors a person can act on (the retries and errors are
//! the SDK's `http::Poster`; the signature and delivery headers are this plugin's).

use ao_plugin_api::sdk::http::{PostSettings, Poster};
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::notifier::NotifyOutcome;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) secret: Option<String>,
    pub(crate) retries: u32,
    pub(crate) retry_delay: Duration,
    pub(crate) timeout: Duration,
}

pub(crate) struct Sender {
    poster: Poster,
    secret: Option<String>,
}

impl Sender {
    pub(crate) fn new(settings: Settings) -> Result<Self, SdkError> {
        let poster = Poster::new(PostSettings {
            url: settings.url,
            headers: settings.headers,
            retries: settings.retries,
            retry_delay: settings.retry_delay,
            timeout: settings.timeout,
            label: "webhook".into(),
            credential_hint: "the receiver's credentials in `headers` or the signing secret".into(),
            url_setting: "`url`".into(),
        })?;
        Ok(Self {
            poster,
            secret: settings.secret,
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
        let signature = self.secret.as_ref().map(|s| sign(s, &bytes));
        let mut headers = vec![("x-ao-event", event), ("x-ao-delivery", delivery.as_str())];
        if let Some(sig) = &signature {
            headers.push(("x-ao-signature-256", sig.as_str()));
        }
        let posted = self.poster.post(ctx, "", &headers, &bytes)?;
        let id = serde_json::from_str::<Value>(&posted.body)
            .ok()
            .and_then(|v| match &v["id"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        Ok(NotifyOutcome {
            id,
            attempts: posted.attempts,
        })
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
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
}

//! `ao`'s implementation of the ABI's `Host` callback: what a plugin can ask of the host.

use ao_plugin_api::abi::{AbiResult, AbiStr, AbiString, ErrorCode, Host, LogRecord, PluginError};
use ao_plugin_api::manifest::host_verbs;
use serde_json::Value;

/// The callbacks given to one component instance.
pub(crate) struct HostCallbacks {
    pub(crate) component: String,
    pub(crate) host_info_json: String,
    /// Environment variable names this component's config refers to: the only secrets it gets.
    pub(crate) secrets: Vec<String>,
    pub(crate) events: Option<tokio::sync::mpsc::Sender<Value>>,
}

impl Host for HostCallbacks {
    fn log(&self, r: LogRecord) {
        let (c, t, f, m) = (
            &self.component,
            r.target.as_str(),
            r.fields_json.as_str(),
            r.message.as_str(),
        );
        // tracing needs the level at compile time; the fixed target lets RUST_LOG=ao::plugin=debug
        // select every plugin at once.
        macro_rules! emit {
            ($level:ident) => {
                if f.is_empty() {
                    tracing::$level!(target: "ao::plugin", plugin = %c, plugin_target = t, "{m}")
                } else {
                    tracing::$level!(target: "ao::plugin", plugin = %c, plugin_target = t, fields = f, "{m}")
                }
            };
        }
        match r.level {
            0 | 1 => emit!(error),
            2 => emit!(warn),
            3 => emit!(info),
            4 => emit!(debug),
            _ => emit!(trace),
        }
    }

    fn emit(&self, event_json: AbiStr<'_>) -> AbiResult<(), PluginError> {
        let value: Value = match serde_json::from_str(event_json.as_str()) {
            Ok(v) => v,
            Err(e) => {
                return Err(PluginError::new(
                    ErrorCode::INVALID_PARAMS,
                    format!("event is not JSON: {e}"),
                ))
                .into();
            }
        };
        if let Some(tx) = &self.events {
            // Never block a plugin thread on a slow consumer: a full queue drops the event.
            if tx.try_send(value).is_err() {
                tracing::warn!(plugin = %self.component, "event queue full; dropped a plugin event");
            }
        }
        Ok(()).into()
    }

    fn call_host(
        &self,
        method: AbiStr<'_>,
        params_json: AbiStr<'_>,
    ) -> AbiResult<AbiString, PluginError> {
        self.answer(method.as_str(), params_json.as_str())
            .map(AbiString::from)
            .into()
    }
}

impl HostCallbacks {
    pub(crate) fn answer(&self, verb: &str, params: &str) -> Result<String, PluginError> {
        let params: Value = serde_json::from_str(if params.is_empty() { "{}" } else { params })
            .map_err(|e| PluginError::new(ErrorCode::INVALID_PARAMS, format!("bad params: {e}")))?;
        match verb {
            host_verbs::SECRET_GET => {
                let name = params["name"].as_str().unwrap_or_default();
                if !self.secrets.iter().any(|s| s == name) {
                    return Err(PluginError::new(
                        ErrorCode::PERMISSION_DENIED,
                        format!("secret `{name}` is not referenced by this component's config"),
                    ));
                }
                match std::env::var(name) {
                    Ok(value) => Ok(serde_json::json!({ "value": value }).to_string()),
                    Err(_) => Err(PluginError::new(
                        ErrorCode::NOT_FOUND,
                        format!("environment variable `{name}` is not set"),
                    )),
                }
            }
            host_verbs::HOST_INFO => Ok(self.host_info_json.clone()),
            host_verbs::IS_CANCELLED => Ok(r#"{"cancelled":false}"#.into()),
            other => Err(PluginError::new(
                ErrorCode::UNSUPPORTED_METHOD,
                format!("this ao does not answer `{other}`"),
            )),
        }
    }
}

/// The secret names a config refers to: string values of keys ending in `Env`/`_env`, and
/// `${NAME}` references anywhere.
pub(crate) fn referenced_secrets(config: &Value) -> Vec<String> {
    fn walk(v: &Value, key: Option<&str>, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, Some(k), out)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, None, out)),
            Value::String(s) => {
                if key.is_some_and(|k| k.ends_with("Env") || k.ends_with("_env")) && is_env_name(s)
                {
                    out.push(s.clone());
                }
                let mut rest = s.as_str();
                while let Some(start) = rest.find("${") {
                    let tail = &rest[start + 2..];
                    let Some(end) = tail.find('}') else { break };
                    if is_env_name(&tail[..end]) {
                        out.push(tail[..end].to_string());
                    }
                    rest = &tail[end + 1..];
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(config, None, &mut out);
    out.sort();
    out.dedup();
    out
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| {
            b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b.is_ascii_lowercase()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_env_keys_and_references() {
        let cfg = serde_json::json!({
            "secretEnv": "HOOK_SECRET",
            "url": "https://x/${HOOK_TOKEN}/y",
            "headers": {"Authorization": "Bearer ${API_KEY}"},
            "nested": [{"token_env": "OTHER"}],
            "label": "not a secret",
        });
        assert_eq!(
            referenced_secrets(&cfg),
            ["API_KEY", "HOOK_SECRET", "HOOK_TOKEN", "OTHER"]
        );
    }

    #[test]
    fn unreferenced_secrets_are_refused() {
        let host = HostCallbacks {
            component: "notifier/x".into(),
            host_info_json: "{}".into(),
            secrets: vec!["ALLOWED".into()],
            events: None,
        };
        let e = host
            .answer(host_verbs::SECRET_GET, r#"{"name":"HOME"}"#)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PERMISSION_DENIED);
    }
}

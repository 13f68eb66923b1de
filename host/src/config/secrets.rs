//! Secrets: `${NAME}` references, warnings for literal secrets, redaction for display.

use serde_json::Value;

/// Whether a key names a secret (`token`, `webhookUrl`, `apiKey`, …).
pub fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("env")
        && [
            "token",
            "secret",
            "password",
            "apikey",
            "api_key",
            "webhook",
            "credential",
        ]
        .iter()
        .any(|w| k.contains(w))
}

/// Whether a value looks like a credential whatever its key.
pub fn secret_value(v: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "sk-",
        "glpat-",
    ];
    PREFIXES.iter().any(|p| v.starts_with(p))
        || v.starts_with("https://hooks.slack.com/")
        || v.starts_with("https://discord.com/api/webhooks/")
}

/// Whether a value is a reference (`${NAME}`) rather than a literal.
pub fn is_reference(v: &str) -> bool {
    v.contains("${")
}

/// Key paths (relative to `base`) of literal secrets in a plugin config.
pub fn literal_secrets(base: &str, v: &Value) -> Vec<String> {
    fn walk(path: String, key: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(format!("{path}.{k}"), k, v, out);
                }
            }
            Value::String(s)
                if !s.is_empty() && !is_reference(s) && (secret_key(key) || secret_value(s)) =>
            {
                out.push(path)
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(base.to_string(), "", v, &mut out);
    out
}

/// A copy with every literal secret replaced by `"<redacted>"`.
pub fn redact(v: &Value) -> Value {
    fn walk(key: &str, v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), walk(k, v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| walk(key, v)).collect()),
            Value::String(s) if !is_reference(s) && (secret_key(key) || secret_value(s)) => {
                Value::String("<redacted>".into())
            }
            other => other.clone(),
        }
    }
    walk("", v)
}

/// Replaces each `${NAME}` in the strings of `v` with the variable's value, looked up by `env`.
/// `Err` names the first variable that is not set. Used in memory only, when a plugin is
/// instantiated; the expanded value is never written or logged.
pub fn expand(v: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    Ok(match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                out.insert(k.clone(), expand(v, env)?);
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            Value::Array(a.iter().map(|v| expand(v, env)).collect::<Result<_, _>>()?)
        }
        Value::String(s) => Value::String(expand_str(s, env)?),
        other => other.clone(),
    })
}

/// Replaces each `${NAME}` in `s` with the variable's value from `env`; `Err` names the
/// first variable that is not set.
pub fn expand_str(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let tail = &rest[start + 2..];
        let end = tail
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
        let name = &tail[..end];
        out.push_str(
            &env(name).ok_or_else(|| format!("environment variable `{name}` is not set"))?,
        );
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_secrets_are_found_and_references_are_not() {
        let cfg = json!({
            "webhookUrl": "https://hooks.slack.com/services/T/B/X",
            "token": "${GITHUB_TOKEN}",
            "tokenEnv": "GITHUB_TOKEN",
            "channel": "#ops",
            "nested": {"apiKey": "abc"},
            "sneaky": "ghp_abcdef",
        });
        let mut found = literal_secrets("notifiers.slack", &cfg);
        found.sort();
        assert_eq!(
            found,
            [
                "notifiers.slack.nested.apiKey",
                "notifiers.slack.sneaky",
                "notifiers.slack.webhookUrl"
            ]
        );
        let shown = redact(&cfg);
        assert_eq!(shown["webhookUrl"], "<redacted>");
        assert_eq!(shown["token"], "${GITHUB_TOKEN}");
        assert_eq!(shown["channel"], "#ops");
    }

    #[test]
    fn references_expand_or_name_the_missing_variable() {
        let env = |n: &str| (n == "HOST").then(|| "example.org".to_string());
        assert_eq!(
            expand(&json!({"u": "https://${HOST}/x"}), &env).unwrap(),
            json!({"u": "https://example.org/x"})
        );
        assert_eq!(
            expand(&json!(["${NOPE}"]), &env).unwrap_err(),
            "environment variable `NOPE` is not set"
        );
    }
}

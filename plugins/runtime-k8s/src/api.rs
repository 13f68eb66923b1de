//! The Kubernetes API's REST calls: JSON in and out, every call under a deadline, the bearer
//! token (or client certificate) of the [`Target`], and the API's `Status` errors turned into
//! error kinds with the server's own message.

use crate::kubeconfig::{Auth, Target};
use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::sdk::command::Command;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// A connected client.
pub struct Api {
    pub(crate) target: Target,
    agent: ureq::Agent,
    /// The exec WebSocket's TLS settings (`None`: plain `http://`).
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    timeout: Duration,
    /// An exec plugin's token and when it expires.
    exec_token: Mutex<Option<(String, Option<SystemTime>)>>,
}

impl Api {
    /// A client for `target`, each call bounded by `timeout`.
    pub fn new(target: Target, timeout: Duration) -> Result<Self, SdkError> {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
        let mut tls = TlsConfig::builder();
        if let Some(pem) = &target.ca_pem {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(SdkError::InvalidConfig(
                    "the kubeconfig's certificate authority holds no PEM certificate".into(),
                ));
            }
            tls = tls.root_certs(RootCerts::Specific(std::sync::Arc::new(certs)));
        }
        if target.insecure {
            tls = tls.disable_verification(true);
        }
        if let Auth::ClientCert { cert_pem, key_pem } = &target.auth {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(cert_pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key = PrivateKey::from_pem(key_pem).map_err(|e| {
                SdkError::InvalidConfig(format!("the kubeconfig's client key: {e}"))
            })?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&certs, key)));
        }
        let agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let tls = crate::tls::config(&target)?;
        Ok(Self {
            target,
            agent,
            tls,
            timeout,
            exec_token: Mutex::new(None),
        })
    }

    /// The namespace sessions live in.
    pub fn namespace(&self) -> &str {
        &self.target.namespace
    }

    /// The `Authorization` header, when the target uses a token.
    pub(crate) fn bearer(&self) -> Result<Option<String>, SdkError> {
        Ok(match &self.target.auth {
            Auth::Token(t) => Some(format!("Bearer {t}")),
            Auth::TokenFile(p) => {
                let t = std::fs::read_to_string(p).map_err(|e| {
                    SdkError::Unavailable(format!("cannot read the token {}: {e}", p.display()))
                })?;
                Some(format!("Bearer {}", t.trim()))
            }
            Auth::Exec { command, args, env } => {
                Some(format!("Bearer {}", self.exec_token(command, args, env)?))
            }
            Auth::None | Auth::ClientCert { .. } => None,
        })
    }

    /// The exec plugin's token, run again only when the last one expired.
    fn exec_token(
        &self,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<String, SdkError> {
        let mut cached = self.exec_token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, exp)) = cached.as_ref()
            && exp.is_none_or(|e| e > SystemTime::now() + Duration::from_secs(30))
        {
            return Ok(t.clone());
        }
        let mut cmd = Command::new(command).args(args).timeout(self.timeout);
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run(None)?;
        if !out.success() {
            return Err(SdkError::Unavailable(format!(
                "the kubeconfig's credential plugin `{command}` failed: {}",
                out.first_error_line()
            )));
        }
        let cred: Value = serde_json::from_str(&out.stdout).map_err(|e| {
            SdkError::Unavailable(format!(
                "the credential plugin `{command}` printed no ExecCredential: {e}"
            ))
        })?;
        let token = cred["status"]["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                SdkError::Unavailable(format!(
                    "the credential plugin `{command}` gave no status.token"
                ))
            })?
            .to_string();
        let expires = cred["status"]["expirationTimestamp"]
            .as_str()
            .and_then(humantime_rfc3339);
        *cached = Some((token.clone(), expires));
        Ok(token)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.server)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, SdkError> {
        self.call("GET", path, None)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, SdkError> {
        self.call("POST", path, Some(body))
    }

    /// `DELETE path` (with `DeleteOptions` as the body when given).
    pub fn delete(&self, path: &str, body: Option<&Value>) -> Result<Value, SdkError> {
        self.call("DELETE", path, body)
    }

    /// `GET path` for a plain-text answer (`pods/…/log`).
    pub fn get_text(&self, path: &str) -> Result<String, SdkError> {
        let (code, text) = self.raw("GET", path, None)?;
        if (200..300).contains(&code) {
            Ok(text)
        } else {
            Err(error(code, &text, path))
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, SdkError> {
        let (code, text) = self.raw(method, path, body)?;
        if (200..300).contains(&code) {
            serde_json::from_str(&text).map_err(|e| {
                SdkError::Unavailable(format!("{method} {path}: the API answered no JSON: {e}"))
            })
        } else {
            Err(error(code, &text, path))
        }
    }

    fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), SdkError> {
        let started = Instant::now();
        let url = self.url(path);
        let auth = self.bearer()?;
        let failed = |e: ureq::Error| {
            let why = match e {
                ureq::Error::Timeout(_) => format!("no answer within {:?}", self.timeout),
                other => other.to_string(),
            };
            SdkError::Unavailable(format!(
                "the Kubernetes API at {} ({method} {path}): {why}",
                self.target.server
            ))
        };
        let res = match (method, body) {
            ("POST", Some(b)) | ("DELETE", Some(b)) => {
                let mut r = if method == "POST" {
                    self.agent.post(&url)
                } else {
                    self.agent.delete(&url).force_send_body()
                };
                r = r
                    .header("content-type", "application/json")
                    .header("accept", "application/json");
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.send(b.to_string())
            }
            _ => {
                let mut r = match method {
                    "DELETE" => self.agent.delete(&url),
                    _ => self.agent.get(&url),
                };
                r = r.header("accept", "application/json");
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            }
        }
        .map_err(failed)?;
        let code = res.status().as_u16();
        let text = res
            .into_body()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(failed)?;
        ao_plugin_api::tracing::trace!("k8s {method} {path}: {code} in {:?}", started.elapsed());
        Ok((code, text))
    }
}

/// An API error as a kind, with the server's message.
fn error(code: u16, text: &str, path: &str) -> SdkError {
    let status: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let msg = status["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| text.lines().next().unwrap_or("").to_string());
    let msg = format!("Kubernetes API {code} on {path}: {msg}");
    match code {
        404 => SdkError::NotFound(msg),
        409 => SdkError::Conflict(msg),
        400 | 422 => SdkError::InvalidParams(msg),
        401 => SdkError::Unavailable(format!("{msg} (the kubeconfig's credentials were refused)")),
        403 => SdkError::Unavailable(format!(
            "{msg} (the account lacks a permission: see README's RBAC for runtime-k8s)"
        )),
        _ => SdkError::Unavailable(msg),
    }
}

/// An RFC 3339 time, if it is one.
fn humantime_rfc3339(t: &str) -> Option<SystemTime> {
    ao_plugin_api::sdk::agent::parse_time_ms(t)
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
}

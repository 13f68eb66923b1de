//! A command in a pod's container over the API server's exec WebSocket (the remotecommand
//! subprotocols): every message binary, its first byte the channel — 0 stdin, 1 stdout,
//! 2 stderr, 3 the final `Status`. `v5.channel.k8s.io` is asked for first, since only it can
//! close stdin (`[255, 0]`); on `v4.channel.k8s.io` a command never sees the end of its input,
//! so callers that pass stdin end it themselves (`head -c N`). Over TLS to an `https://` server
//! ([`crate::tls`]).

use crate::api::Api;
use ao_plugin_api::sdk::SdkError;
use serde_json::Value;
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

/// What one exec printed and how it ended.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// `Some(0)` on success; `None` when the server said nothing of the exit.
    pub exit_code: Option<i64>,
    /// The subprotocol the server chose.
    pub protocol: String,
}

impl ExecOutput {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The first line it printed, stderr first: what went wrong, for an error.
    pub fn first_error_line(&self) -> &str {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output")
    }
}

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

/// Percent-encodes one query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `argv` in `container` of `pod`, feeding `stdin` when given, within `timeout`.
pub fn exec(
    api: &Api,
    pod: &str,
    container: &str,
    argv: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<ExecOutput, SdkError> {
    let server = &api.target.server;
    let (ws_base, default_port) = if let Some(rest) = server.strip_prefix("http://") {
        (format!("ws://{rest}"), 80)
    } else if let Some(rest) = server.strip_prefix("https://") {
        (format!("wss://{rest}"), 443)
    } else {
        return Err(SdkError::InvalidConfig(format!(
            "the API server `{server}` is neither http:// nor https://"
        )));
    };
    let mut query = format!("container={}&stdout=true&stderr=true", enc(container));
    if stdin.is_some() {
        query.push_str("&stdin=true");
    }
    for a in argv {
        query.push_str(&format!("&command={}", enc(a)));
    }
    let url = format!(
        "{ws_base}/api/v1/namespaces/{}/pods/{}/exec?{query}",
        enc(api.namespace()),
        enc(pod)
    );
    let shown = format!(
        "exec in {pod}: {}",
        argv.first().map(String::as_str).unwrap_or("")
    );
    let mut req = url
        .into_client_request()
        .map_err(|e| SdkError::Internal(format!("{shown}: {e}")))?;
    let h = req.headers_mut();
    h.insert(
        "sec-websocket-protocol",
        format!("{V5}, {V4}").parse().expect("a header value"),
    );
    if let Some(auth) = api.bearer()? {
        h.insert(
            "authorization",
            auth.parse()
                .map_err(|_| SdkError::InvalidConfig("the token is not a header value".into()))?,
        );
    }
    let authority = ws_base
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(port) => (h.to_string(), port),
            Err(_) => (authority.clone(), default_port),
        },
        _ => (authority.clone(), default_port),
    };
    let started = Instant::now();
    let conn = crate::tls::connect(&host, port, api.tls.as_ref()).map_err(|e| {
        SdkError::Unavailable(format!(
            "{shown}: cannot reach the API server at {authority}: {e}"
        ))
    })?;
    conn.tcp().set_read_timeout(Some(timeout)).ok();
    conn.tcp().set_write_timeout(Some(timeout)).ok();
    let (mut ws, res) = tungstenite::client(req, conn).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => {
            let body = r
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let msg = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or(body);
            let code = r.status().as_u16();
            let msg = format!("{shown}: the API server refused ({code}): {msg}");
            match code {
                404 => SdkError::NotFound(msg),
                _ => SdkError::Unavailable(msg),
            }
        }
        other => SdkError::Unavailable(format!("{shown}: {other}")),
    })?;
    let protocol = res
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let io = |e: tungstenite::Error| match e {
        tungstenite::Error::Io(e)
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            SdkError::Timeout(format!("{shown}: no end within {timeout:?}"))
        }
        other => SdkError::Unavailable(format!("{shown}: {other}")),
    };
    if let Some(data) = stdin {
        for chunk in data.chunks(32 * 1024) {
            let mut m = Vec::with_capacity(chunk.len() + 1);
            m.push(0u8);
            m.extend_from_slice(chunk);
            ws.send(Message::Binary(m.into())).map_err(io)?;
        }
        if protocol == V5 {
            ws.send(Message::Binary(vec![255u8, 0].into()))
                .map_err(io)?;
        }
    }
    let mut out = ExecOutput {
        protocol,
        ..Default::default()
    };
    loop {
        if started.elapsed() > timeout {
            return Err(SdkError::Timeout(format!(
                "{shown}: no end within {timeout:?}"
            )));
        }
        let msg = match ws.read() {
            Ok(m) => m,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )) => break,
            Err(e) => return Err(io(e)),
        };
        match msg {
            Message::Binary(b) => match b.split_first() {
                Some((1, d)) => out.stdout.push_str(&String::from_utf8_lossy(d)),
                Some((2, d)) => out.stderr.push_str(&String::from_utf8_lossy(d)),
                Some((3, d)) => out.exit_code = exit_code(d),
                _ => {}
            },
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(out)
}

/// The exit code in the error channel's `Status`.
fn exit_code(status: &[u8]) -> Option<i64> {
    let v: Value = serde_json::from_slice(status).ok()?;
    if v["status"] == "Success" {
        return Some(0);
    }
    v["details"]["causes"]
        .as_array()?
        .iter()
        .find(|c| c["reason"] == "ExitCode")?["message"]
        .as_str()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_come_from_the_status() {
        assert_eq!(
            super::exit_code(br#"{"metadata":{},"status":"Success"}"#),
            Some(0)
        );
        let failed = br#"{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(super::exit_code(failed), Some(3));
        assert_eq!(
            super::exit_code(br#"{"status":"Failure","message":"x"}"#),
            None
        );
        assert_eq!(super::enc("a b/c=d"), "a%20b%2Fc%3Dd");
    }
}

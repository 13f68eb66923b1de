//! Who may use the dashboard: whoever holds the token `ao` printed. The token lives in the data
//! directory (0600) and survives restarts, so a bookmarked URL keeps working. It is accepted as
//! `Authorization: Bearer`, as `?token=` (a page opened that way gets an HttpOnly, SameSite
//! cookie and is redirected to the bare URL), or as that cookie for GETs. Changes (POST) need
//! the header (`Authorization` or `X-AO-Token`): a cookie alone never acts, so another site
//! cannot make the browser act. The `Host` must be loopback, against DNS rebinding.
//!
//! A URL handed to another program (`ao open` runs a browser with it, and every local user
//! sees a process's argv in `ps`) carries a one-time `?code=` instead of the token: `ao` asks
//! the daemon for one (`POST /api/open-codes`, with the token), and the page's first request
//! trades it for the cookie. A code works once, within a minute.

use crate::Error;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a one-time code waits for its browser.
const CODE_TTL: Duration = Duration::from_secs(60);
/// Codes outstanding at once; the oldest goes first.
const MAX_CODES: usize = 64;

/// The cookie a page gets, named per port: a browser sends 127.0.0.1's cookies to every port,
/// and with one name two dashboards logged each other out.
pub fn cookie_name(port: u16) -> String {
    format!("ao_token_{port}")
}

/// `{data}/dashboard-{hash}.token`.
pub fn token_file(data_dir: &Path, hash: &str) -> PathBuf {
    data_dir.join(format!("dashboard-{hash}.token"))
}

/// The token in `file`, made (32 random bytes, hex) when missing.
pub fn load_or_create(file: &Path) -> Result<String, Error> {
    if let Ok(t) = std::fs::read_to_string(file) {
        let t = t.trim().to_string();
        if t.len() >= 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(t);
        }
    }
    let token = random_hex(32)?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("could not create", dir, e))?;
    }
    crate::store::metadata::write_atomic(file, token.as_bytes())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("could not protect", file, e))?;
    Ok(token)
}

fn random_hex(n: usize) -> Result<String, Error> {
    let mut bytes = vec![0u8; n];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("could not read", "/dev/urandom", e))?;
    Ok(hex::encode(bytes))
}

/// One-time codes that open a page without putting the token on a command line.
#[derive(Debug, Default)]
pub struct OpenCodes {
    live: Mutex<HashMap<String, Instant>>,
}

impl OpenCodes {
    /// A new code, good once within [`CODE_TTL`].
    pub fn issue(&self) -> Result<String, Error> {
        let code = random_hex(16)?;
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, born| now.duration_since(*born) < CODE_TTL);
        if live.len() >= MAX_CODES
            && let Some(oldest) = live.iter().min_by_key(|(_, b)| **b).map(|(c, _)| c.clone())
        {
            live.remove(&oldest);
        }
        live.insert(code.clone(), now);
        Ok(code)
    }

    /// Whether `code` is live; a live code is spent by its first use.
    pub fn redeem(&self, code: &str) -> bool {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let found = live.keys().find(|c| same(c, code)).cloned();
        found
            .and_then(|c| live.remove(&c))
            .is_some_and(|born| born.elapsed() < CODE_TTL)
    }
}

/// Equal without telling how much matched by how long it took.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A hex query parameter (`token`, `code`).
fn query_hex(req: &Request, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    req.uri().query()?.split('&').find_map(|kv| {
        kv.strip_prefix(prefix.as_str())
            .map(|v| v.to_string())
            .filter(|v| v.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

fn header_token(h: &HeaderMap) -> Option<String> {
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    bearer.or_else(|| {
        h.get("x-ao-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

fn cookie_token(h: &HeaderMap, port: u16) -> Option<String> {
    let prefix = format!("{}=", cookie_name(port));
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
}

/// Whether `host` (the Host header) names this loopback listener.
pub fn loopback_host(host: &str, port: u16) -> bool {
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
    .iter()
    .any(|h| h == host)
}

/// What the middleware knows.
#[derive(Clone)]
pub struct Guard {
    /// The token.
    pub token: String,
    /// The port we listen on (for the Host check).
    pub port: u16,
    /// Codes `ao open` got for the URLs it hands to a browser.
    pub codes: Arc<OpenCodes>,
}

fn refuse(req: &Request, status: StatusCode, why: &str) -> Response {
    if req.uri().path().starts_with("/api/") {
        (status, axum::Json(serde_json::json!({"error": why}))).into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!doctype html><title>ao</title><p>{why}</p><p>Open the dashboard with the URL \
                 <code>ao dashboard</code> prints.</p>"
            ),
        )
            .into_response()
    }
}

/// The middleware in front of every dashboard route.
pub async fn check(
    axum::extract::State(g): axum::extract::State<Guard>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !loopback_host(host, g.port) {
        return refuse(
            &req,
            StatusCode::FORBIDDEN,
            "this dashboard answers on 127.0.0.1 only",
        );
    }
    let from_header = header_token(req.headers());
    let from_query = query_hex(&req, "token");
    let ok = |t: &Option<String>| t.as_deref().is_some_and(|t| same(t, &g.token));
    if req.method() != Method::GET {
        if !ok(&from_header) {
            return refuse(&req, StatusCode::UNAUTHORIZED, "missing or wrong token");
        }
        if req.uri().path() == OPEN_CODES_PATH {
            return match g.codes.issue() {
                Ok(code) => axum::Json(serde_json::json!({
                    "code": code,
                    "expiresInSeconds": CODE_TTL.as_secs(),
                }))
                .into_response(),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(serde_json::json!({"error": e.to_string()})),
                )
                    .into_response(),
            };
        }
        return next.run(req).await;
    }
    let page = !req.uri().path().starts_with("/api/");
    if page && let Some(code) = query_hex(&req, "code") {
        if !g.codes.redeem(&code) {
            return refuse(
                &req,
                StatusCode::UNAUTHORIZED,
                "this link was already used or is more than a minute old",
            );
        }
        return to_cookie(&req, &g);
    }
    if ok(&from_query) && page {
        return to_cookie(&req, &g);
    }
    if ok(&from_header) || ok(&from_query) || ok(&cookie_token(req.headers(), g.port)) {
        return next.run(req).await;
    }
    refuse(&req, StatusCode::UNAUTHORIZED, "missing or wrong token")
}

/// Where `ao` asks for a one-time code (POST, with the token).
pub const OPEN_CODES_PATH: &str = "/api/open-codes";

/// A page opened with the token or a code: the token goes into a cookie, the URL loses it.
fn to_cookie(req: &Request, g: &Guard) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, req.uri().path())
        .header(
            header::SET_COOKIE,
            format!(
                "{}={}; HttpOnly; SameSite=Strict; Path=/",
                cookie_name(g.port),
                g.token
            ),
        )
        .body(Body::empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let f = token_file(dir.path(), "abc");
        let t = load_or_create(&f).unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(
            load_or_create(&f).unwrap(),
            t,
            "the same token after a restart"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn only_loopback_hosts_and_equal_tokens_pass() {
        assert!(loopback_host("127.0.0.1:3000", 3000));
        assert!(loopback_host("localhost:3000", 3000));
        assert!(!loopback_host("evil.example:3000", 3000));
        assert!(!loopback_host("127.0.0.1:3001", 3000));
        assert!(same("abcd", "abcd") && !same("abcd", "abce") && !same("abc", "abcd"));
    }

    #[test]
    fn a_code_opens_once() {
        let codes = OpenCodes::default();
        let c = codes.issue().unwrap();
        assert_eq!(c.len(), 32);
        assert!(!codes.redeem("00"));
        assert!(codes.redeem(&c));
        assert!(!codes.redeem(&c), "spent");
        // Never more than MAX_CODES outstanding: the oldest goes.
        let first = codes.issue().unwrap();
        for _ in 0..MAX_CODES {
            codes.issue().unwrap();
        }
        assert!(!codes.redeem(&first));
    }
}

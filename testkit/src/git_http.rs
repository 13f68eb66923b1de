//! Git over smart HTTP with a token, as a forge serves it: `git http-backend` (the CGI program
//! git ships) behind HTTP Basic authentication (`x-access-token:<token>` as GitHub takes it),
//! so a clone or push that authenticates with a token is tested for real. Every request's
//! authentication is recorded; one without the right token gets `401` and a challenge, as a
//! forge answers.

use crate::serve::Background;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The CGI program, where Debian puts it.
const BACKEND: &str = "/usr/lib/git-core/git-http-backend";

struct Shared {
    root: PathBuf,
    user: String,
    token: String,
    /// `(path, authorized)` of every request.
    seen: Mutex<Vec<(String, bool)>>,
}

/// A git server for the bare repositories under a directory.
pub struct GitHttp {
    shared: Arc<Shared>,
    server: Background,
}

impl GitHttp {
    /// Serves the repositories under `root` (`<root>/app.git` is `<url>/app.git`) to clients
    /// that send `user` and `token`, on 127.0.0.1.
    pub fn start(root: &std::path::Path, user: &str, token: &str) -> Self {
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            user: user.into(),
            token: token.into(),
            seen: Mutex::default(),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = Background::start(router, 0, 2, "git-http").expect("git http server");
        Self { shared, server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// `(path, authorized)` of every request so far.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.shared
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn authorized(s: &Shared, headers: &HeaderMap) -> bool {
    let Some(basic) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) else {
        return false;
    };
    decoded == format!("{}:{}", s.user, s.token).as_bytes()
}

async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ok = authorized(&s, &headers);
    s.seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((uri.path().to_owned(), ok));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"ao-test\"")],
            "authentication required\n",
        )
            .into_response();
    }
    if uri.path().contains("..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new(BACKEND);
    cmd.env_clear()
        .env("GIT_PROJECT_ROOT", &s.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        // An authenticated user may push (http.receivepack defaults to that).
        .env("REMOTE_USER", &s.user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let run = async {
        use tokio::io::AsyncWriteExt;
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("stdin");
        let feed = async move {
            let r = stdin.write_all(&body).await;
            drop(stdin);
            r
        };
        let (fed, out) = tokio::join!(feed, child.wait_with_output());
        fed?;
        out
    };
    let out = match tokio::time::timeout(Duration::from_secs(60), run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(_) => {
            return (StatusCode::GATEWAY_TIMEOUT, "git http-backend timed out").into_response();
        }
    };
    cgi_response(&out.stdout)
}

/// A CGI program's output (headers, a blank line, the body) as an HTTP response.
fn cgi_response(out: &[u8]) -> Response {
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((at, gap)) = split else {
        return (StatusCode::BAD_GATEWAY, "no CGI headers").into_response();
    };
    let head = String::from_utf8_lossy(&out[..at]).into_owned();
    let mut status = StatusCode::OK;
    let mut response = Response::builder();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            if let Some(code) = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                status = code;
            }
        } else {
            response = response.header(k.trim(), v);
        }
    }
    response
        .status(status)
        .body(axum::body::Body::from(out[at + gap..].to_vec()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
        std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .unwrap()
    }

    /// A clone with the token works, one without is refused, a push with it lands.
    #[test]
    fn clones_and_pushes_need_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::git::Repo::with_origin(dir.path(), "app");
        let bare = repo.origin.clone().expect("origin");
        let server = GitHttp::start(bare.parent().unwrap(), "x-access-token", "t0k");
        let name = bare.file_name().unwrap().to_string_lossy().into_owned();
        let url = format!("{}/{name}", server.url());
        let with_token = |user: &str, pass: &str| {
            format!("credential.helper=!f() {{ echo username={user}; echo password={pass}; }}; f")
        };
        let refused = git(dir.path(), &["clone", "-q", &url, "nope"]);
        assert!(!refused.status.success());
        let bad = git(
            dir.path(),
            &[
                "-c",
                &with_token("x-access-token", "wrong"),
                "clone",
                "-q",
                &url,
                "bad",
            ],
        );
        assert!(!bad.status.success());
        let good = git(
            dir.path(),
            &[
                "-c",
                &with_token("x-access-token", "t0k"),
                "clone",
                "-q",
                &url,
                "good",
            ],
        );
        assert!(good.status.success(), "{good:?}");
        let clone = dir.path().join("good");
        std::fs::write(clone.join("new.txt"), "x").unwrap();
        for args in [
            &["add", "new.txt"][..],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "new",
            ],
            &[
                "-c",
                &with_token("x-access-token", "t0k"),
                "push",
                "-q",
                "origin",
                "HEAD:refs/heads/pushed",
            ],
        ] {
            let out = git(&clone, args);
            assert!(out.status.success(), "{args:?}: {out:?}");
        }
        let branches = git(&bare, &["branch", "--list", "pushed"]);
        assert!(String::from_utf8_lossy(&branches.stdout).contains("pushed"));
        let seen = server.requests();
        assert!(seen.iter().any(|(_, ok)| *ok) && seen.iter().any(|(_, ok)| !*ok));
    }
}

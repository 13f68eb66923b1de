//! One HTTP client per (API URL, token source), shared by the tracker and the SCM component so
//! the rate-limit accounting is the plugin's, not a component's.
//!
//! Every request: bearer token (never logged), a deadline (the call's, capped by `timeoutMs`),
//! `x-ratelimit-*` read back, conditional GETs answered from the ETag cache on `304` (free on
//! GitHub), secondary rate limits (`retry-after`) honoured by refusing to send until then, and
//! GitHub's error answers turned into one line that says what to fix.
//!
//! Redirects are followed here, not by the HTTP library (which turns a redirected write into a
//! GET and drops the token): as GitHub's docs say, a `301`, `302`, `307` or `308` is repeated
//! with its method and body (a renamed repository answers `301` to writes too), a `303`
//! becomes a GET. The token goes only to the origin the request was made to; a GET may follow
//! to another host without it (job logs live in signed storage), a write never does.

use ao_plugin_api::sdk::{Ctx, SdkError, command};
use ao_plugin_api::slots::scm::{Budget, RateLimitStatus};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bodies kept for conditional requests; the oldest go first past this.
const ETAG_CACHE: usize = 4096;
/// A wait for a secondary rate limit that is short enough to sit out inside one call.
const SHORT_WAIT: Duration = Duration::from_secs(2);
/// Log downloads are read up to this size (the excerpt is the end).
const MAX_LOG: u64 = 16 << 20;
/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TokenSource {
    /// Already resolved from the config's `tokenEnv` (the host checked the reference).
    Value(String),
    /// `gh auth token` (for the host of `api`).
    GhCli,
}

#[derive(Default)]
struct State {
    etags: HashMap<String, (String, Arc<Value>, Pages, u64)>,
    seq: u64,
    rest: Option<Budget>,
    graphql: Option<Budget>,
    blocked_until: Option<(Instant, String)>,
    requests: u64,
    charged: u64,
}

/// The neighbours of a page of a list, from its `Link` header.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pages {
    pub(crate) next: Option<String>,
    pub(crate) prev: Option<String>,
    pub(crate) last: Option<String>,
}

impl Pages {
    fn of(link: Option<&str>) -> Pages {
        Pages {
            next: crate::link::find(link, "next"),
            prev: crate::link::find(link, "prev"),
            last: crate::link::find(link, "last"),
        }
    }
}

/// A GET answer: the body (from the cache on `304`) and whether it changed.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    /// Shared with the ETag cache: a 304 costs no copy of the body.
    pub(crate) body: Arc<Value>,
    pub(crate) changed: bool,
    pub(crate) pages: Pages,
}

pub(crate) struct Client {
    agent: ureq::Agent,
    pub(crate) api: String,
    graphql_url: String,
    source: TokenSource,
    token: OnceLock<Result<String, String>>,
    timeout: Duration,
    state: Mutex<State>,
}

/// Clients by (api, graphql, token source): components built from the same settings share one.
pub(crate) fn shared(
    api: &str,
    graphql: &str,
    source: TokenSource,
    timeout: Duration,
) -> Arc<Client> {
    type Registry = Mutex<HashMap<(String, String, TokenSource), Arc<Client>>>;
    static ALL: OnceLock<Registry> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    all.entry((api.to_string(), graphql.to_string(), source.clone()))
        .or_insert_with(|| Arc::new(Client::new(api, graphql, source, timeout)))
        .clone()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn header<'a>(resp: &'a ureq::http::Response<ureq::Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Client {
    fn new(api: &str, graphql: &str, source: TokenSource, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Followed by `send_raw`, with the method, body and token where they belong.
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .user_agent(concat!("ao-plugin-github/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            api: api.trim_end_matches('/').to_string(),
            graphql_url: graphql.to_string(),
            source,
            token: OnceLock::new(),
            timeout,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn token(&self, ctx: &Ctx) -> Result<String, SdkError> {
        let t = self.token.get_or_init(|| match &self.source {
            TokenSource::Value(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            TokenSource::Value(_) => Err("the token variable named by `tokenEnv` is empty".into()),
            TokenSource::GhCli => {
                let mut cmd = command::Command::new("gh")
                    .args(["auth", "token"])
                    .timeout(Duration::from_secs(10));
                if let Some(host) = self.enterprise_host() {
                    cmd = cmd.args(["--hostname", host.as_str()]);
                }
                match cmd.run_ok(Some(ctx)) {
                    Ok(out) if !out.stdout.trim().is_empty() => Ok(out.stdout.trim().to_string()),
                    _ => Err(
                        "no GitHub token: set `tokenEnv: GITHUB_TOKEN` in the github \
                              plugin's config (and export it), or log in with `gh auth login`"
                            .into(),
                    ),
                }
            }
        });
        t.clone().map_err(SdkError::PermissionDenied)
    }

    fn enterprise_host(&self) -> Option<String> {
        let rest = self.api.strip_prefix("https://")?;
        let host = rest.split('/').next()?;
        (host != "api.github.com").then(|| host.to_string())
    }

    /// Refuses to send while a secondary rate limit lasts.
    fn gate(&self, ctx: &Ctx) -> Result<(), SdkError> {
        ctx.check()?;
        let wait = {
            let mut st = self.state();
            match &st.blocked_until {
                Some((until, why)) if *until > Instant::now() => {
                    Some((*until - Instant::now(), why.clone()))
                }
                Some(_) => {
                    st.blocked_until = None;
                    None
                }
                None => None,
            }
        };
        match wait {
            Some((left, _)) if left <= SHORT_WAIT && ctx.remaining().is_none_or(|r| r > left) => {
                ctx.sleep(left)
            }
            Some((left, why)) => Err(SdkError::RateLimited {
                message: format!(
                    "{why}; waiting {}s before the next request",
                    left.as_secs() + 1
                ),
                retry_after_ms: Some(left.as_millis() as u64),
            }),
            None => Ok(()),
        }
    }

    fn deadline(&self, ctx: &Ctx) -> Duration {
        ctx.remaining()
            .map_or(self.timeout, |r| r.min(self.timeout))
    }

    /// The REST URL for a path (or a full URL from a `Link` header).
    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.api)
        }
    }

    fn account(&self, url: &str, resp: &ureq::http::Response<ureq::Body>) {
        let num = |n: &str| header(resp, n).and_then(|v| v.trim().parse::<u64>().ok());
        let mut st = self.state();
        st.requests += 1;
        let status = resp.status().as_u16();
        // `GET /rate_limit` never counts against a budget, whatever it answers.
        let free = url
            .split(['?', '#'])
            .next()
            .is_some_and(|p| p.ends_with("/rate_limit"));
        if status != 304 && status != 401 && status < 500 && !free {
            st.charged += 1;
        }
        if let (Some(limit), Some(remaining), Some(reset)) = (
            num("x-ratelimit-limit"),
            num("x-ratelimit-remaining"),
            num("x-ratelimit-reset"),
        ) {
            let b = Budget {
                limit,
                remaining,
                reset_at_ms: reset * 1000,
            };
            match header(resp, "x-ratelimit-resource") {
                Some("graphql") => st.graphql = Some(b),
                _ => st.rest = Some(b),
            }
        }
        let retry_after = num("retry-after");
        if matches!(status, 403 | 429) {
            let exhausted = num("x-ratelimit-remaining") == Some(0);
            let until = match (retry_after, exhausted, num("x-ratelimit-reset")) {
                (Some(s), _, _) => Some(Duration::from_secs(s)),
                (None, true, Some(reset)) => Some(Duration::from_millis(
                    (reset * 1000).saturating_sub(now_ms()),
                )),
                (None, false, _) if status == 429 => Some(Duration::from_secs(60)),
                _ => None,
            };
            if let Some(d) = until {
                let why = if exhausted {
                    "GitHub's API rate limit is exhausted"
                } else {
                    "GitHub's secondary rate limit was hit"
                };
                st.blocked_until = Some((Instant::now() + d, why.to_string()));
            }
        }
    }

    /// Sends a request and follows its redirects (see the module's doc).
    fn send_raw(
        &self,
        ctx: &Ctx,
        method: &str,
        url: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
    ) -> Result<ureq::http::Response<ureq::Body>, SdkError> {
        let trusted = crate::link::origin(url);
        let (mut method, mut url, mut body) = (method.to_string(), url.to_string(), body.cloned());
        for _ in 0..=MAX_REDIRECTS {
            let ours = crate::link::origin(&url) == trusted;
            let extra = if ours { extra } else { &[] };
            let resp = self.send_once(ctx, &method, &url, body.as_ref(), extra, ours)?;
            let status = resp.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let Some(next) = header(&resp, "location").and_then(|l| crate::link::resolve(&url, l))
            else {
                // Nowhere to go: the caller sees a non-2xx answer, never a success.
                return Ok(resp);
            };
            if status == 303 {
                method = "GET".into();
                body = None;
            }
            if crate::link::origin(&next) != trusted && method != "GET" {
                return Err(SdkError::Unavailable(format!(
                    "GitHub redirected {method} {} to another host ({}); ao sends neither the \
                     token nor the request there, so nothing was changed",
                    self.shown(&url),
                    crate::link::origin(&next).unwrap_or_default()
                )));
            }
            url = next;
        }
        Err(SdkError::Unavailable(format!(
            "GitHub redirected {method} {} more than {MAX_REDIRECTS} times; nothing was done",
            self.shown(&url)
        )))
    }

    /// One request; the token only when `with_token`.
    fn send_once(
        &self,
        ctx: &Ctx,
        method: &str,
        url: &str,
        body: Option<&Value>,
        extra: &[(&str, &str)],
        with_token: bool,
    ) -> Result<ureq::http::Response<ureq::Body>, SdkError> {
        self.gate(ctx)?;
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if with_token {
            let token = self.token(ctx)?;
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(bytes)
            .map_err(|e| SdkError::InvalidParams(format!("bad request to {url}: {e}")))?;
        let timeout = self.deadline(ctx);
        let req = self
            .agent
            .configure_request(req)
            .timeout_global(Some(timeout))
            .build();
        let result = self.agent.run(req);
        match result {
            Ok(resp) => {
                // Another host's rate-limit headers are not GitHub's.
                if with_token {
                    self.account(url, &resp);
                }
                Ok(resp)
            }
            Err(ureq::Error::Timeout(_)) => Err(SdkError::Timeout(format!(
                "GitHub did not answer {method} {} within {}s",
                self.shown(url),
                timeout.as_secs_f32()
            ))),
            Err(e) if with_token => Err(SdkError::Unavailable(format!(
                "cannot reach GitHub at {}: {e}",
                self.api
            ))),
            Err(e) => Err(SdkError::Unavailable(format!(
                "cannot reach {} (where GitHub redirected): {e}",
                crate::link::origin(url).unwrap_or_default()
            ))),
        }
    }

    /// The URL without the API base, for messages.
    fn shown<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(self.api.as_str()).unwrap_or(url)
    }

    fn read_json(resp: &mut ureq::http::Response<ureq::Body>) -> Value {
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A GET. With `conditional`, the ETag of the last answer for this URL is sent and a `304`
    /// is answered from the cache with `changed: false`.
    pub(crate) fn get(
        &self,
        ctx: &Ctx,
        path: &str,
        what: &str,
        conditional: bool,
    ) -> Result<Got, SdkError> {
        let url = self.url(path);
        let cached = conditional
            .then(|| self.state().etags.get(&url).cloned())
            .flatten();
        let extra: Vec<(&str, &str)> = cached
            .as_ref()
            .map(|(etag, ..)| vec![("if-none-match", etag.as_str())])
            .unwrap_or_default();
        let mut resp = self.send_raw(ctx, "GET", &url, None, &extra)?;
        let status = resp.status().as_u16();
        if status == 304
            && let Some((_, body, pages, _)) = cached
        {
            return Ok(Got {
                body,
                changed: false,
                pages,
            });
        }
        let pages = Pages::of(header(&resp, "link"));
        let etag = header(&resp, "etag").map(str::to_owned);
        let body = Arc::new(Self::read_json(&mut resp));
        if !(200..300).contains(&status) {
            return Err(self.error(status, &body, what, &resp));
        }
        if conditional && let Some(etag) = etag {
            let mut st = self.state();
            st.seq += 1;
            let seq = st.seq;
            if st.etags.len() >= ETAG_CACHE
                && let Some(oldest) = st
                    .etags
                    .iter()
                    .min_by_key(|(_, v)| v.3)
                    .map(|(k, _)| k.clone())
            {
                st.etags.remove(&oldest);
            }
            st.etags
                .insert(url, (etag, body.clone(), pages.clone(), seq));
        }
        Ok(Got {
            body,
            changed: true,
            pages,
        })
    }

    /// Every page of a list, following `Link: rel="next"`, up to `max` items.
    pub(crate) fn get_all(
        &self,
        ctx: &Ctx,
        path: &str,
        what: &str,
        max: usize,
    ) -> Result<Vec<Value>, SdkError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(p) = next.take() {
            let got = self.get(ctx, &p, what, false)?;
            out.extend(got.body.as_array().cloned().unwrap_or_default());
            if out.len() >= max {
                out.truncate(max);
                break;
            }
            next = got.pages.next;
        }
        Ok(out)
    }

    /// A write (`POST`, `PATCH`, `PUT`, `DELETE`); the answer's status and body.
    pub(crate) fn send(
        &self,
        ctx: &Ctx,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), SdkError> {
        let mut resp = self.send_raw(ctx, method, &self.url(path), body, &[])?;
        let status = resp.status().as_u16();
        Ok((status, Self::read_json(&mut resp)))
    }

    /// A write that must succeed.
    pub(crate) fn send_ok(
        &self,
        ctx: &Ctx,
        method: &str,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, SdkError> {
        let mut resp = self.send_raw(ctx, method, &self.url(path), body, &[])?;
        let status = resp.status().as_u16();
        let v = Self::read_json(&mut resp);
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(self.error(status, &v, what, &resp))
        }
    }

    /// Plain text behind a URL that may redirect (job logs), at most `MAX_LOG` bytes.
    pub(crate) fn get_text(&self, ctx: &Ctx, path: &str, what: &str) -> Result<String, SdkError> {
        let mut resp = self.send_raw(ctx, "GET", &self.url(path), None, &[])?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = Self::read_json(&mut resp);
            return Err(self.error(status, &body, what, &resp));
        }
        let mut bytes = Vec::new();
        use std::io::Read;
        resp.body_mut()
            .as_reader()
            .take(MAX_LOG)
            .read_to_end(&mut bytes)
            .map_err(|e| SdkError::Unavailable(format!("reading {what}: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A GraphQL query; `(data, errors)`. Transport and HTTP errors are `Err`; GraphQL errors
    /// come back beside whatever data there is.
    pub(crate) fn graphql(
        &self,
        ctx: &Ctx,
        query: &str,
        variables: &Value,
    ) -> Result<(Value, Vec<Value>), SdkError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let mut resp = self.send_raw(ctx, "POST", &self.graphql_url, Some(&body), &[])?;
        let status = resp.status().as_u16();
        let v = Self::read_json(&mut resp);
        if !(200..300).contains(&status) {
            return Err(self.error(status, &v, "a GraphQL query", &resp));
        }
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        if let Some(rl) = data.get("rateLimit") {
            let mut st = self.state();
            if let (Some(limit), Some(remaining)) = (rl["limit"].as_u64(), rl["remaining"].as_u64())
            {
                let reset = rl["resetAt"]
                    .as_str()
                    .and_then(crate::facts::ms)
                    .unwrap_or(0);
                st.graphql = Some(Budget {
                    limit,
                    remaining,
                    reset_at_ms: reset,
                });
            }
        }
        let errors = v
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok((data, errors))
    }

    /// One line that says what went wrong and what to fix.
    fn error(
        &self,
        status: u16,
        body: &Value,
        what: &str,
        resp: &ureq::http::Response<ureq::Body>,
    ) -> SdkError {
        let msg = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let retry = header(resp, "retry-after").and_then(|v| v.trim().parse::<u64>().ok());
        let exhausted = header(resp, "x-ratelimit-remaining") == Some("0");
        match status {
            401 => SdkError::PermissionDenied(format!(
                "GitHub rejected the token (401 {msg}): set a valid token in the variable named by \
                 `tokenEnv`, or run `gh auth login`"
            )),
            403 | 429 if exhausted || retry.is_some() || status == 429 => {
                let left = self
                    .state()
                    .blocked_until
                    .as_ref()
                    .map(|(u, _)| u.saturating_duration_since(Instant::now()));
                SdkError::RateLimited {
                    message: format!(
                        "GitHub rate-limited {what} ({status}: {msg}); retry in {}s",
                        left.map_or(60, |d| d.as_secs() + 1)
                    ),
                    retry_after_ms: left.map(|d| d.as_millis() as u64),
                }
            }
            403 => SdkError::PermissionDenied(format!(
                "GitHub refused {what} (403 {msg}): the token needs the `repo` scope (classic) or \
                 read/write access to issues and pull requests (fine-grained)"
            )),
            404 => SdkError::NotFound(format!(
                "GitHub has no {what} (404): check the repository (owner/name) in the project \
                 config, and that the token can see it if it is private"
            )),
            409 => SdkError::Conflict(format!("GitHub refused {what} (409 {msg})")),
            410 => SdkError::NotFound(format!("{what} is gone (410 {msg})")),
            422 => SdkError::InvalidParams(format!("GitHub rejected {what} (422 {msg})")),
            500..=599 => SdkError::Unavailable(format!(
                "GitHub failed on {what} ({status}); it will be retried"
            )),
            _ => SdkError::Unavailable(format!("GitHub answered {status} to {what}: {msg}")),
        }
    }

    /// `Some(reason)` when a budget is below `reserve` and not about to reset: callers skip
    /// optional work rather than spend the last requests.
    pub(crate) fn low(&self, graphql: bool, reserve: u64) -> Option<String> {
        let st = self.state();
        let b = if graphql { &st.graphql } else { &st.rest }.as_ref()?;
        let left_ms = b.reset_at_ms.saturating_sub(now_ms());
        (b.remaining < reserve && left_ms > 0).then(|| {
            format!(
                "GitHub {} budget low ({} of {} left, resets in {}m); skipping this refresh",
                if graphql { "GraphQL" } else { "REST" },
                b.remaining,
                b.limit,
                left_ms / 60_000 + 1
            )
        })
    }

    /// Counts and budgets for `ao doctor` and the dashboard.
    pub(crate) fn status(&self) -> RateLimitStatus {
        let st = self.state();
        RateLimitStatus {
            rest: st.rest.clone(),
            graphql: st.graphql.clone(),
            requests: st.requests,
            charged_requests: st.charged,
            unlimited: false,
        }
    }
}

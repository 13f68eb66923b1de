//! `scm/github`: pull requests, CI and reviews.

use crate::client::Client;
use crate::enrich::Enricher;
use crate::refs::{self, Repo};
use crate::{Config, Settings, facts, webhook};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::scm::{
    self, CiLogExcerpt, CiLogs, CiLogsRequest, DetectPrRequest, DetectedPr, EnrichBatchRequest,
    EnrichBatchResponse, MergeMethod, MergeOutcome, MergeRequest, ParsedWebhook, PrInfo, PrKey,
    PrRequest, RateLimitStatus, Scm, WebhookRequest, WebhookVerdict,
};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct GithubScm {
    client: Arc<Client>,
    settings: Settings,
    enricher: Enricher,
    webhook_secret: Option<String>,
}

/// Strips ANSI sequences and GitHub's per-line timestamps, and keeps the end of the log
/// (where the failure is) within `max` bytes, cut at a line boundary.
pub(crate) fn excerpt(log: &str, max: usize) -> (String, bool) {
    let mut lines: Vec<String> = Vec::new();
    for raw in log.lines() {
        let mut line = String::with_capacity(raw.len());
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                continue;
            }
            if !c.is_control() || c == '\t' {
                line.push(c);
            }
        }
        // "2026-11-24T10:00:00.1234567Z message"
        let stripped = match line.split_once(' ') {
            Some((ts, rest)) if ts.len() >= 20 && ts.ends_with('Z') && ts.as_bytes()[4] == b'-' => {
                rest.to_string()
            }
            _ => line,
        };
        lines.push(stripped);
    }
    let mut out: Vec<&str> = Vec::new();
    let mut size = 0;
    for l in lines.iter().rev() {
        if size + l.len() + 1 > max {
            break;
        }
        size += l.len() + 1;
        out.push(l);
    }
    out.reverse();
    let truncated = out.len() < lines.len();
    (out.join("\n"), truncated)
}

impl Scm for GithubScm {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[
        scm::RESOLVE_PR,
        scm::CLOSE_PR,
        scm::VERIFY_WEBHOOK,
        scm::PARSE_WEBHOOK,
        scm::RATE_LIMIT,
    ];

    fn new(config: Config, host: &HostHandle) -> Result<Self, SdkError> {
        let (client, settings) = crate::connect(&config, host)?;
        let webhook_secret = config
            .webhook_secret_env
            .as_deref()
            .map(|name| host.secret(name))
            .transpose()?;
        Ok(Self {
            client,
            settings,
            enricher: Enricher::default(),
            webhook_secret,
        })
    }

    fn detect_pr(&self, ctx: &Ctx, req: DetectPrRequest) -> Result<DetectedPr, SdkError> {
        let repo = Repo::parse(&req.repo)?;
        ao_plugin_api::sdk::git::check_branch_name(&req.branch).map_err(SdkError::InvalidParams)?;
        let path = format!(
            "/repos/{}/pulls?state=all&head={}&per_page=10",
            repo.full(),
            refs::escape(&format!("{}:{}", repo.owner, req.branch), b"")
        );
        let got = self.client.get(
            ctx,
            &path,
            &format!("pull requests of {}", repo.full()),
            true,
        )?;
        let best = got
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["head"]["ref"].as_str() == Some(req.branch.as_str()))
            .max_by_key(|v| (v["state"].as_str() == Some("open"), v["number"].as_u64()));
        Ok(DetectedPr {
            pr: best.and_then(|v| facts::rest_info(&repo.full(), v)),
        })
    }

    fn enrich_batch(
        &self,
        ctx: &Ctx,
        req: EnrichBatchRequest,
    ) -> Result<EnrichBatchResponse, SdkError> {
        self.enricher
            .enrich(ctx, &self.client, &self.settings.enrich, req)
    }

    fn ci_logs(&self, ctx: &Ctx, req: CiLogsRequest) -> Result<CiLogs, SdkError> {
        let repo = Repo::parse(&req.repo)?;
        let max = req.max_bytes.clamp(256, 1 << 20) as usize;
        let mut excerpts = Vec::new();
        for c in &req.checks {
            // Only GitHub Actions check runs have job logs (their id is the job id).
            let Some(id) = c.id.as_deref().filter(|_| c.kind == "check_run") else {
                continue;
            };
            if !id.chars().all(|ch| ch.is_ascii_digit()) {
                continue;
            }
            let path = format!("/repos/{}/actions/jobs/{id}/logs", repo.full());
            match self
                .client
                .get_text(ctx, &path, &format!("the log of `{}`", c.name))
            {
                Ok(log) => {
                    let (text, truncated) = excerpt(&log, max);
                    excerpts.push(CiLogExcerpt {
                        check_name: c.name.clone(),
                        url: c.url.clone(),
                        text,
                        truncated,
                    });
                }
                // Not an Actions job, or its logs expired: the check's link is all there is.
                Err(SdkError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(CiLogs { excerpts })
    }

    fn merge(&self, ctx: &Ctx, req: MergeRequest) -> Result<MergeOutcome, SdkError> {
        let repo = Repo::parse(&req.pr.repo)?;
        let method = match req.method {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        };
        let mut body = json!({ "merge_method": method });
        if let Some(sha) = &req.expected_head_sha {
            body["sha"] = json!(sha);
        }
        let path = format!("/repos/{}/pulls/{}/merge", repo.full(), req.pr.number);
        let (status, v) = self.client.send(ctx, "PUT", &path, Some(&body))?;
        self.enricher.invalidate(&req.pr);
        let message = v["message"].as_str().unwrap_or_default().to_string();
        match status {
            200 => Ok(MergeOutcome {
                merged: true,
                sha: v["sha"].as_str().map(str::to_owned),
                message,
            }),
            // Refusals the engine reports as "why not": protection, conflicts, a moved head.
            405 | 409 | 422 => Ok(MergeOutcome {
                merged: false,
                sha: None,
                message: match status {
                    409 => format!("the head moved since it was checked: {message}"),
                    _ => message,
                },
            }),
            401 => Err(SdkError::PermissionDenied(format!(
                "GitHub rejected the token (401 {message}): set a valid token in the variable named by `tokenEnv`"
            ))),
            403 => Err(SdkError::PermissionDenied(format!(
                "GitHub refused to merge {} (403 {message}): the token needs write access to \
                 the repository's contents and pull requests",
                req.pr.key()
            ))),
            404 => Err(SdkError::NotFound(format!(
                "GitHub has no pull request {} (404)",
                req.pr.key()
            ))),
            s => Err(SdkError::Unavailable(format!(
                "GitHub answered {s} to the merge of {}: {message}",
                req.pr.key()
            ))),
        }
    }

    fn resolve_pr(&self, ctx: &Ctx, req: PrRequest) -> Result<PrInfo, SdkError> {
        let repo = Repo::parse(&req.repo)?;
        let (n, url_repo) = refs::number(&req.reference, "pull request")?;
        let repo = url_repo.unwrap_or(repo);
        let got = self.client.get(
            ctx,
            &format!("/repos/{}/pulls/{n}", repo.full()),
            &format!("pull request #{n} in {}", repo.full()),
            true,
        )?;
        facts::rest_info(&repo.full(), &got.body)
            .ok_or_else(|| SdkError::Internal("GitHub's answer had no PR number".into()))
    }

    fn close_pr(&self, ctx: &Ctx, req: PrRequest) -> Result<(), SdkError> {
        let repo = Repo::parse(&req.repo)?;
        let (n, url_repo) = refs::number(&req.reference, "pull request")?;
        let repo = url_repo.unwrap_or(repo);
        self.client.send_ok(
            ctx,
            "PATCH",
            &format!("/repos/{}/pulls/{n}", repo.full()),
            Some(&json!({ "state": "closed" })),
            &format!("closing pull request #{n} in {}", repo.full()),
        )?;
        self.enricher.invalidate(&PrKey {
            repo: repo.full(),
            number: n,
        });
        Ok(())
    }

    fn verify_webhook(&self, _ctx: &Ctx, req: WebhookRequest) -> Result<WebhookVerdict, SdkError> {
        Ok(webhook::verify(self.webhook_secret.as_deref(), &req))
    }

    fn parse_webhook(&self, _ctx: &Ctx, req: WebhookRequest) -> Result<ParsedWebhook, SdkError> {
        let event = req
            .headers
            .get("x-github-event")
            .cloned()
            .unwrap_or_default();
        let body: Value = serde_json::from_str(&req.body)
            .map_err(|e| SdkError::InvalidParams(format!("webhook body is not JSON: {e}")))?;
        let Some((event, prs)) = webhook::parse(&event, &body) else {
            return Ok(ParsedWebhook { event: None });
        };
        if let Some(repo) = &event.repo {
            for n in &prs {
                self.enricher.mark_pr(repo, *n);
            }
            if let Some(sha) = &event.sha {
                self.enricher.mark_sha(repo, sha);
            }
        }
        Ok(ParsedWebhook { event: Some(event) })
    }

    fn rate_limit(&self, ctx: &Ctx, _req: ()) -> Result<RateLimitStatus, SdkError> {
        let known = self.client.status();
        if known.rest.is_some() && known.graphql.is_some() {
            return Ok(known);
        }
        // Nothing sent yet (`ao doctor` in a fresh process): `GET /rate_limit` is free, and it
        // proves the token works. GitHub Enterprise with rate limiting off answers 404 with
        // its own words: no limit, which is not an error.
        let (status, body) = self.client.send(ctx, "GET", "/rate_limit", None)?;
        let message = body["message"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if status == 404
            && (message.contains("rate limiting is not enabled")
                || message.contains("no rate limit"))
        {
            let mut st = self.client.status();
            st.unlimited = true;
            return Ok(st);
        }
        let body = if (200..300).contains(&status) {
            body
        } else {
            // The client's own one-line error for what GitHub answered (asked again: free).
            let got = self
                .client
                .get(ctx, "/rate_limit", "the rate limit", false)?;
            std::sync::Arc::unwrap_or_clone(got.body)
        };
        let budget = |v: &Value| {
            Some(ao_plugin_api::slots::scm::Budget {
                limit: v["limit"].as_u64()?,
                remaining: v["remaining"].as_u64()?,
                reset_at_ms: v["reset"].as_u64()?.saturating_mul(1000),
            })
        };
        let mut st = self.client.status();
        st.rest = st.rest.or_else(|| budget(&body["resources"]["core"]));
        st.graphql = st.graphql.or_else(|| budget(&body["resources"]["graphql"]));
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_excerpts_keep_the_end_without_escapes_or_timestamps() {
        let log = "2026-11-24T10:00:00.1234567Z setup\n\
                   2026-11-24T10:00:01.0000000Z \x1b[31merror\x1b[0m: test `login` failed\n\
                   2026-11-24T10:00:02.0000000Z exit 1";
        let (text, cut) = super::excerpt(log, 1000);
        assert_eq!(text, "setup\nerror: test `login` failed\nexit 1");
        assert!(!cut);
        let (text, cut) = super::excerpt(log, 39);
        assert_eq!(text, "error: test `login` failed\nexit 1");
        assert!(cut);
    }
}

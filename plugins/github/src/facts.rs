//! GraphQL answers → the slot's [`PrFacts`]: CI rollup from check runs and commit statuses,
//! review threads, mergeability and the blockers in words.

use ao_plugin_api::slots::scm::{
    CheckStatus, CiCheck, CiRollup, CiStatus, Mergeable, PrFacts, PrInfo, PrKey, PrState,
    ReviewComment, ReviewDecision,
};
use serde_json::Value;

/// RFC 3339 → milliseconds since the epoch.
pub(crate) fn ms(s: &str) -> Option<u64> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(s))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Logins treated as bots even when GitHub calls them users (review bots that post as apps).
pub(crate) const KNOWN_BOTS: &[&str] = &[
    "cursor",
    "github-actions",
    "codecov",
    "sonarcloud",
    "dependabot",
    "renovate",
    "codeclimate",
    "deepsource-autofix",
    "snyk-bot",
    "lgtm-com",
    "copilot-pull-request-reviewer",
];

/// The static part of a PR from any PullRequest object.
pub(crate) fn info(repo: &str, pr: &Value) -> Option<PrInfo> {
    Some(PrInfo {
        key: PrKey {
            repo: repo.to_string(),
            number: pr.get("number")?.as_u64()?,
        },
        url: str_of(pr, "url"),
        title: str_of(pr, "title"),
        branch: str_of(pr, "headRefName"),
        base_branch: str_of(pr, "baseRefName"),
        is_draft: pr["isDraft"].as_bool().unwrap_or(false),
    })
}

/// The static part of a PR from a REST pull-request object.
pub(crate) fn rest_info(repo: &str, v: &Value) -> Option<PrInfo> {
    Some(PrInfo {
        key: PrKey {
            repo: repo.to_string(),
            number: v["number"].as_u64()?,
        },
        url: str_of(v, "html_url"),
        title: str_of(v, "title"),
        branch: str_of(&v["head"], "ref"),
        base_branch: str_of(&v["base"], "ref"),
        is_draft: v["draft"].as_bool().unwrap_or(false),
    })
}

/// One check run or commit status.
pub(crate) fn check(ctx: &Value) -> Option<CiCheck> {
    let typename = ctx.get("__typename")?.as_str()?;
    let time = |k: &str| ctx.get(k).and_then(Value::as_str).and_then(ms);
    Some(match typename {
        "CheckRun" => {
            let conclusion = ctx["conclusion"].as_str();
            let status = match (ctx["status"].as_str().unwrap_or(""), conclusion) {
                ("COMPLETED", Some("SUCCESS")) => CheckStatus::Passed,
                ("COMPLETED", Some("NEUTRAL" | "SKIPPED" | "STALE")) => CheckStatus::Skipped,
                ("COMPLETED", Some("CANCELLED")) => CheckStatus::Cancelled,
                ("COMPLETED", _) => CheckStatus::Failed,
                ("IN_PROGRESS", _) => CheckStatus::Running,
                _ => CheckStatus::Pending,
            };
            CiCheck {
                name: str_of(ctx, "name"),
                status,
                conclusion: conclusion.map(str::to_lowercase),
                url: ctx["detailsUrl"].as_str().map(str::to_owned),
                kind: "check_run".into(),
                id: ctx["databaseId"].as_u64().map(|n| n.to_string()),
                started_at_ms: time("startedAt"),
                completed_at_ms: time("completedAt"),
            }
        }
        "StatusContext" => {
            let state = ctx["state"].as_str().unwrap_or("");
            CiCheck {
                name: str_of(ctx, "context"),
                status: match state {
                    "SUCCESS" => CheckStatus::Passed,
                    "FAILURE" | "ERROR" => CheckStatus::Failed,
                    _ => CheckStatus::Pending,
                },
                conclusion: Some(state.to_lowercase()),
                url: ctx["targetUrl"].as_str().map(str::to_owned),
                kind: "status".into(),
                id: None,
                started_at_ms: time("createdAt"),
                completed_at_ms: None,
            }
        }
        _ => return None,
    })
}

/// The combined state: any failure (or cancellation) fails; anything still running is
/// pending; passing needs at least one pass (all skipped is no CI).
pub(crate) fn rollup(checks: Vec<CiCheck>) -> CiRollup {
    let any = |f: &dyn Fn(CheckStatus) -> bool| checks.iter().any(|c| f(c.status));
    let status = if checks.is_empty() {
        CiStatus::None
    } else if any(&|s| matches!(s, CheckStatus::Failed | CheckStatus::Cancelled)) {
        CiStatus::Failing
    } else if any(&|s| matches!(s, CheckStatus::Pending | CheckStatus::Running)) {
        CiStatus::Pending
    } else if any(&|s| s == CheckStatus::Passed) {
        CiStatus::Passing
    } else {
        CiStatus::None
    };
    CiRollup { status, checks }
}

/// Unresolved threads as comments (the first comment of each, with its place).
pub(crate) fn threads(nodes: &[Value], extra_bots: &[String]) -> Vec<ReviewComment> {
    nodes
        .iter()
        .filter(|t| !t["isResolved"].as_bool().unwrap_or(false))
        .filter_map(|t| {
            let c = t["comments"]["nodes"].as_array()?.first()?;
            let login = c["author"]["login"].as_str().unwrap_or("ghost");
            let is_bot = c["author"]["__typename"].as_str() == Some("Bot")
                || KNOWN_BOTS.contains(&login.trim_end_matches("[bot]"))
                || extra_bots.iter().any(|b| b == login);
            Some(ReviewComment {
                id: str_of(c, "id"),
                thread_id: t["id"].as_str().map(str::to_owned),
                author: login.to_string(),
                body: str_of(c, "body"),
                path: t["path"].as_str().map(str::to_owned),
                line: t["line"].as_u64(),
                is_resolved: false,
                is_bot,
                url: c["url"].as_str().map(str::to_owned),
                created_at_ms: c["createdAt"].as_str().and_then(ms),
            })
        })
        .collect()
}

/// Applies a PullRequest object to the cached facts: scalar fields always, CI when the answer
/// has the head commit, threads when it has them (the caller paged the rest in).
pub(crate) fn apply(
    old: Option<&PrFacts>,
    repo: &str,
    pr: &Value,
    contexts: Option<&[Value]>,
    thread_nodes: Option<&[Value]>,
    extra_bots: &[String],
) -> Option<PrFacts> {
    let info = info(repo, pr)?;
    let state = match pr["state"].as_str() {
        Some("MERGED") => PrState::Merged,
        Some("CLOSED") => PrState::Closed,
        _ => PrState::Open,
    };
    let ci = match contexts {
        Some(ctxs) => rollup(ctxs.iter().filter_map(check).collect()),
        None => old.map(|o| o.ci.clone()).unwrap_or(CiRollup {
            status: CiStatus::None,
            checks: Vec::new(),
        }),
    };
    let unresolved = match thread_nodes {
        Some(nodes) => threads(nodes, extra_bots),
        None => old
            .map(|o| o.unresolved_threads.clone())
            .unwrap_or_default(),
    };
    let mergeable = match pr["mergeable"].as_str() {
        Some("MERGEABLE") => Mergeable::Mergeable,
        Some("CONFLICTING") => Mergeable::Conflicting,
        _ => Mergeable::Unknown,
    };
    let review_decision = match pr["reviewDecision"].as_str() {
        Some("APPROVED") => ReviewDecision::Approved,
        Some("CHANGES_REQUESTED") => ReviewDecision::ChangesRequested,
        Some("REVIEW_REQUIRED") => ReviewDecision::ReviewRequired,
        _ => ReviewDecision::None,
    };
    let merge_state = pr["mergeStateStatus"].as_str().map(str::to_lowercase);
    let mut facts = PrFacts {
        state,
        head_sha: str_of(pr, "headRefOid"),
        mergeable,
        is_behind: merge_state.as_deref() == Some("behind"),
        merge_state_status: merge_state,
        review_decision,
        unresolved_threads: unresolved,
        ci,
        additions: pr["additions"].as_u64().unwrap_or(0),
        deletions: pr["deletions"].as_u64().unwrap_or(0),
        blockers: Vec::new(),
        updated_at_ms: pr["updatedAt"].as_str().and_then(ms),
        info,
    };
    facts.blockers = blockers(&facts);
    Some(facts)
}

/// Why the PR cannot merge now, in words a human reads.
pub(crate) fn blockers(f: &PrFacts) -> Vec<String> {
    let mut out = Vec::new();
    if f.state != PrState::Open {
        return out;
    }
    if f.info.is_draft {
        out.push("PR is still a draft".into());
    }
    match f.ci.status {
        CiStatus::Failing => {
            let failed: Vec<&str> =
                f.ci.checks
                    .iter()
                    .filter(|c| matches!(c.status, CheckStatus::Failed | CheckStatus::Cancelled))
                    .map(|c| c.name.as_str())
                    .collect();
            out.push(format!("CI is failing ({})", failed.join(", ")));
        }
        CiStatus::Pending => out.push("CI is still running".into()),
        _ => {}
    }
    match f.review_decision {
        ReviewDecision::ChangesRequested => out.push("Changes requested in review".into()),
        ReviewDecision::ReviewRequired => out.push("Review required".into()),
        _ => {}
    }
    let human_threads = f.unresolved_threads.iter().filter(|t| !t.is_bot).count();
    if human_threads > 0 {
        out.push(format!("{human_threads} unresolved review thread(s)"));
    }
    match f.mergeable {
        Mergeable::Conflicting => out.push("Merge conflicts with the base branch".into()),
        Mergeable::Unknown => out.push("Merge status not computed yet".into()),
        Mergeable::Mergeable => {}
    }
    match f.merge_state_status.as_deref() {
        Some("behind") => out.push("Branch is behind the base branch".into()),
        Some("blocked") if out.is_empty() => out.push("Blocked by branch protection".into()),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_and_rollup_follow_githubs_states() {
        let run = |status: &str, conclusion: Option<&str>| {
            check(&json!({"__typename": "CheckRun", "name": "ci", "status": status, "conclusion": conclusion, "databaseId": 7}))
                .unwrap()
                .status
        };
        assert_eq!(run("COMPLETED", Some("SUCCESS")), CheckStatus::Passed);
        assert_eq!(run("COMPLETED", Some("TIMED_OUT")), CheckStatus::Failed);
        assert_eq!(
            run("COMPLETED", Some("ACTION_REQUIRED")),
            CheckStatus::Failed
        );
        assert_eq!(run("COMPLETED", Some("SKIPPED")), CheckStatus::Skipped);
        assert_eq!(run("COMPLETED", Some("CANCELLED")), CheckStatus::Cancelled);
        assert_eq!(run("IN_PROGRESS", None), CheckStatus::Running);
        assert_eq!(run("QUEUED", None), CheckStatus::Pending);
        let status = |state: &str| {
            check(&json!({"__typename": "StatusContext", "context": "ci/x", "state": state}))
                .unwrap()
                .status
        };
        assert_eq!(status("ERROR"), CheckStatus::Failed);
        assert_eq!(status("EXPECTED"), CheckStatus::Pending);
        let mk = |s: CheckStatus| CiCheck {
            name: "x".into(),
            status: s,
            conclusion: None,
            url: None,
            kind: "check_run".into(),
            id: None,
            started_at_ms: None,
            completed_at_ms: None,
        };
        use CheckStatus::*;
        for (checks, want) in [
            (vec![], CiStatus::None),
            (vec![mk(Skipped)], CiStatus::None),
            (vec![mk(Passed), mk(Skipped)], CiStatus::Passing),
            (vec![mk(Passed), mk(Running)], CiStatus::Pending),
            (vec![mk(Running), mk(Failed)], CiStatus::Failing),
            (vec![mk(Passed), mk(Cancelled)], CiStatus::Failing),
        ] {
            assert_eq!(rollup(checks).status, want);
        }
    }

    #[test]
    fn times() {
        assert_eq!(ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            ms("2026-11-24T10:00:00Z").map(|m| m > 1_700_000_000_000),
            Some(true)
        );
    }
}

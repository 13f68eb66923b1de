//! Aider's chat history (`.aider.chat.history.md`): `# aider chat started at …` per run,
//! `#### ` before each line the user sent, `> ` before Aider's own output (including the
//! `Tokens: … Cost: …` report after each reply), plain text for the model's replies.

use ao_plugin_api::sdk::agent::one_line;
use ao_plugin_api::sdk::agent::resolve::Signal;
use ao_plugin_api::sdk::agent::tail::{FollowCache, RevLines, follow, head_lines};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState, Cost, SessionInfo};
use std::path::Path;

/// The file, relative to the workspace.
pub(crate) const FILE: &str = ".aider.chat.history.md";

const ERRORS: &[&str] = &[
    "ratelimiterror",
    "authenticationerror",
    "apiconnectionerror",
    "not able to authenticate",
    "insufficient_quota",
    "exceeded your current quota",
];

fn mtime_ms(path: &Path) -> Option<u64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
}

/// What the last line says, timed by the file's modification (the history has no timestamps).
pub(crate) fn activity_signal(path: &Path) -> Option<Signal> {
    let at = mtime_ms(path)?;
    let mut lines = RevLines::open(path).ok()?;
    let last = lines
        .find_map(64 * 1024, |l| {
            let s = String::from_utf8_lossy(l).trim().to_owned();
            (!s.is_empty()).then_some(s)
        })
        .ok()??;
    let lower = last.to_ascii_lowercase();
    let (state, detail) = if last.starts_with("####") {
        (ActivityState::Active, None)
    } else if last.starts_with('>') && lower.contains("retrying in") {
        // litellm retrying an overloaded or rate-limited call: still at it, not a reply.
        (
            ActivityState::Active,
            Some(one_line(last.trim_start_matches('>'), 160)),
        )
    } else if last.starts_with('>') && ERRORS.iter().any(|e| lower.contains(e)) {
        (
            ActivityState::Blocked,
            Some(one_line(last.trim_start_matches('>'), 160)),
        )
    } else {
        (ActivityState::Ready, None)
    };
    Some(Signal {
        state,
        source: ActivitySource::Transcript,
        at_ms: at,
        detail,
    })
}

/// `2.5k` → 2500, `12k` → 12000, `1.2M` → 1_200_000.
fn count(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1_000.0),
        'M' => (&s[..s.len() - 1], 1_000_000.0),
        _ => (s, 1.0),
    };
    Some((num.parse::<f64>().ok()? * mult).round() as u64)
}

/// Adds one `> Tokens: 2.5k sent, 1.2k cache write, 3k cache hit, 120 received. Cost: $0.01
/// message, $0.05 session.` report (either half may be on its own line).
fn feed(line: &str, cost: &mut Cost) {
    let line = line.trim_start_matches('>').trim();
    if let Some(rest) = line.strip_prefix("Tokens:") {
        let tokens = rest.split("Cost:").next().unwrap_or_default();
        for part in tokens.split(',') {
            let part = part.trim().trim_end_matches('.');
            let (n, kind) = part.split_once(' ').unwrap_or((part, ""));
            let n = count(n).unwrap_or(0);
            match kind {
                "sent" => cost.input_tokens += n,
                "received" => cost.output_tokens += n,
                "cache write" => cost.cache_write_tokens += n,
                "cache hit" => cost.cache_read_tokens += n,
                _ => {}
            }
        }
    }
    if let Some((_, c)) = line.split_once("Cost: $")
        && let Some(v) = c
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
    {
        *cost.usd.get_or_insert(0.0) += v;
    }
}

/// Totals per history file, so each byte is read once.
pub(crate) type CostCache = FollowCache<Cost>;

pub(crate) fn session_info(path: &Path, cache: &CostCache) -> std::io::Result<SessionInfo> {
    let head = head_lines(path, 64 * 1024)?;
    let task = head
        .iter()
        .map(|l| String::from_utf8_lossy(l))
        .find_map(|l| l.strip_prefix("#### ").map(|t| one_line(t, 200)));
    let mut latest = None;
    let mut lines = RevLines::open(path)?;
    while let Some(l) = lines.next_line()? {
        let s = String::from_utf8_lossy(&l);
        let t = s.trim();
        if !t.is_empty() && !t.starts_with('>') && !t.starts_with('#') {
            latest = Some(one_line(t, 200));
            break;
        }
        if lines.bytes_read() > 256 * 1024 {
            break;
        }
    }
    let cost = follow(cache, path, |cost, l| {
        feed(&String::from_utf8_lossy(l), cost)
    })?;
    Ok(SessionInfo {
        agent_session_id: None,
        summary: task.clone(),
        summary_is_fallback: task.is_some(),
        task,
        latest,
        model: None,
        cost: Some(cost),
        transcript: Some(path.display().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_work_and_errors_block() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE);
        std::fs::write(
            &f,
            "#### Fix it.\n\n> litellm.APIError: Overloaded. Retrying in 16.0 seconds...\n",
        )
        .unwrap();
        let s = activity_signal(&f).unwrap();
        assert_eq!(s.state, ActivityState::Active);
        assert!(s.detail.unwrap().contains("Retrying in 16.0"));
        std::fs::write(&f, "#### Fix it.\n\n> litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided\n").unwrap();
        assert_eq!(activity_signal(&f).unwrap().state, ActivityState::Blocked);
        std::fs::write(
            &f,
            "#### Fix it.\n\nDone.\n> Tokens: 2.9k sent, 2 received.\n",
        )
        .unwrap();
        assert_eq!(activity_signal(&f).unwrap().state, ActivityState::Ready);
    }

    #[test]
    fn usage_reports_as_aider_formats_them() {
        let mut c = Cost::default();
        feed(
            "> Tokens: 2.5k sent, 1.2k cache write, 3k cache hit, 120 received. Cost: $0.0087 message, $0.01 session.",
            &mut c,
        );
        feed("> Tokens: 12k sent, 1.1k received.", &mut c);
        feed("> Cost: $0.05 message, $0.06 session.", &mut c);
        assert_eq!((c.input_tokens, c.output_tokens), (14_500, 1_220));
        assert_eq!((c.cache_write_tokens, c.cache_read_tokens), (1_200, 3_000));
        assert!((c.usd.unwrap() - 0.0587).abs() < 1e-9);
    }
}

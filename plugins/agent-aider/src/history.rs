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

/// Words of litellm's error reports as Aider quotes them (the exception's line, then its
/// description), lower case. Only Aider's own quoted output is read, never the model's text.
const ERRORS: &[&str] = &[
    "litellm.",
    "ratelimiterror",
    "authenticationerror",
    "apiconnectionerror",
    "apierror",
    "serviceunavailableerror",
    "internalservererror",
    "rate limited you",
    "not able to authenticate",
    "servers are down or overloaded",
    "insufficient_quota",
    "exceeded your current quota",
];

/// What Aider logs for an empty input.
const BLANK_INPUT: &str = "#### <blank>";

/// Aider's quoted lines after the newest user line or reply, newest first, at most this many.
const TAIL_LINES: usize = 64;

fn mtime_ms(path: &Path) -> Option<u64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
}

/// What the end of the history says, timed by the file's modification (it has no timestamps).
///
/// litellm retries an overloaded or rate-limited call for about a minute, quoting each error
/// with a `Retrying in …` line: still work. When it gives up, the error is quoted once more
/// with no retry after it, and Aider returns to its prompt: that turn ended on the error.
pub(crate) fn activity_signal(path: &Path) -> Option<Signal> {
    let at = mtime_ms(path)?;
    let mut lines = RevLines::open(path).ok()?;
    // Newest first: Aider's quoted lines up to the user's line or the model's reply.
    let mut quoted: Vec<String> = Vec::new();
    let mut user_last = false;
    while quoted.len() < TAIL_LINES && lines.bytes_read() < 256 * 1024 {
        let Some(l) = lines.next_line().ok()? else {
            break;
        };
        let l = String::from_utf8_lossy(&l).trim().to_owned();
        // An empty input (Enter on an empty prompt) is logged as `<blank>` and does nothing:
        // it starts no turn, so it must not hide how the last one ended.
        if l.is_empty() || l == BLANK_INPUT {
            continue;
        }
        match l.strip_prefix('>') {
            Some(q) => quoted.push(q.trim().to_owned()),
            None => {
                user_last = quoted.is_empty() && l.starts_with("####");
                break;
            }
        }
    }
    let is_error = |l: &str| {
        let lower = l.to_ascii_lowercase();
        ERRORS.iter().any(|e| lower.contains(e))
    };
    let retrying = |l: &str| l.to_ascii_lowercase().contains("retrying in");
    let (state, detail) = if user_last {
        (ActivityState::Active, None)
    } else if quoted.first().is_some_and(|l| retrying(l)) {
        (ActivityState::Active, Some(one_line(&quoted[0], 160)))
    } else {
        // The error lines after the newest retry; the oldest of them is the exception itself.
        let failed = quoted
            .iter()
            .take_while(|l| !retrying(l))
            .filter(|l| is_error(l))
            .last();
        match failed {
            Some(e) => (ActivityState::Blocked, Some(one_line(e, 160))),
            None => (ActivityState::Ready, None),
        }
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
        // litellm gave up after its retries (as Aider 0.86.2 writes it): the exception, then
        // its description, with no retry after them.
        let gave_up = |exception: &str, description: &str| {
            format!(
                "#### Too fast.\n\n> {exception}\n> {description}\n> Retrying in 0.2 seconds...\n\
                 > {exception}\n> {description}\n> Retrying in 32.0 seconds...\n\
                 > {exception}\n> {description}\n"
            )
        };
        for (exception, description) in [
            (
                "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for requests. Please try again in 20s.",
                "The API provider has rate limited you. Try again later or check your quotas.",
            ),
            (
                "litellm.APIError: APIError: OpenAIException - The server is overloaded. Please try again later.",
                "",
            ),
        ] {
            std::fs::write(&f, gave_up(exception, description)).unwrap();
            let s = activity_signal(&f).unwrap();
            assert_eq!(s.state, ActivityState::Blocked, "{exception}");
            assert_eq!(s.detail.as_deref(), Some(exception));
        }
        // Enter on an empty prompt after the give-up (Aider 0.86.2 logs `#### <blank>`) starts
        // no turn: the error stands.
        std::fs::write(
            &f,
            format!(
                "{}
#### <blank>
",
                gave_up("litellm.APIError: APIError: overloaded", "")
            ),
        )
        .unwrap();
        assert_eq!(activity_signal(&f).unwrap().state, ActivityState::Blocked);
        // A reply after an earlier error: the turn went through.
        std::fs::write(
            &f,
            format!(
                "{}\n#### Again.\n\nDone.\n> Tokens: 2.9k sent, 2 received.\n",
                gave_up("litellm.APIError: APIError: overloaded", "")
            ),
        )
        .unwrap();
        assert_eq!(activity_signal(&f).unwrap().state, ActivityState::Ready);
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

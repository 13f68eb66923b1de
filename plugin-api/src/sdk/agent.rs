//! What every agent adapter needs: transcript tails ([`tail`]), the layering of activity
//! signals ([`resolve`]), model prices ([`pricing`]), screen text helpers, timestamps, and the
//! careful file edits that installing hooks in a user's workspace requires.

pub mod pricing;
pub mod resolve;
pub mod screen;
pub mod tail;

use crate::sdk::SdkError;
use crate::slots::agent::{
    Activity, ActivityRequest, ActivitySource, ActivityState, LaunchRequest,
};
use crate::status_file;
use resolve::Signal;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The host's idea of now, else the clock.
pub fn now_ms(req_now: Option<u64>) -> u64 {
    req_now.unwrap_or_else(status_file::now_ms)
}

/// The layered answer for one agent: the hook status file (if hooks were installed), the
/// transcript signal the adapter found, and the screen the host captured (classified by
/// `detect`, usually [`screen::classify`] with the agent's rules), combined by
/// [`resolve::resolve`].
///
/// The host captures every live session's screen each tick, because some moments reach no
/// hook: a dialog or an API error on screen wins whatever the hooks said before. Otherwise the
/// screen only speaks when nothing else does, or to contradict a hook's stale "waiting" (the
/// dialog it reported is no longer on screen).
pub fn activity(
    req: &ActivityRequest,
    transcript: Option<Signal>,
    detect: impl Fn(&str) -> Option<screen::Seen>,
) -> Option<Activity> {
    activity_where(req, transcript, detect, |_| true)
}

/// [`activity`], with only the hook records `keep` accepts (Codex: its own thread's).
pub fn activity_where(
    req: &ActivityRequest,
    transcript: Option<Signal>,
    detect: impl Fn(&str) -> Option<screen::Seen>,
    keep: impl Fn(&status_file::StatusRecord) -> bool,
) -> Option<Activity> {
    let now = now_ms(req.now_ms);
    let seen = req.screen.as_deref().and_then(&detect);
    let screen_at = req.screen_at_ms.unwrap_or(now);
    if req.process_running != Some(false)
        && let Some(s) = &seen
        && matches!(
            s.state,
            ActivityState::WaitingInput | ActivityState::Blocked
        )
    {
        // A screen that knows the state but not the words borrows them from a hook or the
        // transcript saying the same (the question asked, the error text).
        let agreeing = || {
            let hook = req
                .status()
                .and_then(|f| status_file::latest_in(f, |r| keep(r) && r.state == s.state));
            hook.and_then(|r| r.detail).or_else(|| {
                transcript
                    .as_ref()
                    .filter(|t| t.state == s.state)?
                    .detail
                    .clone()
            })
        };
        return Some(Activity {
            state: s.state,
            source: ActivitySource::Screen,
            at_ms: Some(screen_at),
            detail: s.detail.clone().or_else(agreeing),
            dialog: s.dialog.clone(),
        });
    }
    let mut signals = Vec::new();
    if let Some(record) = req.status().and_then(|f| status_file::latest_in(f, &keep)) {
        signals.push(Signal {
            state: record.state,
            source: ActivitySource::Hook,
            at_ms: record.at_ms,
            detail: record.detail,
        });
    }
    signals.extend(transcript);
    let newest_waits = signals
        .iter()
        .max_by_key(|s| s.at_ms)
        .is_none_or(|s| s.state == ActivityState::WaitingInput);
    if let Some(s) = seen.filter(|_| newest_waits) {
        signals.push(Signal {
            state: s.state,
            source: ActivitySource::Screen,
            at_ms: screen_at,
            detail: s.detail,
        });
    }
    resolve::resolve(
        req.process_running,
        signals,
        now,
        req.idle_threshold_ms.unwrap_or(resolve::DEFAULT_IDLE_MS),
    )
}

/// The environment every agent gets: its ao session, its issue, and its status file (which
/// `ao hook` falls back to when a hook does not name one).
pub fn launch_env(req: &LaunchRequest) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([("AO_SESSION_ID".to_owned(), req.session_id.clone())]);
    if let Some(issue) = &req.issue_id {
        env.insert("AO_ISSUE_ID".into(), issue.clone());
    }
    if let Some(f) = &req.status_file {
        env.insert("AO_STATUS_FILE".into(), f.clone());
    }
    env
}

/// Linux caps one argv element at 128 KiB; a system prompt passed on the command line stays
/// well under it.
pub const MAX_INLINE_SYSTEM_PROMPT: u64 = 100 * 1024;

/// The system prompt file's text, for agents that take it on their command line; too large is
/// an error that says what to shorten.
pub fn read_system_prompt(file: &str) -> Result<String, SdkError> {
    let bad =
        |e: std::io::Error| SdkError::InvalidParams(format!("system prompt file {file}: {e}"));
    let len = std::fs::metadata(file).map_err(bad)?.len();
    if len > MAX_INLINE_SYSTEM_PROMPT {
        return Err(SdkError::InvalidParams(format!(
            "system prompt file {file} is {} KiB, over the {} KiB a command line holds: \
             shorten agentRules",
            len / 1024,
            MAX_INLINE_SYSTEM_PROMPT / 1024
        )));
    }
    std::fs::read_to_string(file).map_err(bad)
}

/// The agent's conversation id: the one the host knows, else the newest one its hooks
/// recorded in the status file.
pub fn conversation_id(known: Option<&str>, status_file: Option<&str>) -> Option<String> {
    conversation_id_in(
        known,
        status_file.map(|f| status_file::Source::File(Path::new(f))),
    )
}

/// [`conversation_id`] from either source (`req.status()`: a runtime's tail or the host file).
pub fn conversation_id_in(
    known: Option<&str>,
    status: Option<status_file::Source<'_>>,
) -> Option<String> {
    known
        .map(str::to_owned)
        .or_else(|| status.and_then(status_file::latest_session_in))
}

/// The last `n` non-blank lines of a screen capture, right-trimmed, oldest first.
pub fn last_lines(screen: &str, n: usize) -> Vec<&str> {
    let mut lines: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let keep = lines.len().saturating_sub(n);
    lines.drain(..keep);
    lines
}

/// Whether any of `lines` contains any of `needles`, ignoring ASCII case.
pub fn any_contains(lines: &[&str], needles: &[&str]) -> bool {
    lines.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        needles.iter().any(|n| l.contains(&n.to_ascii_lowercase()))
    })
}

/// Milliseconds since the epoch of an RFC 3339 timestamp (`2025-06-01T12:00:00.123Z`,
/// `…+02:00`), or of an integer that already is epoch milliseconds.
pub fn parse_time_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(if n < 100_000_000_000 { n * 1000 } else { n });
    }
    // humantime takes `Z` or no zone; apply a numeric offset ourselves.
    let (base, offset_s): (&str, i64) = match s.len().checked_sub(6).map(|i| s.split_at(i)) {
        Some((base, off))
            if (off.starts_with('+') || off.starts_with('-')) && off.as_bytes()[3] == b':' =>
        {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let h: i64 = off[1..3].parse().ok()?;
            let m: i64 = off[4..6].parse().ok()?;
            (base, sign * (h * 3600 + m * 60))
        }
        _ => (s, 0),
    };
    let t = humantime::parse_rfc3339_weak(base).ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64;
    u64::try_from(ms - offset_s * 1000).ok()
}

/// `s` cut to `max` characters on a character boundary, with `…` when cut, on one line.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `argv` as one POSIX shell command line, each word quoted when it needs to be. For the few
/// agents whose hook settings take a command string (Claude Code, Aider): the words are ours
/// (the `ao` path, a status-file path), quoted so that no character in them is interpreted.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            let safe = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b));
            if safe {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces `path`'s content atomically (temp file in the same directory, fsync, rename),
/// keeping an existing file's permissions. Returns false, writing nothing, when the content is
/// already `bytes`.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.ao-{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}

/// The user's home directory, from `HOME`.
pub fn home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(std::path::PathBuf::from)
}

/// Where an agent's own directory (its config dir, where it keeps transcripts) and its
/// workspace are, for a session on the host or one that keeps its own files (protocol 1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The directory as it is read here: the host's, or the host's copy of the session's.
    pub dir: std::path::PathBuf,
    /// The directory as the agent sees it.
    pub dir_inside: std::path::PathBuf,
    /// The workspace as the agent sees it (its records name this path).
    pub workspace: String,
}

/// The [`View`] of a session: on the host, `on_host` (the adapter's configured directory, its
/// environment variable, else under the user's home); inside a session, `configured` when the
/// user set it (they mounted or baked it there), else `under_home` below the session's home.
pub fn view(
    inside: Option<&crate::slots::agent::Inside>,
    configured: Option<&str>,
    on_host: Option<std::path::PathBuf>,
    under_home: &str,
    workspace: &str,
) -> Option<View> {
    match inside {
        None => {
            let dir = on_host?;
            Some(View {
                dir_inside: dir.clone(),
                dir,
                workspace: workspace.to_owned(),
            })
        }
        Some(i) => {
            let dir_inside = configured
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| std::path::Path::new(&i.home).join(under_home));
            Some(View {
                dir: i.local(&dir_inside),
                dir_inside,
                workspace: i.workspace.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inside a session, the agent's directory is the configured one or under the session's
    /// home, and it is read from the host's copy; on the host, the host's.
    #[test]
    fn a_view_reads_the_hosts_copy_of_a_sessions_directory() {
        let inside = crate::slots::agent::Inside {
            workspace: "/workspace".into(),
            home: "/home/ao".into(),
            root: "/data/mirror/app-1".into(),
        };
        let v = view(
            Some(&inside),
            None,
            Some("/h/.claude".into()),
            ".claude",
            "/w",
        )
        .unwrap();
        assert_eq!(v.dir_inside, std::path::Path::new("/home/ao/.claude"));
        assert_eq!(
            v.dir,
            std::path::Path::new("/data/mirror/app-1/home/ao/.claude")
        );
        assert_eq!(v.workspace, "/workspace");
        let v = view(Some(&inside), Some("/cfg"), None, ".claude", "/w").unwrap();
        assert_eq!(v.dir, std::path::Path::new("/data/mirror/app-1/cfg"));
        let v = view(None, None, Some("/h/.claude".into()), ".claude", "/w").unwrap();
        assert_eq!(
            (v.dir.as_path(), v.workspace.as_str()),
            (std::path::Path::new("/h/.claude"), "/w")
        );
        assert!(view(None, None, None, ".claude", "/w").is_none());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_time_ms("2025-01-01T00:00:00Z"),
            Some(1_735_689_600_000)
        );
        assert_eq!(
            parse_time_ms("2025-01-01T00:00:00.250Z"),
            Some(1_735_689_600_250)
        );
        assert_eq!(
            parse_time_ms("2025-01-01T02:00:00+02:00"),
            Some(1_735_689_600_000)
        );
        assert_eq!(parse_time_ms("1735689600"), Some(1_735_689_600_000));
        assert_eq!(parse_time_ms("1735689600250"), Some(1_735_689_600_250));
        assert_eq!(parse_time_ms("yesterday"), None);
    }

    #[test]
    fn shell_join_quotes_what_a_shell_would_interpret() {
        let argv: Vec<String> = [
            "/opt/ao bin/ao",
            "hook",
            "--status-file",
            "/tmp/it's $x;`y`",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            shell_join(&argv),
            r#"'/opt/ao bin/ao' hook --status-file '/tmp/it'\''s $x;`y`'"#
        );
        // And a real shell gives the words back unchanged.
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf '%s\\n' {}", shell_join(&argv))])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            argv.join("\n") + "\n"
        );
    }

    #[test]
    fn screen_helpers() {
        let screen = "a\n\n  b  \nc\n\n";
        assert_eq!(last_lines(screen, 2), ["  b", "c"]);
        assert!(any_contains(
            &["Do you want to PROCEED?"],
            &["do you want to proceed"]
        ));
        assert_eq!(one_line("a\n b\u{1b}", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    #[test]
    fn writes_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/settings.json");
        assert!(write_if_changed(&p, b"1").unwrap());
        assert!(!write_if_changed(&p, b"1").unwrap());
        assert!(write_if_changed(&p, b"2").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"2");
    }
}

//! Codex's rollout files: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`,
//! one `{timestamp, type, payload}` object per line; the first is `session_meta` with the
//! thread id and the working directory.

use ao_plugin_api::sdk::agent::pricing::PriceTable;
use ao_plugin_api::sdk::agent::resolve::Signal;
use ao_plugin_api::sdk::agent::tail::{RevLines, head_lines};
use ao_plugin_api::sdk::agent::{one_line, parse_time_ms};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState, Cost, SessionInfo};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TAIL_BYTES: u64 = 512 * 1024;
const HEAD_BYTES: usize = 64 * 1024;
const DAY_MS: u64 = 86_400_000;

/// `days since the epoch` → (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day directories a session started at `since_ms` can have written to (Codex names them
/// by local date, so one day of slack either side), newest first; at most 60.
fn day_dirs(sessions: &Path, since_ms: Option<u64>) -> Vec<PathBuf> {
    let now = ao_plugin_api::status_file::now_ms();
    let from = since_ms
        .unwrap_or(now.saturating_sub(7 * DAY_MS))
        .saturating_sub(DAY_MS);
    let (first, last) = ((from / DAY_MS) as i64, (now / DAY_MS) as i64 + 1);
    (first.max(last - 60)..=last)
        .rev()
        .map(|d| {
            let (y, m, d) = civil(d);
            sessions.join(format!("{y:04}/{m:02}/{d:02}"))
        })
        .filter(|p| p.is_dir())
        .collect()
}

fn meta(path: &Path) -> Option<Value> {
    head_lines(path, HEAD_BYTES)
        .ok()?
        .iter()
        .take(10)
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .find(|v| v["type"] == "session_meta")
}

/// Whether `path` is the rollout of thread `id`.
pub(crate) fn file_has_id(path: &Path, id: &str) -> bool {
    path.file_stem()
        .is_some_and(|s| s.to_string_lossy().ends_with(id))
}

fn same_dir(a: &str, b: &str) -> bool {
    a == b
        || std::fs::canonicalize(a)
            .ok()
            .zip(std::fs::canonicalize(b).ok())
            .is_some_and(|(x, y)| x == y)
}

/// The rollout of thread `id`, else the newest one whose session started in `workspace`.
/// Only the day directories since the session began are read, and only file heads.
pub(crate) fn locate(
    home: &Path,
    workspace: &str,
    id: Option<&str>,
    since_ms: Option<u64>,
) -> Option<PathBuf> {
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for dir in day_dirs(&home.join("sessions"), since_ms) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("rollout-") || !name.ends_with(".jsonl") {
                continue;
            }
            let ok = match id {
                Some(id) => file_has_id(&path, id),
                None => meta(&path)
                    .and_then(|m| m["payload"]["cwd"].as_str().map(|c| same_dir(c, workspace)))
                    .unwrap_or(false),
            };
            let mtime = e.metadata().and_then(|m| m.modified()).ok();
            if let (true, Some(t)) = (ok, mtime)
                && best.as_ref().is_none_or(|(b, _)| t > *b)
            {
                best = Some((t, path));
            }
        }
    }
    best.map(|(_, p)| p)
}

/// What an event says about the agent; `None` for bookkeeping lines.
pub(crate) fn classify(v: &Value) -> Option<(ActivityState, Option<String>)> {
    use ActivityState::*;
    let p = &v["payload"];
    let kind = p["type"].as_str()?;
    match (v["type"].as_str()?, kind) {
        // 0.171 ends a turn that failed on an API error with `task_complete` carrying `error`.
        ("event_msg", "task_complete") if p["error"].is_object() || p["error"].is_string() => {
            let m = p["error"]["message"]
                .as_str()
                .or(p["error"].as_str())
                .unwrap_or("error");
            Some((Blocked, Some(one_line(m, 300))))
        }
        ("event_msg", "task_complete" | "turn_aborted") => Some((Ready, None)),
        ("event_msg", "agent_message") => Some((Ready, None)),
        ("response_item", "message") if p["role"] == "assistant" => Some((Ready, None)),
        ("event_msg", "error" | "stream_error") => {
            Some((Blocked, p["message"].as_str().map(|m| one_line(m, 160))))
        }
        ("event_msg", k) if k.ends_with("approval_request") || k == "request_user_input" => {
            Some((WaitingInput, None))
        }
        (
            "event_msg",
            "user_message" | "task_started" | "agent_reasoning" | "exec_command_begin",
        ) => Some((Active, None)),
        ("response_item", "message") if p["role"] == "user" => Some((Active, None)),
        (
            "response_item",
            "function_call"
            | "function_call_output"
            | "custom_tool_call"
            | "custom_tool_call_output"
            | "local_shell_call"
            | "reasoning"
            | "web_search_call",
        ) => Some((Active, None)),
        _ => None,
    }
}

/// The newest event's signal, timed by its own timestamp.
pub(crate) fn activity_signal(path: &Path) -> Option<Signal> {
    let mut lines = RevLines::open(path).ok()?;
    lines
        .find_map(TAIL_BYTES, |line| {
            let v: Value = serde_json::from_slice(line).ok()?;
            let (state, detail) = classify(&v)?;
            let at = parse_time_ms(v["timestamp"].as_str()?)?;
            Some(Signal {
                state,
                source: ActivitySource::Transcript,
                at_ms: at,
                detail,
            })
        })
        .ok()
        .flatten()
}

/// The text of a `response_item` message of `role` (0.169+ writes no `user_message` /
/// `agent_message` events).
fn item_text(v: &Value, role: &str) -> Option<String> {
    let p = &v["payload"];
    if v["type"] != "response_item" || p["type"] != "message" || p["role"] != role {
        return None;
    }
    let text: Vec<&str> = p["content"]
        .as_array()?
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    (!text.is_empty()).then(|| text.join("\n"))
}

fn user_task(v: &Value) -> Option<String> {
    let p = &v["payload"];
    let m = if v["type"] == "event_msg" && p["type"] == "user_message" {
        p["message"].as_str()?.to_owned()
    } else {
        item_text(v, "user")?
    };
    // Codex injects its context and instructions as user turns.
    let t = m.trim_start();
    (!t.starts_with('<') && !t.starts_with("# AGENTS.md")).then_some(m)
}

/// Thread id, first task, model, latest message and tokens. Codex logs cumulative token counts,
/// so the newest `token_count` event is the whole session's: no full read is needed.
pub(crate) fn session_info(path: &Path, prices: &PriceTable) -> std::io::Result<SessionInfo> {
    let head: Vec<Value> = head_lines(path, HEAD_BYTES)?
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let thread = head
        .iter()
        .find(|v| v["type"] == "session_meta")
        .and_then(|v| v["payload"]["id"].as_str().map(str::to_owned));
    let task = head.iter().find_map(user_task).map(|t| one_line(&t, 200));
    let (mut latest, mut model, mut usage) = (None, None, None::<Value>);
    let mut lines = RevLines::open(path)?;
    while let Some(line) = lines.next_line()? {
        if let Ok(v) = serde_json::from_slice::<Value>(&line) {
            let p = &v["payload"];
            match (v["type"].as_str(), p["type"].as_str()) {
                (Some("event_msg"), Some("agent_message")) if latest.is_none() => {
                    latest = p["message"].as_str().map(|m| one_line(m, 200));
                }
                (Some("response_item"), Some("message")) if latest.is_none() => {
                    latest = item_text(&v, "assistant").map(|m| one_line(&m, 200));
                }
                (Some("event_msg"), Some("token_count")) if usage.is_none() => {
                    usage = Some(p["info"]["total_token_usage"].clone()).filter(|u| u.is_object());
                }
                (Some("turn_context"), _) if model.is_none() => {
                    model = p["model"].as_str().map(str::to_owned);
                }
                _ => {}
            }
        }
        if (latest.is_some() && model.is_some() && usage.is_some())
            || lines.bytes_read() > TAIL_BYTES
        {
            break;
        }
    }
    if model.is_none() {
        model = head
            .iter()
            .find(|v| v["type"] == "turn_context")
            .and_then(|v| v["payload"]["model"].as_str().map(str::to_owned));
    }
    let cost = usage.map(|u| {
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        let cached = n("cached_input_tokens");
        prices.priced(
            model.as_deref(),
            Cost {
                // OpenAI counts cached tokens inside input_tokens; ao keeps them apart.
                input_tokens: n("input_tokens").saturating_sub(cached),
                output_tokens: n("output_tokens"),
                cache_read_tokens: cached,
                cache_write_tokens: 0,
                usd: None,
            },
        )
    });
    Ok(SessionInfo {
        agent_session_id: thread,
        summary: task.clone(),
        summary_is_fallback: task.is_some(),
        task,
        latest,
        model,
        cost,
        transcript: Some(path.display().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_454), (2026, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}

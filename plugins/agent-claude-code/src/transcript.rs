//! Claude Code's transcript: `<config dir>/projects/<slug of the cwd>/<session id>.jsonl`, one
//! JSON object per line (`user`, `assistant`, `system`, `summary`, …).

use ao_plugin_api::sdk::agent::pricing::PriceTable;
use ao_plugin_api::sdk::agent::resolve::Signal;
use ao_plugin_api::sdk::agent::tail::{FollowCache, RevLines, follow, head_lines};
use ao_plugin_api::sdk::agent::{one_line, parse_time_ms};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState, Cost, SessionInfo};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How far back the tail readers look.
const TAIL_BYTES: u64 = 512 * 1024;

/// Claude's directory name for a working directory: every character outside `[A-Za-z0-9]`
/// becomes `-` (`/home/me/.wt/app-1` → `-home-me--wt-app-1`).
pub(crate) fn slug(path: &str) -> String {
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The transcript of conversation `id` (else the newest in the workspace's directory, skipping
/// sub-agent logs). Looks in every project directory for the id when the slug differs (a
/// symlinked workspace, a slug Claude shortened).
pub(crate) fn locate(config_dir: &Path, workspace: &str, id: Option<&str>) -> Option<PathBuf> {
    let projects = config_dir.join("projects");
    let dir = projects.join(slug(workspace));
    if let Some(id) = id {
        let name = format!("{id}.jsonl");
        let direct = dir.join(&name);
        if direct.is_file() {
            return Some(direct);
        }
        return std::fs::read_dir(&projects)
            .ok()?
            .flatten()
            .map(|e| e.path().join(&name))
            .find(|p| p.is_file());
    }
    std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.ends_with(".jsonl") && !n.starts_with("agent-")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect();
            (!texts.is_empty()).then(|| texts.join(" "))
        }
        _ => None,
    }
}

fn has_block(content: &Value, kind: &str) -> bool {
    content
        .as_array()
        .is_some_and(|b| b.iter().any(|b| b["type"] == kind))
}

/// A user entry the human (or ao) typed, as opposed to tool results and local commands.
fn typed_prompt(v: &Value) -> Option<String> {
    if v["type"] != "user"
        || v["isMeta"] == true
        || has_block(&v["message"]["content"], "tool_result")
    {
        return None;
    }
    let text = text_of(&v["message"]["content"])?;
    let t = text.trim_start();
    (!t.starts_with("<command-") && !t.starts_with("<local-command") && !t.starts_with("Caveat:"))
        .then_some(text)
}

/// What the newest conversational entry says.
pub(crate) fn classify(v: &Value) -> Option<(ActivityState, Option<String>)> {
    let content = &v["message"]["content"];
    match v["type"].as_str()? {
        "assistant" if v["isApiErrorMessage"] == true => Some((
            ActivityState::Blocked,
            text_of(content).map(|t| one_line(&t, 160)),
        )),
        // A tool call is out: the tool runs (or waits for permission, which the hooks or the
        // screen tell).
        "assistant" if has_block(content, "tool_use") => Some((ActivityState::Active, None)),
        "assistant" => Some((ActivityState::Ready, None)),
        "user" if v["isMeta"] == true => None,
        "user" => {
            let text = text_of(content).unwrap_or_default();
            if text.starts_with("[Request interrupted by user") {
                Some((ActivityState::Ready, Some("interrupted".into())))
            } else {
                // A prompt or a tool result: the model is thinking.
                Some((ActivityState::Active, None))
            }
        }
        _ => None,
    }
}

/// The newest entry's signal, timed by its own timestamp.
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

/// Running token totals of one transcript.
#[derive(Debug, Default, Clone)]
pub(crate) struct Acc {
    cost: Cost,
    usd: f64,
    unpriced: bool,
    /// Claude writes one line per content block of a message, each repeating its usage; the
    /// message counts once, with its last usage.
    pending: Option<(String, Option<String>, Cost)>,
}

impl Acc {
    fn commit(&mut self, prices: &PriceTable) {
        if let Some((_, model, c)) = self.pending.take() {
            self.cost.input_tokens += c.input_tokens;
            self.cost.output_tokens += c.output_tokens;
            self.cost.cache_read_tokens += c.cache_read_tokens;
            self.cost.cache_write_tokens += c.cache_write_tokens;
            match c
                .usd
                .or_else(|| prices.priced(model.as_deref(), c.clone()).usd)
            {
                Some(usd) => self.usd += usd,
                None => self.unpriced = true,
            }
        }
    }

    pub(crate) fn feed(&mut self, line: &[u8], prices: &PriceTable) {
        // Most lines carry no usage; skip them before parsing.
        if !contains(line, b"\"usage\"") {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            return;
        };
        if v["type"] != "assistant" {
            return;
        }
        let m = &v["message"];
        let u = &m["usage"];
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        let cost = Cost {
            input_tokens: n("input_tokens"),
            output_tokens: n("output_tokens"),
            cache_read_tokens: n("cache_read_input_tokens"),
            cache_write_tokens: n("cache_creation_input_tokens"),
            usd: v["costUSD"].as_f64(),
        };
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        let model = m["model"]
            .as_str()
            .filter(|m| *m != "<synthetic>")
            .map(str::to_owned);
        if self
            .pending
            .as_ref()
            .is_some_and(|(p, _, _)| *p != id || id.is_empty())
        {
            self.commit(prices);
        }
        self.pending = Some((id, model, cost));
    }

    /// The totals so far (the message still being written included); `usd` is `None` when a
    /// message's model has no known price.
    pub(crate) fn report(&self, prices: &PriceTable) -> Cost {
        let mut t = self.clone();
        t.commit(prices);
        let mut cost = t.cost;
        cost.usd = (!t.unpriced).then_some(t.usd);
        cost
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Totals per transcript, kept between calls so each byte is read once.
pub(crate) type CostCache = FollowCache<Acc>;

/// Tokens and cost of the whole transcript, reading only what was appended since last time.
pub(crate) fn cost(path: &Path, cache: &CostCache, prices: &PriceTable) -> std::io::Result<Cost> {
    Ok(follow(cache, path, |acc, line| acc.feed(line, prices))?.report(prices))
}

/// Summary, first task, latest message, model and cost.
pub(crate) fn session_info(
    path: &Path,
    cache: &CostCache,
    prices: &PriceTable,
) -> std::io::Result<SessionInfo> {
    let head: Vec<Value> = head_lines(path, 64 * 1024)?
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let task = head
        .iter()
        .find_map(typed_prompt)
        .map(|t| one_line(&t, 200));
    let mut summary = head
        .iter()
        .filter(|v| v["type"] == "summary")
        .filter_map(|v| v["summary"].as_str())
        .next_back()
        .map(str::to_owned);
    let mut latest = None;
    let mut model = None;
    let mut lines = RevLines::open(path)?;
    while let Some(line) = lines.next_line()? {
        if let Ok(v) = serde_json::from_slice::<Value>(&line) {
            if v["type"] == "summary" && summary.is_none() {
                summary = v["summary"].as_str().map(str::to_owned);
            }
            if v["type"] == "assistant" {
                if latest.is_none() {
                    latest = text_of(&v["message"]["content"]).map(|t| one_line(&t, 200));
                }
                if model.is_none() {
                    model = v["message"]["model"]
                        .as_str()
                        .filter(|m| *m != "<synthetic>")
                        .map(str::to_owned);
                }
            }
        }
        if (latest.is_some() && model.is_some()) || lines.bytes_read() > TAIL_BYTES {
            break;
        }
    }
    let summary_is_fallback = summary.is_none() && task.is_some();
    Ok(SessionInfo {
        agent_session_id: path.file_stem().map(|s| s.to_string_lossy().into_owned()),
        summary: summary.or_else(|| task.clone()),
        summary_is_fallback,
        task,
        latest,
        model,
        cost: Some(cost(path, cache, prices)?),
        transcript: Some(path.display().to_string()),
    })
}

//! The three wire formats the CLIs speak, each from its public API reference: Anthropic
//! Messages (Claude Code), OpenAI Responses (Codex) and OpenAI Chat Completions (Aider,
//! OpenCode). Each module reads a request into a [`Conversation`] and writes an [`Answer`] as
//! the API's own server-sent events (or JSON when the client did not ask for a stream), and an
//! error in the API's own error shape.

use super::script::{Answer, Call};
use serde_json::{Value, json};

/// What the simulator needs from a request, whatever its API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversation {
    /// The newest real user prompt (tool results and injected context are not prompts).
    pub prompt: String,
    /// Assistant messages (or tool calls) after that prompt: the step of the turn.
    pub step: usize,
    /// A title request: no tools and an instruction to make a title.
    pub title: bool,
    /// The client offered tools (Aider offers none: its edits travel as text).
    pub has_tools: bool,
    /// `stream: true` was asked.
    pub stream: bool,
    /// The model name sent.
    pub model: String,
}

/// Server-sent events: `event:` lines (when named) and one `data:` line each.
fn sse(events: &[(Option<&str>, Value)]) -> String {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            out.push_str(&format!("event: {n}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Context blocks the CLIs inject as user messages (`<system-reminder>…`,
/// `<environment_context>…`): not prompts. (A paste reaches Claude wrapped in
/// `<pasted_content>`: that is a prompt.)
fn injected(text: &str) -> bool {
    const CONTEXT: &[&str] = &[
        "<system-reminder>",
        "<environment_context>",
        "<user_instructions>",
        "<permissions",
        "<command-",
        "<local-command",
        "# AGENTS.md",
        "Caveat:",
    ];
    let t = text.trim();
    t.is_empty() || CONTEXT.iter().any(|c| t.starts_with(c))
}

/// The newest user message that is a prompt (not injected context), and how many items after
/// it `is_step` counts (the step of the turn), for the OpenAI formats' flat item lists.
fn newest_prompt(items: &[Value], is_step: impl Fn(&Value) -> bool) -> (String, usize) {
    let newest = items.iter().enumerate().rev().find_map(|(i, it)| {
        let t = (it["role"] == "user").then(|| text_of(&it["content"]))?;
        (!injected(&t)).then_some((i, t))
    });
    match newest {
        Some((at, prompt)) => (prompt, items[at..].iter().filter(|i| is_step(i)).count()),
        None => (String::new(), 0),
    }
}

const TITLE_MARKERS: &[&str] = &["title"];

fn asks_for_title(system: &str, has_tools: bool) -> bool {
    !has_tools
        && TITLE_MARKERS
            .iter()
            .any(|m| system.to_lowercase().contains(m))
}

pub mod anthropic {
    use super::*;

    /// Reads a `POST /v1/messages` body.
    pub fn read(body: &Value) -> Conversation {
        let msgs = body["messages"].as_array().cloned().unwrap_or_default();
        let mut prompt_at = None;
        let mut prompt = String::new();
        for (i, m) in msgs.iter().enumerate() {
            if m["role"] != "user" {
                continue;
            }
            let texts: Vec<String> = match &m["content"] {
                Value::String(s) => vec![s.clone()],
                Value::Array(blocks) => blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str().map(str::to_owned))
                    .filter(|t| !injected(t))
                    .collect(),
                _ => vec![],
            };
            // The newest block: Claude folds a failed turn's prompt and the next one into
            // one user message.
            if let Some(last) = texts.last() {
                prompt_at = Some(i);
                prompt = last.clone();
            }
        }
        let step = prompt_at.map_or(0, |at| {
            msgs[at..]
                .iter()
                .filter(|m| m["role"] == "assistant")
                .count()
        });
        let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        let system = text_of(&body["system"]);
        let structured = body["output_config"]["format"]["type"] == "json_schema";
        Conversation {
            prompt,
            step,
            title: !has_tools && (structured || asks_for_title(&system, has_tools)),
            has_tools,
            stream: body["stream"].as_bool().unwrap_or(false),
            model: body["model"].as_str().unwrap_or("local-model").to_owned(),
        }
    }

    fn tool(call: &Call, n: usize) -> Value {
        let (name, input) = match call {
            Call::Bash(c) | Call::Escalate(c) => (
                "Bash",
                json!({"command": c, "description": "Run a command the task asks for"}),
            ),
            Call::Write { path, content } => {
                ("Write", json!({"file_path": path, "content": content}))
            }
        };
        json!({"type": "tool_use", "id": format!("toolu_sim{n:04}"), "name": name, "input": input})
    }

    /// The answer as Anthropic's stream (or message JSON).
    pub fn write(
        c: &Conversation,
        answer: &Answer,
        usage: (u64, u64),
        n: usize,
    ) -> (String, &'static str) {
        let (block, stop) = match answer {
            Answer::Call(call) => (tool(call, n), "tool_use"),
            Answer::Reply(text) => (json!({"type": "text", "text": text}), "end_turn"),
        };
        let id = format!("msg_sim{n:04}");
        let u = json!({"input_tokens": usage.0, "output_tokens": usage.1,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
        if !c.stream {
            let body = json!({"id": id, "type": "message", "role": "assistant", "model": c.model,
                "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": u});
            return (body.to_string(), "application/json");
        }
        let (start, delta) = if block["type"] == "tool_use" {
            let mut start = block.clone();
            start["input"] = json!({});
            let delta =
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()});
            (start, delta)
        } else {
            let delta = json!({"type": "text_delta", "text": block["text"]});
            (json!({"type": "text", "text": ""}), delta)
        };
        // The usage is in message_start and message_delta alike, so a client recording either
        // records the same numbers.
        let events = [
            (
                Some("message_start"),
                json!({"type": "message_start", "message": {"id": id,
                "type": "message", "role": "assistant", "model": c.model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": u}}),
            ),
            (
                Some("content_block_start"),
                json!({"type": "content_block_start", "index": 0, "content_block": start}),
            ),
            (Some("ping"), json!({"type": "ping"})),
            (
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": 0, "delta": delta}),
            ),
            (
                Some("content_block_stop"),
                json!({"type": "content_block_stop", "index": 0}),
            ),
            (
                Some("message_delta"),
                json!({"type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": u}),
            ),
            (Some("message_stop"), json!({"type": "message_stop"})),
        ];
        (sse(&events), "text/event-stream")
    }

    /// Anthropic's error object for an HTTP status.
    pub fn error(status: u16) -> Value {
        let (kind, msg) = match status {
            400 => (
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
            401 => ("authentication_error", "invalid x-api-key"),
            402 => (
                "billing_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
            403 => (
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            ),
            429 => (
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit.",
            ),
            529 => ("overloaded_error", "Overloaded"),
            _ => ("api_error", "Internal server error"),
        };
        json!({"type": "error", "error": {"type": kind, "message": msg}})
    }
}

pub mod responses {
    use super::*;

    /// Reads a `POST /v1/responses` body.
    pub fn read(body: &Value) -> Conversation {
        let items = body["input"].as_array().cloned().unwrap_or_default();
        let (prompt, step) = newest_prompt(&items, |i| {
            i["type"] == "function_call" || i["role"] == "assistant"
        });
        let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        let title = !has_tools && prompt.to_lowercase().contains("title");
        Conversation {
            prompt,
            step,
            title,
            has_tools,
            stream: body["stream"].as_bool().unwrap_or(false),
            model: body["model"].as_str().unwrap_or("local-model").to_owned(),
        }
    }

    fn item(answer: &Answer, n: usize, done: bool) -> Value {
        let status = if done { "completed" } else { "in_progress" };
        match answer {
            Answer::Reply(text) => json!({"type": "message", "id": format!("msg_sim{n:04}"),
                "role": "assistant", "status": status,
                "content": if done { json!([{"type": "output_text", "text": text, "annotations": []}]) } else { json!([]) }}),
            Answer::Call(call) => {
                let args = match call {
                    Call::Bash(c) => json!({"cmd": c}),
                    Call::Escalate(c) => {
                        json!({"cmd": c, "sandbox_permissions": "require_escalated",
                        "justification": "The task needs this command outside the sandbox."})
                    }
                    Call::Write { path, content } => {
                        json!({"cmd": format!("printf '%s\\n' '{}' > '{}'", content.replace('\'', ""), path.replace('\'', ""))})
                    }
                };
                json!({"type": "function_call", "id": format!("fc_sim{n:04}"), "call_id": format!("call_sim{n:04}"),
                    "name": "exec_command", "status": status,
                    "arguments": if done { args.to_string() } else { String::new() }})
            }
        }
    }

    /// The answer as the Responses stream (or response JSON).
    pub fn write(
        c: &Conversation,
        answer: &Answer,
        usage: (u64, u64),
        n: usize,
    ) -> (String, &'static str) {
        let id = format!("resp_sim{n:04}");
        let done = item(answer, n, true);
        let u = json!({"input_tokens": usage.0, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.1, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.0 + usage.1});
        let response = |status: &str, output: Value, usage: Value| {
            json!({"id": id, "object": "response", "created_at": 0, "status": status,
                   "model": c.model, "output": output, "usage": usage})
        };
        if !c.stream {
            return (
                response("completed", json!([done]), u).to_string(),
                "application/json",
            );
        }
        let item_id = done["id"].clone();
        let mut events = vec![
            (
                "response.created",
                json!({"type": "response.created", "response": response("in_progress", json!([]), Value::Null)}),
            ),
            (
                "response.in_progress",
                json!({"type": "response.in_progress", "response": response("in_progress", json!([]), Value::Null)}),
            ),
            (
                "response.output_item.added",
                json!({"type": "response.output_item.added", "output_index": 0, "item": item(answer, n, false)}),
            ),
        ];
        match answer {
            Answer::Reply(text) => {
                let part = json!({"type": "output_text", "text": "", "annotations": []});
                events.extend([
                    ("response.content_part.added", json!({"type": "response.content_part.added", "item_id": item_id, "output_index": 0, "content_index": 0, "part": part})),
                    ("response.output_text.delta", json!({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0, "content_index": 0, "delta": text})),
                    ("response.output_text.done", json!({"type": "response.output_text.done", "item_id": item_id, "output_index": 0, "content_index": 0, "text": text})),
                    ("response.content_part.done", json!({"type": "response.content_part.done", "item_id": item_id, "output_index": 0, "content_index": 0,
                        "part": {"type": "output_text", "text": text, "annotations": []}})),
                ]);
            }
            Answer::Call(_) => {
                let args = done["arguments"].clone();
                events.extend([
                    ("response.function_call_arguments.delta", json!({"type": "response.function_call_arguments.delta", "item_id": item_id, "output_index": 0, "delta": args})),
                    ("response.function_call_arguments.done", json!({"type": "response.function_call_arguments.done", "item_id": item_id, "output_index": 0, "arguments": args})),
                ]);
            }
        }
        events.push((
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": 0, "item": done}),
        ));
        events.push(("response.completed", json!({"type": "response.completed", "response": response("completed", json!([done]), u)})));
        let numbered: Vec<(Option<&str>, Value)> = events
            .into_iter()
            .enumerate()
            .map(|(i, (name, mut data))| {
                data["sequence_number"] = json!(i);
                (Some(name), data)
            })
            .collect();
        (sse(&numbered), "text/event-stream")
    }

    /// OpenAI's error object for an HTTP status.
    pub fn error(status: u16) -> Value {
        openai_error(status)
    }
}

/// OpenAI's `{"error": {message, type, code}}` for an HTTP status.
fn openai_error(status: u16) -> Value {
    let (kind, code, msg) = match status {
        401 => (
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided: sk-test.",
        ),
        402 | 403 => (
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        429 => (
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests. Please try again in 20s.",
        ),
        503 | 529 => (
            "server_error",
            "server_is_overloaded",
            "The server is overloaded. Please try again later.",
        ),
        _ => (
            "server_error",
            "server_error",
            "The server had an error while processing your request.",
        ),
    };
    json!({"error": {"message": msg, "type": kind, "param": null, "code": code}})
}

pub mod chat {
    use super::*;

    /// Reads a `POST /v1/chat/completions` body.
    pub fn read(body: &Value) -> Conversation {
        let msgs = body["messages"].as_array().cloned().unwrap_or_default();
        let (prompt, step) = newest_prompt(&msgs, |m| m["role"] == "assistant");
        let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
        let system: String = msgs
            .iter()
            .filter(|m| m["role"] == "system")
            .map(|m| text_of(&m["content"]))
            .collect();
        Conversation {
            prompt,
            step,
            title: asks_for_title(&system, has_tools)
                && !system.to_lowercase().contains("search/replace"),
            has_tools,
            stream: body["stream"].as_bool().unwrap_or(false),
            model: body["model"].as_str().unwrap_or("local-model").to_owned(),
        }
    }

    /// Aider has no tools: a file write is a SEARCH/REPLACE block creating it, a command a
    /// fenced shell block (which Aider offers to run).
    fn as_text(call: &Call) -> String {
        match call {
            Call::Write { path, content } => {
                format!("{path}\n```\n<<<<<<< SEARCH\n=======\n{content}\n>>>>>>> REPLACE\n```\n")
            }
            Call::Bash(c) | Call::Escalate(c) => format!("Run this:\n\n```bash\n{c}\n```\n"),
        }
    }

    /// The answer as Chat Completions chunks (or a completion JSON).
    pub fn write(
        c: &Conversation,
        answer: &Answer,
        usage: (u64, u64),
        n: usize,
    ) -> (String, &'static str) {
        let id = format!("chatcmpl-sim{n:04}");
        let u = json!({"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1});
        let (delta, message, finish) = match answer {
            Answer::Call(call) if c.has_tools => {
                let (name, args) = match call {
                    Call::Bash(cmd) | Call::Escalate(cmd) => (
                        "bash",
                        json!({"command": cmd, "description": "Run a command the task asks for"}),
                    ),
                    Call::Write { path, content } => {
                        ("write", json!({"filePath": path, "content": content}))
                    }
                };
                let tc = json!([{"index": 0, "id": format!("call_sim{n:04}"), "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}}]);
                (
                    json!({"role": "assistant", "content": null, "tool_calls": tc}),
                    json!({"role": "assistant", "content": null, "tool_calls": tc}),
                    "tool_calls",
                )
            }
            Answer::Call(call) => {
                let text = as_text(call);
                (
                    json!({"role": "assistant", "content": text}),
                    json!({"role": "assistant", "content": text}),
                    "stop",
                )
            }
            Answer::Reply(text) => (
                json!({"role": "assistant", "content": text}),
                json!({"role": "assistant", "content": text}),
                "stop",
            ),
        };
        if !c.stream {
            let body = json!({"id": id, "object": "chat.completion", "created": 0, "model": c.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": u});
            return (body.to_string(), "application/json");
        }
        let chunk = |choices: Value, usage: Value| {
            json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": c.model,
                   "choices": choices, "usage": usage})
        };
        let events = [
            (
                None,
                chunk(
                    json!([{"index": 0, "delta": delta, "finish_reason": null}]),
                    Value::Null,
                ),
            ),
            (
                None,
                chunk(
                    json!([{"index": 0, "delta": {}, "finish_reason": finish}]),
                    Value::Null,
                ),
            ),
            // As with `stream_options.include_usage`: a last chunk with no choices and the usage.
            (None, chunk(json!([]), u)),
        ];
        let mut out = sse(&events);
        out.push_str("data: [DONE]\n\n");
        (out, "text/event-stream")
    }

    /// OpenAI's error object for an HTTP status.
    pub fn error(status: u16) -> Value {
        openai_error(status)
    }
}

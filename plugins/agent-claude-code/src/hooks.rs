//! Claude Code's own hooks, installed in the workspace's `.claude/settings.local.json` (the
//! per-checkout settings file Claude keeps out of git), each running
//! `ao hook --agent claude-code --state <state> [--stdin] <Event>`.
//!
//! The merge keeps everything the user wrote: other keys, other events, and the user's own
//! entries for the events we use. Ours are recognised by their command (it contains
//! [`MARKER`]), replaced in place of the old ones, and a second install writes nothing.

use ao_plugin_api::sdk::agent::{shell_join, write_if_changed};
use ao_plugin_api::sdk::git::Git;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::agent::{SetupHooksRequest, SetupHooksResponse};
use serde_json::{Map, Value, json};
use std::path::Path;

/// What identifies a hook command as ours.
pub(crate) const MARKER: &str = "hook --agent claude-code";

/// (event, matcher, state): what each Claude event means for ao.
const EVENTS: &[(&str, Option<&str>, &str)] = &[
    ("SessionStart", None, "ready"),
    ("UserPromptSubmit", None, "active"),
    ("PreToolUse", Some("*"), "active"),
    ("PostToolUse", Some("*"), "active"),
    ("PostToolUseFailure", Some("*"), "active"),
    // A permission dialog, or a question the agent asks (MCP elicitation).
    ("PermissionRequest", Some("*"), "waiting_input"),
    (
        "Notification",
        Some("permission_prompt|elicitation_dialog"),
        "waiting_input",
    ),
    ("Stop", None, "ready"),
    // The turn ended on an API error (rate limit, auth, billing): it will not go on alone.
    ("StopFailure", None, "blocked"),
    ("SessionEnd", None, "exited"),
];

/// The relative path of the settings file.
pub(crate) const SETTINGS: &str = ".claude/settings.local.json";

fn our_group(
    ao: &[String],
    status_file: &str,
    event: &str,
    matcher: Option<&str>,
    state: &str,
) -> Value {
    let mut argv = ao.to_vec();
    argv.extend(
        [
            "hook",
            "--agent",
            "claude-code",
            "--state",
            state,
            "--status-file",
            status_file,
            "--stdin",
            event,
        ]
        .map(String::from),
    );
    let mut group = Map::new();
    if let Some(m) = matcher {
        group.insert("matcher".into(), json!(m));
    }
    group.insert(
        "hooks".into(),
        json!([{ "type": "command", "command": shell_join(&argv), "timeout": 10 }]),
    );
    Value::Object(group)
}

fn is_ours(group: &Value) -> bool {
    group["hooks"].as_array().is_some_and(|hooks| {
        !hooks.is_empty()
            && hooks
                .iter()
                .all(|h| h["command"].as_str().is_some_and(|c| c.contains(MARKER)))
    })
}

/// `settings` with our hook groups merged in.
pub(crate) fn merge(
    settings: &mut Map<String, Value>,
    ao: &[String],
    status_file: &str,
) -> Result<(), String> {
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(hooks) = hooks.as_object_mut() else {
        return Err("its \"hooks\" is not an object".into());
    };
    for (event, matcher, state) in EVENTS {
        let groups = hooks
            .entry(event.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(groups) = groups.as_array_mut() else {
            return Err(format!("its \"hooks.{event}\" is not a list"));
        };
        let ours = our_group(ao, status_file, event, *matcher, state);
        match groups.iter().position(is_ours) {
            Some(i) => {
                groups[i] = ours;
                let mut seen = false;
                groups.retain(|g| !is_ours(g) || !std::mem::replace(&mut seen, true));
            }
            None => groups.push(ours),
        }
    }
    Ok(())
}

/// Installs (or refreshes) the hooks in `req.workspace_path`.
pub(crate) fn install(ctx: &Ctx, req: &SetupHooksRequest) -> Result<SetupHooksResponse, SdkError> {
    if req.ao_command.is_empty() {
        return Err(SdkError::InvalidParams("ao_command is empty".into()));
    }
    let ws = Path::new(&req.workspace_path);
    if !ws.is_dir() {
        return Err(SdkError::NotFound(format!(
            "workspace {} does not exist",
            ws.display()
        )));
    }
    let path = ws.join(SETTINGS);
    let mut settings = match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().is_empty() => Map::new(),
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(SdkError::InvalidConfig(format!(
                    "{} is not a JSON object: fix or remove it",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(SdkError::InvalidConfig(format!(
                    "{} is not valid JSON ({e}): fix or remove it; ao will not overwrite it",
                    path.display()
                )));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => {
            return Err(SdkError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    merge(&mut settings, &req.ao_command, &req.status_file).map_err(|why| {
        SdkError::InvalidConfig(format!(
            "{}: {why}: fix it so ao can add its hooks",
            path.display()
        ))
    })?;
    let mut text = serde_json::to_string_pretty(&Value::Object(settings))
        .map_err(|e| SdkError::Internal(e.to_string()))?;
    text.push('\n');
    let changed = write_if_changed(&path, text.as_bytes())
        .map_err(|e| SdkError::Internal(format!("cannot write {}: {e}", path.display())))?;
    // Untracked, the file would make the workspace look like it holds unsaved work.
    Git::new(ws).exclude_locally(ctx, &[SETTINGS])?;
    Ok(SetupHooksResponse {
        changed,
        files: vec![path.display().to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_maps_to_a_state_ao_hook_accepts() {
        for (_, _, state) in EVENTS {
            assert!(
                [
                    "active",
                    "ready",
                    "idle",
                    "waiting_input",
                    "blocked",
                    "exited"
                ]
                .contains(state),
                "{state}"
            );
        }
    }

    #[test]
    fn merge_replaces_ours_in_place_and_keeps_the_users() {
        let mut s: Map<String, Value> = serde_json::from_value(json!({
            "permissions": {"allow": ["Bash(npm test)"]},
            "hooks": {
                "Stop": [
                    {"hooks": [{"type": "command", "command": "notify-send done"}]},
                    {"hooks": [{"type": "command", "command": "/old/ao hook --agent claude-code --state ready Stop"}]}
                ]
            }
        }))
        .unwrap();
        merge(&mut s, &["/new/ao".into()], "/s/x.jsonl").unwrap();
        let stop = s["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2);
        assert_eq!(stop[0]["hooks"][0]["command"], "notify-send done");
        assert!(
            stop[1]["hooks"][0]["command"]
                .as_str()
                .unwrap()
                .starts_with("/new/ao hook")
        );
        assert_eq!(s["permissions"]["allow"][0], "Bash(npm test)");
        assert_eq!(s["hooks"].as_object().unwrap().len(), EVENTS.len());
    }
}

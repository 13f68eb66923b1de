//! Pre-trusting a workspace, so Claude Code starts at its prompt instead of its folder-trust
//! dialog. Since 2.1.332 that dialog appears for every new folder path (each worktree is one;
//! a parent's trust is not inherited) and its default answer is "No, exit": an agent left
//! there never starts, and an Enter from anyone quits it.
//!
//! Claude keeps trust in its user config, `$CLAUDE_CONFIG_DIR/.claude.json` or
//! `~/.claude.json`, as `projects["<exact path>"].hasTrustDialogAccepted`. We set that one key
//! for the workspace we created (ao made it from the user's own repository, which the user
//! asked ao to work on), keeping every other byte of meaning in the file: read, change one
//! key, write a temp file beside it, fsync, rename, then read back and retry if a running
//! Claude rewrote the file in between. A file that is not JSON is reported, never replaced.

use ao_plugin_api::sdk::SdkError;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// Claude's user config file.
pub(crate) fn config_file() -> Option<PathBuf> {
    match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d).join(".claude.json")),
        None => ao_plugin_api::sdk::agent::home().map(|h| h.join(".claude.json")),
    }
}

fn trusted(doc: &Value, key: &str) -> bool {
    doc["projects"][key]["hasTrustDialogAccepted"] == json!(true)
}

/// Marks `workspace` trusted in `file`; returns whether the file changed.
pub(crate) fn trust(file: &Path, workspace: &Path) -> Result<bool, SdkError> {
    // Claude compares its real working directory: resolve symlinks as it will.
    let key = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf())
        .display()
        .to_string();
    for _ in 0..5 {
        let mut doc = match std::fs::read_to_string(file) {
            Ok(t) if t.trim().is_empty() => Value::Object(Map::new()),
            Ok(t) => serde_json::from_str::<Value>(&t)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| {
                    SdkError::InvalidConfig(format!(
                        "{} is not a JSON object, so the workspace cannot be pre-trusted: fix it",
                        file.display()
                    ))
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Object(Map::new()),
            Err(e) => {
                return Err(SdkError::Unavailable(format!(
                    "cannot read {}: {e}",
                    file.display()
                )));
            }
        };
        if trusted(&doc, &key) {
            return Ok(false);
        }
        let projects = doc
            .as_object_mut()
            .expect("checked")
            .entry("projects")
            .or_insert_with(|| Value::Object(Map::new()));
        if !projects.is_object() {
            return Err(SdkError::InvalidConfig(format!(
                "{}: \"projects\" is not an object: fix it",
                file.display()
            )));
        }
        let entry = projects
            .as_object_mut()
            .expect("checked")
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(e) = entry.as_object_mut() {
            e.insert("hasTrustDialogAccepted".into(), json!(true));
        } else {
            *entry = json!({"hasTrustDialogAccepted": true});
        }
        let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        ao_plugin_api::sdk::agent::write_if_changed(file, text.as_bytes())
            .map_err(|e| SdkError::Unavailable(format!("cannot write {}: {e}", file.display())))?;
        // A Claude running elsewhere may have written its own copy over ours: check.
        let back = std::fs::read_to_string(file).unwrap_or_default();
        if serde_json::from_str::<Value>(&back).is_ok_and(|d| trusted(&d, &key)) {
            return Ok(true);
        }
    }
    Err(SdkError::Unavailable(format!(
        "{} kept being rewritten while the workspace was being trusted: try again",
        file.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_adds_one_key_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        let file = dir.path().join(".claude.json");
        std::fs::write(
            &file,
            r#"{"numStartups": 7, "projects": {"/other": {"allowedTools": ["Bash"]}}, "userID": "u"}"#,
        )
        .unwrap();
        assert!(trust(&file, &ws).unwrap());
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let key = ws.canonicalize().unwrap().display().to_string();
        assert_eq!(doc["projects"][&key]["hasTrustDialogAccepted"], true);
        assert_eq!(doc["projects"]["/other"]["allowedTools"][0], "Bash");
        assert_eq!(
            (doc["numStartups"].clone(), doc["userID"].clone()),
            (json!(7), json!("u"))
        );
        assert!(!trust(&file, &ws).unwrap(), "already trusted: no write");
        // A missing file is created; a corrupt one is reported and left alone.
        let fresh = dir.path().join("fresh.json");
        assert!(trust(&fresh, &ws).unwrap());
        std::fs::write(&file, "{not json").unwrap();
        assert!(
            trust(&file, &ws)
                .unwrap_err()
                .to_string()
                .contains("not a JSON object")
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");
    }
}

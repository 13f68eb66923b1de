//! Pre-trusting a workspace, so Codex starts at its composer instead of its "Folder access"
//! screen (0.171 shows it in every untrusted repository even with a sandbox and an approval
//! policy given; a `-c projects…` override does not count). Codex keeps trust in
//! `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`) as
//! `[projects."<path>"] trust_level = "trusted"`, and for a git worktree it asks about, and
//! records, the main repository's root. We set that key for the root and for the worktree,
//! with `toml_edit`, so the user's comments, order and other keys stay as they were; written
//! by temp file and rename. A file that is not TOML is reported, never replaced.

use ao_plugin_api::sdk::SdkError;
use std::path::{Path, PathBuf};

/// Codex's user config file.
pub(crate) fn config_file() -> Option<PathBuf> {
    match std::env::var_os("CODEX_HOME").filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d).join("config.toml")),
        None => ao_plugin_api::sdk::agent::home().map(|h| h.join(".codex/config.toml")),
    }
}

/// Marks each of `paths` trusted in `file`; returns whether the file changed.
pub(crate) fn trust(file: &Path, paths: &[PathBuf]) -> Result<bool, SdkError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(SdkError::Unavailable(format!(
                "cannot read {}: {e}",
                file.display()
            )));
        }
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| {
        SdkError::InvalidConfig(format!(
            "{} is not valid TOML, so the workspace cannot be pre-trusted: fix it ({e})",
            file.display()
        ))
    })?;
    let projects = doc
        .entry("projects")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| {
            SdkError::InvalidConfig(format!(
                "{}: `projects` is not a table: fix it",
                file.display()
            ))
        })?;
    let mut changed = false;
    for p in paths {
        let key = p
            .canonicalize()
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string();
        let entry = projects
            .entry(&key)
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
        let Some(t) = entry.as_table_like_mut() else {
            return Err(SdkError::InvalidConfig(format!(
                "{}: `projects.\"{key}\"` is not a table: fix it",
                file.display()
            )));
        };
        if t.get("trust_level").and_then(|v| v.as_str()) != Some("trusted") {
            t.insert("trust_level", toml_edit::value("trusted"));
            changed = true;
        }
    }
    if changed {
        ao_plugin_api::sdk::agent::write_if_changed(file, doc.to_string().as_bytes())
            .map_err(|e| SdkError::Unavailable(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_keeps_the_users_file_and_adds_one_key_per_path() {
        let dir = tempfile::tempdir().unwrap();
        let (ws, root) = (dir.path().join("wt"), dir.path().join("repo"));
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        let file = dir.path().join("config.toml");
        let user = "# my settings\nmodel = \"o9\" # the best\n\n[projects.\"/else\"]\ntrust_level = \"untrusted\"\n";
        std::fs::write(&file, user).unwrap();
        assert!(trust(&file, &[root.clone(), ws.clone()]).unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with(user),
            "the user's part is unchanged:\n{text}"
        );
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        for p in [&root, &ws] {
            let key = p.canonicalize().unwrap().display().to_string();
            assert_eq!(
                doc["projects"][&key]["trust_level"].as_str(),
                Some("trusted"),
                "{text}"
            );
        }
        assert!(!trust(&file, &[ws]).unwrap(), "already trusted: no write");
        std::fs::write(&file, "model = [").unwrap();
        assert!(
            trust(&file, &[root])
                .unwrap_err()
                .to_string()
                .contains("not valid TOML")
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "model = [");
    }
}

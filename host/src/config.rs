//! `agent-orchestrator.yaml`: finding it, reading it, and turning it into a [`Config`].
//!
//! Raw YAML → [`model::RawConfig`] (serde, unknown keys are errors) → [`validate::validate`]
//! (pure: defaults, paths, durations, reaction merge, cross-references) → [`Config`]. Every
//! problem names the file, line, column and key path, and suggests the key that was meant.
//!
//! Discovery, first found wins: `--config`, `$AO_CONFIG`, the nearest `agent-orchestrator.yaml`
//! (or `.yml`) from the current directory upwards, then `~/.agent-orchestrator/config.yaml`.

pub mod agent_env;
pub mod depth;
pub mod model;
mod parse;
pub mod plugin_config;
pub mod problem;
pub mod reactions;
pub mod secrets;
pub mod shell_words;
pub mod validate;

pub use problem::Problem;
pub use validate::{Config, PluginInstance, Project, Reaction};

use crate::Error;
use std::path::{Path, PathBuf};

/// The file names searched for in each directory, in order.
pub const FILE_NAMES: [&str; 2] = ["agent-orchestrator.yaml", "agent-orchestrator.yml"];

/// How the config file was found (for `ao doctor` and `ao config check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// `--config`.
    Flag,
    /// `$AO_CONFIG`.
    Env,
    /// Walking up from the current directory.
    Nearest,
    /// `~/.agent-orchestrator/config.yaml`.
    Global,
}

/// Finds the config file. `Ok(None)` when there is none anywhere.
pub fn discover(flag: Option<&Path>, cwd: &Path) -> Result<Option<(PathBuf, Found)>, Error> {
    let must_exist = |p: &Path, how: Found| {
        if p.is_file() {
            // Absolute from here on: the store hash, the daemon's record of its config and
            // every path relative to the file derive from it, whatever directory runs `ao`.
            let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            Ok(Some((p, how)))
        } else {
            Err(Error::Invalid(format!(
                "config file {} does not exist",
                p.display()
            )))
        }
    };
    if let Some(p) = flag {
        return must_exist(p, Found::Flag);
    }
    if let Some(p) = std::env::var_os("AO_CONFIG").filter(|v| !v.is_empty()) {
        return must_exist(Path::new(&p), Found::Env);
    }
    for dir in cwd.ancestors() {
        for name in FILE_NAMES {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(Some((p, Found::Nearest)));
            }
        }
    }
    let global = crate::paths::data_dir().map(|d| d.join("config.yaml"));
    Ok(global.filter(|g| g.is_file()).map(|g| (g, Found::Global)))
}

/// Parses and validates config text. Pure apart from canonicalising the directory for the hash.
pub fn from_text(file: &Path, text: &str, home: Option<&Path>) -> Result<Config, Vec<Problem>> {
    let raw = parse::parse(file, text).map_err(|p| vec![p])?;
    validate::validate(file, text, &crate::store::config_dir_hash(file), home, raw)
}

/// A config file larger than this is refused before it is parsed.
pub const MAX_BYTES: u64 = 4 << 20;

/// Reads, parses and validates a config file, and checks that project paths exist.
pub fn load(file: &Path) -> Result<Config, Error> {
    let text = crate::files::read_regular(file, MAX_BYTES)
        .map_err(|e| Error::io("could not read", file, e))?;
    load_text(file, &text)
}

/// [`load`] of text already read from `file`.
pub fn load_text(file: &Path, text: &str) -> Result<Config, Error> {
    let home = dirs::home_dir();
    let config =
        from_text(file, text, home.as_deref()).map_err(|problems| Error::Config { problems })?;
    let missing: Vec<Problem> = config
        .projects
        .values()
        .filter(|p| !p.path.is_dir())
        .map(|p| {
            let path = format!("projects.{}.path", p.id);
            let loc = problem::locate(text, &path);
            Problem {
                file: file.to_path_buf(),
                line: loc.map(|l| l.0),
                column: loc.map(|l| l.1),
                path,
                message: format!("{} is not a directory", p.path.display()),
            }
        })
        .collect();
    if missing.is_empty() {
        Ok(config)
    } else {
        Err(Error::Config { problems: missing })
    }
}

/// The JSON Schema of the file, for editors (`$schema`) and `ao config schema`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(model::RawConfig)).expect("the schema serialises")
}

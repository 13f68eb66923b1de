//! Trust for project-local plugin directories (`<project>/.ao/plugins`).
//!
//! A library runs code when it is opened, and a child process is no sandbox, so cloning a
//! repository must never be enough to run its plugins. `ao plugins trust` records the sha256 of
//! every library in the directory; a library that is new or changed since (a `git pull`) is
//! refused until trusted again, without ever being opened.

use crate::Error;
use crate::plugins::discovery::is_library_name;
use crate::plugins::precheck::sha256_file;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory name inside a project.
pub const PROJECT_PLUGIN_DIR: &str = ".ao/plugins";

/// What was trusted in one directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedDir {
    /// Unix seconds.
    pub trusted_at: u64,
    /// Library file name → sha256 at trust time.
    pub files: BTreeMap<String, String>,
}

/// The trust records, kept in `~/.agent-orchestrator/trusted-plugins.json`.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    file: Option<PathBuf>,
    dirs: BTreeMap<PathBuf, TrustedDir>,
}

impl TrustStore {
    /// Loads the user's trust records (none when HOME is unknown or the file is missing).
    pub fn for_user() -> Self {
        Self::load(crate::paths::data_dir().map(|d| d.join("trusted-plugins.json")))
    }

    /// Loads from `file`. A corrupt file trusts nothing (and says so in the log).
    pub fn load(file: Option<PathBuf>) -> Self {
        let dirs = match file.as_deref().map(std::fs::read) {
            Some(Ok(bytes)) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(
                    "ignoring corrupt trust file {}: {e}",
                    file.as_deref().unwrap_or(Path::new("")).display()
                );
                BTreeMap::new()
            }),
            _ => BTreeMap::new(),
        };
        Self { file, dirs }
    }

    /// Whether `lib` (with this sha256) in `dir` may be opened; `Err` says what to do.
    pub fn check(&self, dir: &Path, lib: &Path, sha: &str) -> Result<(), String> {
        let project = dir.parent().and_then(Path::parent).unwrap_or(dir);
        let Some(record) = self.dirs.get(dir) else {
            return Err(format!(
                "project plugins are not trusted: review them, then run `ao plugins trust {}`",
                project.display()
            ));
        };
        let name = lib
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match record.files.get(&name) {
            Some(trusted) if trusted == sha => Ok(()),
            Some(_) => Err(format!(
                "changed since `ao plugins trust`: review it, then run `ao plugins trust {}` again",
                project.display()
            )),
            None => Err(format!(
                "added since `ao plugins trust`: review it, then run `ao plugins trust {}` again",
                project.display()
            )),
        }
    }

    /// Trusts every library now in `dir` (replacing an earlier record) and saves.
    pub fn trust(&mut self, dir: &Path) -> Result<&TrustedDir, Error> {
        let mut files = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io("could not read", dir, e))?;
        for e in entries {
            let path = e.map_err(|e| Error::io("could not read", dir, e))?.path();
            if path.is_file() && is_library_name(&path) {
                let sha = sha256_file(&path).map_err(|e| Error::io("could not read", &path, e))?;
                files.insert(
                    path.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    sha,
                );
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.dirs.insert(
            dir.to_path_buf(),
            TrustedDir {
                trusted_at: now,
                files,
            },
        );
        self.save()?;
        Ok(&self.dirs[dir])
    }

    /// Forgets `dir` and saves. Returns whether it was trusted.
    pub fn revoke(&mut self, dir: &Path) -> Result<bool, Error> {
        let was = self.dirs.remove(dir).is_some();
        self.save()?;
        Ok(was)
    }

    fn save(&self) -> Result<(), Error> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io("could not create", dir, e))?;
        let json = serde_json::to_vec_pretty(&self.dirs).expect("trust records serialise");
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io("could not write in", dir, e))?;
        std::io::Write::write_all(&mut tmp, &json)
            .map_err(|e| Error::io("could not write", file, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("could not write", file, e))?;
        tmp.persist(file)
            .map_err(|e| Error::io("could not write", file, e.error))?;
        Ok(())
    }
}

/// The nearest `<dir>/.ao/plugins` from `start` upwards, canonicalised.
pub fn find_project_plugin_dir(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(PROJECT_PLUGIN_DIR))
        .find(|d| d.is_dir())
        .and_then(|d| d.canonicalize().ok())
}

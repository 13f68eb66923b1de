//! The plugin search path (DESIGN §1.2) and the candidate files in it.
//!
//! Order, first found wins (later copies of a name are listed as shadowed):
//! `--plugin-dir` flags, `AO_PLUGIN_PATH`, the nearest `<project>/.ao/plugins` above the current
//! directory (trusted libraries only), the user plugin dir, `plugins/` next to the executable,
//! and, for development, the cdylibs cargo put next to the executable. `AO_NO_DEFAULT_PLUGINS=1`
//! keeps only the first two, for hermetic tests and CI.

use crate::paths;
use crate::plugins::sidecar::{self, Sidecar};
use crate::plugins::trust;
use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::{Path, PathBuf};

/// Why a directory is on the search path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `--plugin-dir`.
    Flag,
    /// `AO_PLUGIN_PATH`.
    Env,
    /// `<project>/.ao/plugins`, usable only as far as `ao plugins trust` allows.
    Project,
    /// `ao plugins install`'s directory.
    User,
    /// `plugins/` next to the `ao` executable.
    Bundled,
    /// A cargo target directory holding the `ao` executable (development builds).
    Dev,
}

impl Source {
    /// Lower-case label for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::Project => "project",
            Source::User => "user",
            Source::Bundled => "bundled",
            Source::Dev => "dev",
        }
    }
}

/// One directory of the search path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    /// The directory.
    pub path: PathBuf,
    /// Why it is searched.
    pub source: Source,
}

/// The ordered search path.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    /// Highest precedence first.
    pub dirs: Vec<SearchDir>,
}

/// A library file found on the search path, with its sidecar when it was installed.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The library.
    pub path: PathBuf,
    /// The directory it was found in.
    pub dir: SearchDir,
    /// `plugin.json` next to it, when there is one; `Err` when it is unreadable.
    pub sidecar: Option<Result<Sidecar, String>>,
}

impl Candidate {
    /// A library named directly by the user (`ao plugins info|verify <file>`), outside any
    /// search directory.
    pub fn for_file(path: &Path) -> std::io::Result<Candidate> {
        let path = path.canonicalize()?;
        let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        Ok(Candidate {
            path,
            dir: SearchDir {
                path: parent,
                source: Source::Flag,
            },
            sidecar: None,
        })
    }
}

impl SearchPath {
    /// The search path from flags and the environment.
    pub fn from_env(flag_dirs: &[PathBuf]) -> Self {
        let mut dirs: Vec<SearchDir> = flag_dirs
            .iter()
            .map(|p| SearchDir {
                path: p.clone(),
                source: Source::Flag,
            })
            .collect();
        if let Some(val) = std::env::var_os("AO_PLUGIN_PATH") {
            dirs.extend(
                std::env::split_paths(&val)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|path| SearchDir {
                        path,
                        source: Source::Env,
                    }),
            );
        }
        let no_defaults = std::env::var("AO_NO_DEFAULT_PLUGINS").is_ok_and(|v| v == "1");
        if !no_defaults {
            let cwd = std::env::current_dir().ok();
            if let Some(project) = cwd.as_deref().and_then(trust::find_project_plugin_dir) {
                dirs.push(SearchDir {
                    path: project,
                    source: Source::Project,
                });
            }
            if let Some(user) = paths::user_plugin_dir() {
                dirs.push(SearchDir {
                    path: user,
                    source: Source::User,
                });
            }
            if let Some(exe) = paths::exe_dir() {
                dirs.push(SearchDir {
                    path: exe.join("plugins"),
                    source: Source::Bundled,
                });
                // `.fingerprint` marks a cargo profile directory: its cdylibs are this build's.
                if exe.join(".fingerprint").is_dir() {
                    dirs.push(SearchDir {
                        path: exe,
                        source: Source::Dev,
                    });
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| seen.insert(d.path.clone()));
        SearchPath { dirs }
    }

    /// Every candidate library, in search order. Missing directories are skipped.
    pub fn candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(read) = std::fs::read_dir(&dir.path) else {
                continue;
            };
            let mut entries: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for path in entries {
                let hidden = path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if hidden {
                    // Staging and leftovers of interrupted installs (`.tmp-*`, `.old-*`, `.rm-*`).
                    continue;
                }
                if path.is_dir() {
                    // The installed layout: `<name>/plugin.json` beside the library.
                    let meta = path.join(sidecar::FILE_NAME);
                    if meta.is_file() {
                        out.push(match Sidecar::read(&meta) {
                            Ok(s) => Candidate {
                                path: path.join(&s.library),
                                dir: dir.clone(),
                                sidecar: Some(Ok(s)),
                            },
                            Err(e) => Candidate {
                                path: meta,
                                dir: dir.clone(),
                                sidecar: Some(Err(e.to_string())),
                            },
                        });
                    }
                } else if is_library_name(&path) {
                    out.push(Candidate {
                        path,
                        dir: dir.clone(),
                        sidecar: None,
                    });
                }
            }
        }
        out
    }
}

/// Whether a file name looks like a shared library for this platform.
pub fn is_library_name(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with(DLL_PREFIX)
            && n.ends_with(DLL_SUFFIX)
            && n.len() > DLL_SUFFIX.len() + DLL_PREFIX.len()
    })
}

/// A display name for a library that could not tell its own: `libao_plugin_foo_bar.so` →
/// `foo-bar`.
pub fn name_from_file(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let stem = name.strip_prefix(DLL_PREFIX).unwrap_or(name);
    let stem = stem.strip_suffix(DLL_SUFFIX).unwrap_or(stem);
    let stem = stem.strip_prefix("ao_plugin_").unwrap_or(stem);
    let stem = stem.strip_prefix("ao_").unwrap_or(stem);
    stem.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_file_names_when_nothing_else_is_known() {
        let f = format!("{DLL_PREFIX}ao_plugin_notifier_webhook{DLL_SUFFIX}");
        assert_eq!(name_from_file(Path::new(&f)), "notifier-webhook");
        assert!(is_library_name(Path::new(&f)));
        assert!(!is_library_name(Path::new("plugin.json")));
    }
}

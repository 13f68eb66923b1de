//! Every plugin library on the search path, with a status: what `ao plugins list` shows and what
//! the registry loads from.

use crate::paths;
use crate::plugins::compat::{self, HostCompat};
use crate::plugins::discovery::{self, Candidate, SearchDir, SearchPath, Source};
use crate::plugins::precheck;
use crate::plugins::probe::{self, CachedFacts, FileId, ProbeCache};
use crate::plugins::sidecar::Sidecar;
use crate::plugins::trust::TrustStore;
use ao_plugin_api::manifest::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Whether a library can be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Status {
    /// Loadable.
    Ok,
    /// Loadable in principle, but built for something this `ao` does not speak.
    Incompatible(String),
    /// Refused: not a plugin, corrupt, crashed, changed since install, unsafe permissions.
    Failed(String),
    /// A library earlier on the search path has the same name.
    Shadowed(PathBuf),
}

impl Status {
    /// `ok`, `incompatible: …`, `failed: …`, `shadowed by …`.
    pub fn label(&self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::Incompatible(why) => format!("incompatible: {why}"),
            Status::Failed(why) => format!("failed: {why}"),
            Status::Shadowed(by) => format!("shadowed by {}", by.display()),
        }
    }
}

/// One library and what is known about it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The plugin's name (from its manifest, else its sidecar, else its file name).
    pub name: String,
    /// The library file.
    pub path: PathBuf,
    /// Where it was found.
    pub dir: SearchDir,
    /// Its status.
    pub status: Status,
    /// Its manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// Its install record.
    pub sidecar: Option<Sidecar>,
    /// Its sha256, when the file could be read.
    pub sha256: Option<String>,
    /// The identity the facts above were computed for.
    pub file_id: Option<FileId>,
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The executable that serves `__plugin-shim probe` (normally `ao` itself).
    pub shim: PathBuf,
    /// The probe cache file; `None` probes everything afresh.
    pub cache: Option<PathBuf>,
    /// Where full ABI reports go.
    pub reports: Option<PathBuf>,
    /// Per-library probe timeout.
    pub timeout: Duration,
    /// What the host speaks.
    pub host: HostCompat,
    /// Which project-local libraries may be opened.
    pub trust: TrustStore,
}

impl ScanOptions {
    /// Defaults for the running `ao` executable.
    pub fn for_current_exe() -> Self {
        let cache = paths::cache_dir();
        Self {
            shim: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ao")),
            cache: cache.as_ref().map(|c| c.join("plugin-probes.json")),
            reports: cache.map(|c| c.join("abi-reports")),
            timeout: probe::DEFAULT_TIMEOUT,
            host: HostCompat::current(),
            trust: TrustStore::for_user(),
        }
    }
}

/// All libraries found, in search order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Each library.
    pub entries: Vec<Entry>,
}

/// Probe children run at once: enough to hide process start-up, few enough for 2 cores.
const PARALLEL_PROBES: usize = 4;

impl Catalog {
    /// Finds and checks every library on the search path.
    pub fn scan(search: &SearchPath, opts: &ScanOptions) -> Catalog {
        Self::scan_candidates(search.candidates(), opts)
    }

    /// Checks the given candidates (`verify` and `info` of a single file use it directly).
    pub fn scan_candidates(candidates: Vec<Candidate>, opts: &ScanOptions) -> Catalog {
        let mut cache = ProbeCache::load(opts.cache.clone());
        let mut entries: Vec<Entry> = candidates
            .into_iter()
            .map(|c| first_pass(c, &cache, &opts.trust))
            .collect();

        let todo: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.manifest.is_none() && e.status == Status::Ok)
            .map(|(i, _)| i)
            .collect();
        for chunk in todo.chunks(PARALLEL_PROBES) {
            let results: Vec<(usize, probe::Probed)> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|&i| {
                        let path = entries[i].path.clone();
                        s.spawn(move || {
                            (
                                i,
                                probe::run_child(
                                    &opts.shim,
                                    &path,
                                    opts.timeout,
                                    opts.reports.as_deref(),
                                ),
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("probe thread"))
                    .collect()
            });
            for (i, probed) in results {
                let e = &mut entries[i];
                let cacheable = !matches!(&probed, Err(r) if probe::is_transient(r));
                if let (Some(id), Some(sha), true) = (e.file_id, e.sha256.clone(), cacheable) {
                    cache.put(
                        e.path.clone(),
                        CachedFacts {
                            id,
                            sha256: sha,
                            probed: probed.clone(),
                        },
                    );
                }
                apply_probe(e, probed);
            }
        }
        cache.save();

        for e in &mut entries {
            if e.status == Status::Ok
                && let Some(m) = &e.manifest
                && let Err(why) = compat::check(m, &opts.host)
            {
                e.status = Status::Incompatible(why);
            }
        }
        mark_shadowed(&mut entries);
        Catalog { entries }
    }

    /// The usable entry for a plugin name.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name && e.status == Status::Ok)
    }

    /// Every entry with this name, usable or not, in search order.
    pub fn all_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.name == name)
    }
}

/// Everything that needs no child process: prechecks, checksums and cached probe results.
fn first_pass(c: Candidate, cache: &ProbeCache, trust: &TrustStore) -> Entry {
    let (sidecar, sidecar_error) = match c.sidecar {
        Some(Ok(s)) => (Some(s), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let name = sidecar
        .as_ref()
        .map(|s| s.manifest.name.clone())
        .unwrap_or_else(|| discovery::name_from_file(&c.path));
    let mut e = Entry {
        name,
        path: c.path,
        dir: c.dir,
        status: Status::Ok,
        manifest: None,
        sidecar,
        sha256: None,
        file_id: None,
    };
    if let Some(err) = sidecar_error {
        e.status = Status::Failed(err);
        return e;
    }
    if let Err(why) = precheck::check(&e.path) {
        e.status = Status::Failed(why);
        return e;
    }
    let Ok(id) = FileId::of(&e.path) else {
        e.status = Status::Failed("cannot read its metadata".into());
        return e;
    };
    e.file_id = Some(id);
    let cached = cache.get(&e.path, &id).cloned();
    let sha = match &cached {
        Some(f) => f.sha256.clone(),
        None => match precheck::sha256_file(&e.path) {
            Ok(sha) => sha,
            Err(err) => {
                e.status = Status::Failed(format!("cannot read: {err}"));
                return e;
            }
        },
    };
    e.sha256 = Some(sha.clone());
    // An installed library must be the one that was verified: check before anything opens it.
    if let Some(s) = &e.sidecar
        && s.sha256 != sha
    {
        e.status = Status::Failed(
            "checksum mismatch: the library changed since `ao plugins install`; reinstall it"
                .into(),
        );
        return e;
    }
    // Nothing from a project directory is opened, not even in a child, unless trusted as is.
    if e.dir.source == Source::Project
        && let Err(why) = trust.check(&e.dir.path, &e.path, &sha)
    {
        e.status = Status::Failed(why);
        return e;
    }
    if let Some(f) = cached {
        apply_probe(&mut e, f.probed);
    }
    e
}

fn apply_probe(e: &mut Entry, probed: probe::Probed) {
    match probed {
        Ok(m) => {
            if let Some(s) = &e.sidecar
                && let Err(why) = compat::same_build(&s.manifest, &m)
            {
                e.status = Status::Failed(format!("does not match its plugin.json: {why}"));
            }
            e.name = m.name.clone();
            e.manifest = Some(m);
        }
        Err(why) => e.status = Status::Failed(why),
    }
}

fn mark_shadowed(entries: &mut [Entry]) {
    let mut winners: Vec<(String, PathBuf)> = Vec::new();
    for e in entries.iter_mut() {
        if e.status != Status::Ok {
            continue;
        }
        match winners.iter().find(|(n, _)| *n == e.name) {
            Some((_, by)) => e.status = Status::Shadowed(by.clone()),
            None => winners.push((e.name.clone(), e.path.clone())),
        }
    }
}

/// Whether `path` is the file this entry describes, unchanged.
pub fn unchanged(entry: &Entry, path: &Path) -> bool {
    entry.file_id.is_some() && FileId::of(path).ok() == entry.file_id
}

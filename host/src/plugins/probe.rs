//! Reading a library's manifest in a child process, and remembering the answer.
//!
//! The child is `ao __plugin-shim probe <lib>`: it opens the library, prints one JSON line and
//! exits. A library that aborts, segfaults or hangs while loading costs the child, not `ao`.
//! Answers are cached by file identity (length, mtime, inode), so `ao plugins list` only spawns
//! children for libraries it has not seen in their current form.

use crate::plugins::loader;
use ao_plugin_api::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a library may take to open before the child is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// What the child prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeReply {
    /// Opened; here is its manifest.
    Loaded {
        /// The manifest.
        manifest: Manifest,
    },
    /// Refused.
    Refused {
        /// One line.
        reason: String,
        /// abi_stable's full report, if any.
        #[serde(default)]
        report: Option<String>,
    },
}

/// The child's side: open `path` and describe the result. Runs inside `ao __plugin-shim`.
pub fn child_main(path: &Path) -> ProbeReply {
    match loader::open(path) {
        Ok((_, manifest)) => ProbeReply::Loaded { manifest },
        Err(e) => ProbeReply::Refused {
            reason: e.summary,
            report: e.report,
        },
    }
}

/// A probe's result as the parent sees it: the manifest, or one line.
pub type Probed = Result<Manifest, String>;

const HUNG: &str = "hung while loading";

/// Whether a failed probe may succeed if tried again (it timed out, perhaps under load), and so
/// must not be cached.
pub fn is_transient(reason: &str) -> bool {
    reason.starts_with(HUNG)
}

/// Runs the probe child and interprets how it ended.
///
/// The child leads a process group of its own, killed whole once it has answered: a library
/// may start processes as it is opened (a constructor that forks), and those must neither
/// outlive the probe nor hold its pipes open (the probe waits for the child's exit, not for
/// the end of its output, which such a process would delay for ever).
pub fn run_child(shim: &Path, path: &Path, timeout: Duration, reports: Option<&Path>) -> Probed {
    let mut child = Command::new(shim)
        .arg("__plugin-shim")
        .arg("probe")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the probe process {}: {e}", shim.display()))?;
    let group = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let _ = tx.send((out, err));
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done_rx.recv_timeout(timeout);
    crate::proc::kill_group(group);
    let status = match status {
        Ok(s) => s.map_err(|e| format!("lost the probe process: {e}"))?,
        Err(_) => return Err(format!("{HUNG} (killed after {}s)", timeout.as_secs())),
    };
    // The group is gone, so the pipes close; a reader still blocked has lost nothing.
    let (out, err) = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    if let Some(reply) = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ProbeReply>(l).ok())
    {
        return match reply {
            ProbeReply::Loaded { manifest } => Ok(manifest),
            ProbeReply::Refused { reason, report } => Err(match (report, reports) {
                (Some(report), Some(dir)) => match save_report(dir, path, &report) {
                    Some(file) => format!("{reason} (details: {})", file.display()),
                    None => reason,
                },
                _ => reason,
            }),
        };
    }
    let last_err = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(match describe_exit(&status) {
        Some(how) => format!("crashed while loading ({how})"),
        None if last_err.is_empty() => format!("the probe process failed ({status})"),
        None => format!("the probe process failed: {last_err}"),
    })
}

/// `signal 6, SIGABRT` when a process was killed by a signal.
#[cfg(unix)]
pub(crate) fn describe_exit(status: &std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let sig = status.signal()?;
    let name = match sig {
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        _ => "",
    };
    Some(if name.is_empty() {
        format!("signal {sig}")
    } else {
        format!("signal {sig}, {name}")
    })
}

#[cfg(not(unix))]
pub(crate) fn describe_exit(_: &std::process::ExitStatus) -> Option<String> {
    None
}

fn save_report(dir: &Path, lib: &Path, report: &str) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let stem = lib.file_name()?.to_string_lossy().into_owned();
    let file = dir.join(format!("{stem}.abi-report.txt"));
    std::fs::write(&file, report).ok()?;
    Some(file)
}

/// A file's identity: if any of these change, cached facts about it are stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    len: u64,
    mtime_ns: i128,
    ino: u64,
}

impl FileId {
    /// Reads the identity of a file.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let m = std::fs::metadata(path)?;
        let mtime_ns = m
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let ino = 0;
        Ok(Self {
            len: m.len(),
            mtime_ns,
            ino,
        })
    }
}

/// What the cache remembers about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFacts {
    /// The identity the facts belong to.
    pub id: FileId,
    /// Its sha256.
    pub sha256: String,
    /// The probe result.
    pub probed: Probed,
}

/// The probe cache, a JSON file in the cache dir. A missing or corrupt cache is an empty one.
#[derive(Debug, Default)]
pub struct ProbeCache {
    file: Option<PathBuf>,
    entries: BTreeMap<PathBuf, CachedFacts>,
    dirty: bool,
}

impl ProbeCache {
    /// Loads the cache at `file` (or an in-memory cache when `None`).
    pub fn load(file: Option<PathBuf>) -> Self {
        let entries = file
            .as_deref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            file,
            entries,
            dirty: false,
        }
    }

    /// Facts for `path` if they are still about the file as it is now.
    pub fn get(&self, path: &Path, id: &FileId) -> Option<&CachedFacts> {
        self.entries.get(path).filter(|f| f.id == *id)
    }

    /// Records facts.
    pub fn put(&mut self, path: PathBuf, facts: CachedFacts) {
        self.entries.insert(path, facts);
        self.dirty = true;
    }

    /// Writes the cache back (temp file + rename), if it changed. Failure only costs speed.
    pub fn save(&mut self) {
        let Some(file) = &self.file else { return };
        if !self.dirty {
            return;
        }
        // Forget files that no longer exist, so the cache does not grow forever.
        self.entries.retain(|p, _| p.exists());
        let Some(dir) = file.parent() else { return };
        let _ = std::fs::create_dir_all(dir);
        let Ok(json) = serde_json::to_vec(&self.entries) else {
            return;
        };
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if tmp.write_all(&json).is_ok() && tmp.persist(file).is_ok() {
                self.dirty = false;
            }
        }
    }
}

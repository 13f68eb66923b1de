//! Reading and writing one metadata file safely (see the invariant in [`crate::store`]).

use crate::Error;
use crate::store::kv::{self, Corrupt};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a metadata file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// No file.
    Missing,
    /// An empty file: an id reserved by a spawn that has not written its metadata yet.
    Reserved,
    /// Key=value pairs.
    Pairs(Vec<(String, String)>),
    /// Not valid metadata; never overwritten silently.
    Corrupt(Corrupt),
}

/// Reads a metadata file without locking (renames make every read see a whole file).
pub fn read(path: &Path) -> Result<Contents, Error> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contents::Missing),
        Err(e) => Err(Error::io("could not read", path, e)),
        Ok(bytes) if bytes.is_empty() => Ok(Contents::Reserved),
        Ok(bytes) => Ok(match String::from_utf8(bytes) {
            Err(_) => Contents::Corrupt(Corrupt {
                line: None,
                reason: "not UTF-8".into(),
            }),
            Ok(text) => match kv::parse(&text) {
                Ok(pairs) => Contents::Pairs(pairs),
                Err(c) => Contents::Corrupt(c),
            },
        }),
    }
}

/// The lock file beside a metadata file.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Holds the exclusive lock of one metadata file until dropped.
pub struct Locked {
    file: File,
}

impl Drop for Locked {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Takes the writer lock of `path`, waiting for another writer to finish.
pub fn lock(path: &Path) -> Result<Locked, Error> {
    let lp = lock_path(path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lp)
        .map_err(|e| Error::io("could not open the lock", &lp, e))?;
    // flock(2) on Unix: the kernel drops it if the holder dies, so a lock is never stale.
    file.lock()
        .map_err(|e| Error::io("could not lock", &lp, e))?;
    Ok(Locked { file })
}

/// Replaces `path` with `pairs`: temp file, fsync, rename, fsync of the directory.
/// The caller holds the lock.
pub fn replace(path: &Path, pairs: &[(String, String)], _held: &Locked) -> Result<(), Error> {
    write_atomic(path, kv::render(pairs).as_bytes())
}

/// Writes a whole file so readers see the old or the new one, never a mix: temp file, fsync,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("could not create a temp file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io("could not write", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("could not replace", path, e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Read-modify-write under the lock. `f` gets the current pairs (`None` when missing or merely
/// reserved) and returns the new ones, or `None` to leave the file as it is. A corrupt file is
/// refused, not overwritten.
pub fn update(
    path: &Path,
    f: impl FnOnce(Option<Vec<(String, String)>>) -> Result<Option<Vec<(String, String)>>, Error>,
) -> Result<(), Error> {
    let held = lock(path)?;
    let current = match read(path)? {
        Contents::Missing | Contents::Reserved => None,
        Contents::Pairs(p) => Some(p),
        Contents::Corrupt(c) => {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: c.to_string(),
            });
        }
    };
    if let Some(next) = f(current)? {
        replace(path, &next, &held)?;
    }
    Ok(())
}

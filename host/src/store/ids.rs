//! Session ids: `{sessionPrefix}-{n}`, reserved by creating the metadata file with O_EXCL, so
//! parallel spawns (threads or processes) never get the same id. Numbers are never reused:
//! archived sessions count too.

use crate::Error;
use std::path::Path;

/// How many numbers to try before giving up (only reachable if something else creates files).
const MAX_TRIES: u64 = 10_000;

/// Whether `s` is a safe session-prefix or id component: `[A-Za-z0-9_-]+`.
pub fn valid_component(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The `n` of `{prefix}-{n}`, if `name` is one (archive names `{id}-{ts}` count as their id).
fn number_of(prefix: &str, name: &str) -> Option<u64> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let digits: &str = rest.split('-').next()?;
    digits.parse().ok()
}

fn highest(prefix: &str, dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| number_of(prefix, &e.file_name().to_string_lossy()))
        .max()
        .unwrap_or(0)
}

/// Reserves the next free id in `sessions_dir`, creating an empty metadata file for it.
pub fn reserve(sessions_dir: &Path, archive_dir: &Path, prefix: &str) -> Result<String, Error> {
    if !valid_component(prefix) {
        return Err(Error::Invalid(format!(
            "session prefix `{prefix}` may only contain letters, digits, `_` and `-`"
        )));
    }
    crate::paths::private_dir_all(sessions_dir)
        .map_err(|e| Error::io("could not create", sessions_dir, e))?;
    let mut n = highest(prefix, sessions_dir).max(highest(prefix, archive_dir)) + 1;
    for _ in 0..MAX_TRIES {
        let id = format!("{prefix}-{n}");
        let path = sessions_dir.join(&id);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(id),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(Error::io("could not reserve", &path, e)),
        }
    }
    Err(Error::Invalid(format!(
        "no free session id for prefix `{prefix}` after {MAX_TRIES} tries"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_continue_after_live_and_archived_sessions() {
        let root = tempfile::tempdir().unwrap();
        let (s, a) = (root.path().join("sessions"), root.path().join("archive"));
        assert_eq!(reserve(&s, &a, "app").unwrap(), "app-1");
        assert_eq!(reserve(&s, &a, "app").unwrap(), "app-2");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("app-7-20261124T000000Z"), "").unwrap();
        assert_eq!(reserve(&s, &a, "app").unwrap(), "app-8");
        // Another project's prefix that starts the same way does not count.
        std::fs::write(s.join("apple-40"), "").unwrap();
        assert_eq!(reserve(&s, &a, "app").unwrap(), "app-9");
        assert!(reserve(&s, &a, "bad/prefix").is_err());
    }

    #[test]
    fn threads_racing_get_distinct_ids() {
        let root = tempfile::tempdir().unwrap();
        let (s, a) = (root.path().join("sessions"), root.path().join("archive"));
        let ids: Vec<String> = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..16)
                .map(|_| scope.spawn(|| reserve(&s, &a, "x").unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 16);
    }
}

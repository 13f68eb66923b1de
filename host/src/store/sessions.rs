//! Session operations on a [`ProjectStore`]: reserve, write, update, list, archive.

use crate::Error;
use crate::store::metadata::{self, Contents};
use crate::store::session::Session;
use crate::store::{ProjectStore, ids};
use std::path::PathBuf;

/// One entry of a listing. A bad file is reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub enum Listed {
    /// A readable session.
    Session(Box<Session>),
    /// An id reserved by a spawn still in progress (or one that died before writing).
    Reserved {
        /// The id.
        id: String,
    },
    /// A file that is not valid metadata.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl ProjectStore {
    /// Reserves the next `{prefix}-{n}`.
    pub fn reserve_id(&self, prefix: &str) -> Result<String, Error> {
        ids::reserve(&self.sessions_dir(), &self.archive_dir(), prefix)
    }

    fn session_path(&self, id: &str) -> Result<PathBuf, Error> {
        if !ids::valid_component(id) {
            return Err(Error::Invalid(format!("`{id}` is not a session id")));
        }
        Ok(self.sessions_dir().join(id))
    }

    /// Writes a whole session (under its lock).
    pub fn write_session(&self, s: &Session) -> Result<(), Error> {
        let path = self.session_path(&s.id)?;
        let held = metadata::lock(&path)?;
        metadata::replace(&path, &s.to_pairs(), &held)
    }

    /// Read-modify-write of one session under its lock.
    pub fn update_session(&self, id: &str, f: impl FnOnce(&mut Session)) -> Result<Session, Error> {
        let path = self.session_path(id)?;
        let mut result = None;
        metadata::update(&path, |current| {
            let pairs = current.ok_or_else(|| Error::Invalid(format!("no session `{id}`")))?;
            let mut s = Session::from_pairs(id, pairs).map_err(|reason| Error::Corrupt {
                path: path.clone(),
                reason,
            })?;
            let before = s.clone();
            f(&mut s);
            // A tick re-observes every session; when nothing but the time of observation
            // changed, the file is left alone (500 sessions must not mean 500 fsyncs a tick).
            let out = (!s.same_but_observed(&before)).then(|| s.to_pairs());
            result = Some(s);
            Ok(out)
        })?;
        Ok(result.expect("set by the update"))
    }

    /// One session; `Ok(None)` when there is no such file (or only a reservation).
    pub fn session(&self, id: &str) -> Result<Option<Session>, Error> {
        let path = self.session_path(id)?;
        match metadata::read(&path)? {
            Contents::Missing | Contents::Reserved => Ok(None),
            Contents::Corrupt(c) => Err(Error::Corrupt {
                path,
                reason: c.to_string(),
            }),
            Contents::Pairs(p) => Session::from_pairs(id, p)
                .map(Some)
                .map_err(|reason| Error::Corrupt { path, reason }),
        }
    }

    /// Every session file, sorted by id number; bad files are listed as such.
    pub fn list_sessions(&self) -> Result<Vec<Listed>, Error> {
        let mut out = Vec::new();
        self.each_session(|l| out.push(l))?;
        Ok(out)
    }

    /// [`Self::list_sessions`] one entry at a time, for a caller that keeps only part of each
    /// session: a tick over 1,000 sessions need not hold 1,000 whole sessions at once.
    pub fn each_session(&self, mut visit: impl FnMut(Listed)) -> Result<(), Error> {
        let dir = self.sessions_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("could not read", &dir, e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| ids::valid_component(n) && !n.starts_with('.'))
            .collect();
        ids.sort_by_key(|id| {
            (
                id.rsplit_once('-').and_then(|(_, n)| n.parse::<u64>().ok()),
                id.clone(),
            )
        });
        for id in ids {
            let path = dir.join(&id);
            // A file that cannot be read (a directory where a session should be, a file
            // without permission) is reported as such; it never hides the others.
            let contents = match metadata::read(&path) {
                Ok(c) => c,
                Err(e) => {
                    visit(Listed::Corrupt {
                        reason: match e {
                            Error::Io { why, .. } => why.to_string(),
                            other => other.to_string(),
                        },
                        path,
                    });
                    continue;
                }
            };
            visit(match contents {
                Contents::Missing => continue,
                Contents::Reserved => Listed::Reserved { id },
                Contents::Corrupt(c) => Listed::Corrupt {
                    path,
                    reason: c.to_string(),
                },
                Contents::Pairs(p) => match Session::from_pairs(&id, p) {
                    Ok(s) => Listed::Session(Box::new(s)),
                    Err(reason) => Listed::Corrupt { path, reason },
                },
            });
        }
        Ok(())
    }

    /// Moves a session's metadata to `archive/{id}-{ts}` (the id is never reused).
    pub fn archive_session(&self, id: &str, now_ms: u64) -> Result<PathBuf, Error> {
        let path = self.session_path(id)?;
        let _held = metadata::lock(&path)?;
        let archive = self.archive_dir();
        std::fs::create_dir_all(&archive)
            .map_err(|e| Error::io("could not create", &archive, e))?;
        let dest = archive.join(format!("{id}-{now_ms}"));
        std::fs::rename(&path, &dest).map_err(|e| Error::io("could not archive", &path, e))?;
        let _ = std::fs::remove_file(metadata::lock_path(&path));
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::session::Status;

    #[test]
    fn reserve_write_update_list_archive() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProjectStore::at(dir.path().to_path_buf());
        let id = store.reserve_id("app").unwrap();
        assert_eq!(
            store.list_sessions().unwrap(),
            vec![Listed::Reserved { id: id.clone() }]
        );
        store.write_session(&Session::new(&id, "app", 10)).unwrap();
        let s = store
            .update_session(&id, |s| s.status = Status::Working)
            .unwrap();
        assert_eq!(s.status, Status::Working);
        assert_eq!(store.session(&id).unwrap().unwrap().status, Status::Working);

        std::fs::write(store.sessions_dir().join("app-9"), "garbage").unwrap();
        let listed = store.list_sessions().unwrap();
        assert!(
            matches!(&listed[1], Listed::Corrupt { reason, .. } if reason == "truncated: no newline at the end")
        );
        // An update never overwrites a corrupt file.
        assert!(matches!(
            store.update_session("app-9", |_| {}),
            Err(Error::Corrupt { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(store.sessions_dir().join("app-9")).unwrap(),
            "garbage"
        );

        store.archive_session(&id, 99).unwrap();
        assert!(store.session(&id).unwrap().is_none());
        assert!(store.archive_dir().join(format!("{id}-99")).is_file());
        assert_eq!(store.reserve_id("app").unwrap(), "app-10");
    }
}

//! The spawn journal: what a spawn has made so far, on disk, so that a spawn killed outright
//! (SIGKILL, a crash, a lost terminal) is undone by the next `ao` command or the daemon.
//!
//! `{store}/spawning/{id}.jsonl` holds one [`Step`] per line, appended and synced *before* the
//! step is taken (an intent) and again once it is done, with what undoing it needs. The spawn
//! holds an exclusive flock on the file for its whole life; the kernel drops it when the
//! process dies, however it dies, so a free lock means a gone spawn (no pid that could be
//! reused). [`recover`] undoes such a journal in reverse and removes it; a step that could not
//! be undone stays, to be tried again. A reservation with no journal (the spawn died between
//! reserving its id and opening the journal) is released once it is older than a minute.

use crate::Error;
use crate::config::Project;
use crate::fleet::Fleet;
use crate::store::ProjectStore;
use ao_plugin_api::slots::runtime::{
    HandleRequest, LIST_SESSIONS, ListSessionsRequest, RuntimeHandle,
};
use ao_plugin_api::slots::workspace::DestroyRequest;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A reservation without a journal is a dead spawn's once it is this old: a live spawn opens
/// its journal right after reserving.
const ORPHAN_RESERVATION_AGE: Duration = Duration::from_secs(60);

/// One thing a spawn made (or was about to make).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The session's id (an empty metadata file), later its metadata.
    Session {
        /// The session id.
        id: String,
    },
    /// About to make the workspace at `path` (`{root}/{session}`, the slot's contract).
    WorkspaceIntent {
        /// Where it goes.
        path: String,
        /// The plugin's root.
        root: String,
        /// The project's checkout.
        repo_path: String,
        /// The branch asked for.
        branch: String,
    },
    /// The workspace, as destroy needs it.
    Workspace {
        /// Destroys it (and the branch it made).
        request: DestroyRequest,
    },
    /// A file the spawn wrote.
    File {
        /// Its path.
        path: PathBuf,
    },
    /// About to start runtime session `name` on runtime plugin `runtime`.
    RuntimeIntent {
        /// The runtime plugin.
        runtime: String,
        /// The runtime's name for the session.
        name: String,
    },
    /// The runtime session.
    Runtime {
        /// Its handle.
        handle: RuntimeHandle,
    },
}

/// Appends `step`; a step that completes the intent just before it replaces that intent.
fn push(steps: &mut Vec<Step>, step: Step) {
    let completes = matches!(
        (steps.last(), &step),
        (Some(Step::WorkspaceIntent { .. }), Step::Workspace { .. })
            | (Some(Step::RuntimeIntent { .. }), Step::Runtime { .. })
    );
    if completes {
        steps.pop();
    }
    steps.push(step);
}

fn dir(store: &ProjectStore) -> PathBuf {
    store.root().join("spawning")
}

/// A live spawn's journal, locked for as long as this value lives.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    steps: Vec<Step>,
}

impl Journal {
    /// Opens the journal of the spawn that reserved `id`; its first step is the reservation.
    pub fn begin(store: &ProjectStore, id: &str) -> Result<Journal, Error> {
        let dir = dir(store);
        crate::paths::private_dir_all(&dir).map_err(|e| Error::io("could not create", &dir, e))?;
        let path = dir.join(format!("{id}.jsonl"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("could not create the spawn journal", &path, e))?;
        // Nobody else can hold it yet: the file is new and its name is our reserved id.
        file.try_lock()
            .map_err(|e| Error::io("could not lock", &path, std::io::Error::other(e)))?;
        let mut j = Journal {
            path,
            file,
            steps: Vec::new(),
        };
        j.record(Step::Session { id: id.to_string() })?;
        Ok(j)
    }

    /// Writes `step` to disk (synced) before the caller acts on it.
    pub fn record(&mut self, step: Step) -> Result<(), Error> {
        let mut line = serde_json::to_string(&step).expect("a step serialises");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io("could not write the spawn journal", &self.path, e))?;
        push(&mut self.steps, step);
        Ok(())
    }

    /// What was made, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The spawn is complete: nothing is left to undo.
    pub fn finish(self) {
        remove_journal(&self.path);
    }

    /// Undoes every step (see [`undo`]); keeps the ones that failed for the next `ao`.
    pub async fn roll_back(self, fleet: &Fleet, p: &Project) -> Vec<Outcome> {
        let Journal {
            path,
            mut file,
            steps,
        } = self;
        let outcomes = undo(fleet, p, steps).await;
        settle(&path, &mut file, &outcomes);
        outcomes
    }
}

/// What undoing one step did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Undone; worth telling the user (None: a detail, like a prompt file).
    Undone(Option<String>),
    /// Could not be undone; kept in the journal.
    Failed(Step, String),
    /// Nothing ao can check; told, not retried.
    Unknown(String),
}

/// Keeps the failed steps in the journal (rewritten in place, under the lock we hold), or
/// removes it when everything was undone.
fn settle(path: &Path, file: &mut File, outcomes: &[Outcome]) {
    let failed: Vec<&Step> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed(s, _) => Some(s),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        remove_journal(path);
        return;
    }
    // Undo runs in reverse; the journal keeps the making order.
    let text: String = failed
        .iter()
        .rev()
        .map(|s| serde_json::to_string(s).expect("a step serialises") + "\n")
        .collect();
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_data());
    if let Err(e) = written {
        tracing::warn!(
            "could not rewrite the spawn journal {}: {e}",
            path.display()
        );
    }
}

fn remove_journal(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("could not remove the spawn journal {}: {e}", path.display());
    }
}

/// Undoes `steps` in reverse. Every undo tolerates "already gone".
pub async fn undo(fleet: &Fleet, p: &Project, steps: Vec<Step>) -> Vec<Outcome> {
    let store = fleet.store(&p.id);
    let mut out = Vec::new();
    for step in steps.into_iter().rev() {
        let result = undo_one(fleet, p, &store, &step).await;
        out.push(match result {
            Ok(o) => o,
            Err(e) => Outcome::Failed(step, e.to_string()),
        });
    }
    out
}

async fn undo_one(
    fleet: &Fleet,
    p: &Project,
    store: &ProjectStore,
    step: &Step,
) -> Result<Outcome, Error> {
    Ok(match step {
        Step::Runtime { handle } => {
            let rt = fleet.runtime(p, &handle.runtime).await?;
            rt.destroy(&HandleRequest {
                handle: handle.clone(),
            })
            .await?;
            Outcome::Undone(Some(format!("stopped runtime session {}", handle.id)))
        }
        Step::RuntimeIntent { runtime, name } => {
            let rt = fleet.runtime(p, runtime).await?;
            if !rt.implements(LIST_SESSIONS) {
                return Ok(Outcome::Unknown(format!(
                    "runtime/{runtime} cannot list its sessions: if `{name}` exists, stop it \
                     yourself"
                )));
            }
            let listed = rt
                .list_sessions(&ListSessionsRequest {
                    prefix: name.clone(),
                })
                .await?;
            match listed.sessions.into_iter().find(|s| s.handle.id == *name) {
                Some(s) => {
                    rt.destroy(&HandleRequest { handle: s.handle }).await?;
                    Outcome::Undone(Some(format!("stopped runtime session {name}")))
                }
                None => Outcome::Undone(None),
            }
        }
        Step::Workspace { request } => {
            let ws = fleet.workspace(p).await?;
            let done = ws.destroy(request).await?;
            Outcome::Undone(done.removed.then(|| {
                let mut s = format!("removed workspace {}", request.path);
                if !done.detail.is_empty() {
                    s.push_str(&format!(" ({})", done.detail));
                }
                s
            }))
        }
        Step::WorkspaceIntent {
            path,
            root,
            repo_path,
            branch,
        } => {
            // Killed while the workspace was being made: whether this spawn made the branch
            // is not known, so the branch is kept and the user told.
            let ws = fleet.workspace(p).await?;
            let done = ws
                .destroy(&DestroyRequest {
                    path: path.clone(),
                    root: root.clone(),
                    repo_path: repo_path.clone(),
                    force: true,
                    delete_branch: None,
                })
                .await?;
            if done.removed {
                Outcome::Undone(Some(format!(
                    "removed workspace {path}; branch `{branch}` kept: the spawn died while \
                     making it, so ao cannot tell whether the branch is new (delete it with \
                     `git branch -D {branch}` if it is)"
                )))
            } else {
                Outcome::Undone(None)
            }
        }
        Step::File { path } => {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("could not remove", path, e));
                }
                _ => {}
            }
            Outcome::Undone(None)
        }
        Step::Session { id } => {
            let path = store.sessions_dir().join(id);
            let _ = std::fs::remove_file(crate::store::metadata::lock_path(&path));
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("could not remove", path, e));
                }
                Err(_) => Outcome::Undone(None),
                Ok(()) => Outcome::Undone(Some(format!("released session id {id}"))),
            }
        }
    })
}

/// A half-made spawn found and undone.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The project.
    pub project: String,
    /// The session id the spawn had reserved.
    pub session: String,
    /// What undoing it did.
    pub outcomes: Vec<Outcome>,
}

impl Recovered {
    /// One line for the user.
    pub fn describe(&self) -> String {
        let mut did = Vec::new();
        let mut problems = Vec::new();
        for o in &self.outcomes {
            match o {
                Outcome::Undone(Some(s)) => did.push(s.clone()),
                Outcome::Undone(None) => {}
                Outcome::Failed(_, e) => problems.push(format!("could not undo: {e}")),
                Outcome::Unknown(s) => problems.push(s.clone()),
            }
        }
        let mut line = format!(
            "{}: undid an interrupted spawn ({})",
            self.session,
            if did.is_empty() {
                "nothing had been made yet".to_string()
            } else {
                did.join("; ")
            }
        );
        if !problems.is_empty() {
            line.push_str(&format!(
                "; warning: {} (ao tries again next time)",
                problems.join("; ")
            ));
        }
        line
    }
}

/// Undoes every spawn whose process is gone, in every project, and releases reservations no
/// spawn owns. Cheap when there is nothing to do: one directory read per project.
pub async fn recover(fleet: &Fleet) -> Vec<Recovered> {
    let mut out = Vec::new();
    for p in fleet.config.projects.values() {
        out.extend(recover_project(fleet, p).await);
    }
    out
}

/// [`recover`] for one project.
pub async fn recover_project(fleet: &Fleet, p: &Project) -> Vec<Recovered> {
    let mut out = Vec::new();
    let store = fleet.store(&p.id);
    for path in journals(&store) {
        let Some((file, steps)) = claim(&path) else {
            continue;
        };
        let session = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let j = Journal { path, file, steps };
        let outcomes = j.roll_back(fleet, p).await;
        tracing::warn!(project = %p.id, session, "undid an interrupted spawn");
        out.push(Recovered {
            project: p.id.clone(),
            session,
            outcomes,
        });
    }
    for id in orphan_reservations(&store) {
        // The same undo as a journal's first step.
        let outcomes = undo(fleet, p, vec![Step::Session { id: id.clone() }]).await;
        out.push(Recovered {
            project: p.id.clone(),
            session: id,
            outcomes,
        });
    }
    out
}

/// The sessions whose spawn died half-way (journal lock free), without undoing anything:
/// what a dry run reports.
pub fn dead(fleet: &Fleet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in fleet.config.projects.keys() {
        for path in journals(&fleet.store(p)) {
            // Claimed and let go at once: the lock only tells that no spawn holds it.
            if claim(&path).is_some()
                && let Some(id) = path.file_stem()
            {
                out.push((p.clone(), id.to_string_lossy().into_owned()));
            }
        }
    }
    out
}

fn journals(store: &ProjectStore) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir(store)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    out.sort();
    out
}

/// The journal at `path` with its steps, locked, when its spawn is gone.
fn claim(path: &Path) -> Option<(File, Vec<Step>)> {
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    // Held: its spawn is running (or another ao is undoing it).
    file.try_lock().ok()?;
    // Removed (and perhaps made again) between our open and our lock: not ours to judge.
    let same = std::fs::metadata(path)
        .ok()
        .zip(file.metadata().ok())
        .is_some_and(|(a, b)| a.ino() == b.ino() && a.dev() == b.dev());
    if !same {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let mut steps = Vec::new();
    // A line cut by the kill is an intent whose step never started: skipped.
    for line in bytes.split(|b| *b == b'\n') {
        if let Ok(step) = serde_json::from_slice::<Step>(line) {
            push(&mut steps, step);
        }
    }
    Some((file, steps))
}

/// Empty metadata files (reserved ids) with no journal, older than a live spawn's would be.
fn orphan_reservations(store: &ProjectStore) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(store.sessions_dir()) else {
        return Vec::new();
    };
    let journals = dir(store);
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !crate::store::ids::valid_component(&name) {
                return None;
            }
            let meta = e.metadata().ok()?;
            let old = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= ORPHAN_RESERVATION_AGE);
            (meta.is_file()
                && meta.len() == 0
                && old
                && !journals.join(format!("{name}.jsonl")).exists())
            .then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_step_replaces_its_intent_and_a_torn_line_is_skipped() {
        let root = tempfile::tempdir().unwrap();
        let store = ProjectStore::new(root.path(), "abc", "app");
        let mut j = Journal::begin(&store, "app-1").unwrap();
        j.record(Step::RuntimeIntent {
            runtime: "tmux".into(),
            name: "x-app-1".into(),
        })
        .unwrap();
        let handle = RuntimeHandle {
            id: "x-app-1".into(),
            runtime: "tmux".into(),
            data: serde_json::Value::Null,
        };
        j.record(Step::Runtime {
            handle: handle.clone(),
        })
        .unwrap();
        assert_eq!(
            j.steps(),
            &[
                Step::Session { id: "app-1".into() },
                Step::Runtime {
                    handle: handle.clone()
                }
            ]
        );
        // A second ao cannot claim it while the spawn lives.
        let path = dir(&store).join("app-1.jsonl");
        assert!(claim(&path).is_none());
        // The spawn dies mid-write of an intent.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"step\":\"file\",\"pa")
            .unwrap();
        drop(j);
        let (_f, steps) = claim(&path).unwrap();
        assert_eq!(steps.len(), 2, "{steps:?}");
    }

    #[test]
    fn only_old_reservations_without_a_journal_are_orphans() {
        let root = tempfile::tempdir().unwrap();
        let store = ProjectStore::new(root.path(), "abc", "app");
        let sessions = store.sessions_dir();
        std::fs::create_dir_all(&sessions).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(120);
        for (name, body) in [("app-1", ""), ("app-2", ""), ("app-3", "status=working\n")] {
            std::fs::write(sessions.join(name), body).unwrap();
            let f = OpenOptions::new()
                .write(true)
                .open(sessions.join(name))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        File::create(sessions.join("app-4")).unwrap(); // fresh: its spawn may be opening it
        let _j = Journal::begin(&store, "app-2").unwrap(); // a live spawn's
        assert_eq!(orphan_reservations(&store), vec!["app-1".to_string()]);
    }
}

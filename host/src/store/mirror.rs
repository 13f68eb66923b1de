//! The host's copy of the agent records a session keeps inside its container or pod
//! (`<data>/mirror/<session>/<path inside>`, protocol 1.3): appended from what the tick's probe
//! brought, from the offset the copy holds (each byte crosses once), and put back into a new
//! container or pod on a restore. Nothing is written outside a session's own directory.

use ao_plugin_api::slots::runtime::{FileChunk, FileCopy, RuntimeHandle};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

/// The largest record put back into a new container or pod on a restore.
const MAX_COPY: u64 = 64 << 20;

/// On a restore, what the host holds of the session's records, to put back where its agent
/// reads them in the new container or pod: everything but what lies in the workspace (a clone
/// kept in its volume has newer bytes than the copy).
pub fn copies(root: &Path, old: Option<&RuntimeHandle>) -> Vec<FileCopy> {
    let Some((workspace, _)) = old.and_then(RuntimeHandle::inside) else {
        return Vec::new();
    };
    have(root)
        .into_iter()
        .filter(|(path, _)| !Path::new(path).starts_with(workspace))
        .filter(|(path, size)| {
            let fits = *size <= MAX_COPY;
            if !fits {
                tracing::warn!("{path} ({size} bytes) is not put back: over {MAX_COPY} bytes");
            }
            fits
        })
        .filter_map(|(path, _)| {
            Some(FileCopy {
                host: root.join(plain(&path)?).display().to_string(),
                path,
            })
        })
        .collect()
}

/// A new session under an id that was used before starts with no records of the old one.
pub fn forget(root: &Path) {
    if let Err(e) = std::fs::remove_dir_all(root)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!("could not clear {}: {e}", root.display());
    }
}

/// `path` inside the session as a relative path under the copy's root; `None` for anything
/// but a plain absolute path (a `..` would write outside the copy).
pub fn plain(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if !p.is_absolute() || path.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(n) => out.push(n),
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The bytes held of each file, by its path inside the session.
pub fn have(root: &Path) -> BTreeMap<String, u64> {
    fn walk(dir: &Path, root: &Path, depth: u32, out: &mut BTreeMap<String, u64>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            let path = e.path();
            if meta.is_dir() && depth < 16 {
                walk(&path, root, depth + 1, out);
            } else if meta.is_file()
                && let Ok(rel) = path.strip_prefix(root)
            {
                out.insert(format!("/{}", rel.display()), meta.len());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, 0, &mut out);
    out
}

/// Appends what the probe brought. A chunk that does not start where the copy ends (a file
/// replaced inside, or a copy that changed since the request) rewrites from its offset; one
/// that would leave a gap, or names a path outside, is skipped. The bytes written.
pub fn apply(root: &Path, chunks: &[FileChunk]) -> std::io::Result<u64> {
    let mut written = 0;
    for c in chunks {
        let Some(rel) = plain(&c.path) else {
            tracing::warn!("mirror: refused the path {:?}", c.path);
            continue;
        };
        let Ok(data) = base64::engine::general_purpose::STANDARD.decode(&c.data_b64) else {
            tracing::warn!("mirror: {} came garbled", c.path);
            continue;
        };
        let local = root.join(rel);
        if let Some(dir) = local.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&local)?;
        let len = f.metadata()?.len();
        if c.offset > len {
            continue;
        }
        if c.offset < len {
            f.set_len(c.offset)?;
        }
        f.seek(SeekFrom::Start(c.offset))?;
        f.write_all(&data)?;
        written += data.len() as u64;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(path: &str, offset: u64, data: &[u8]) -> FileChunk {
        FileChunk {
            path: path.into(),
            size: offset + data.len() as u64,
            offset,
            data_b64: base64::engine::general_purpose::STANDARD.encode(data),
        }
    }

    #[test]
    fn chunks_append_rewrite_a_replaced_file_and_never_leave_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app-1");
        let n = apply(
            &root,
            &[
                piece("/root/.claude/p/a.jsonl", 0, b"one\n"),
                piece("/ws/.aider.chat.history.md", 0, b"# hi\n"),
            ],
        )
        .unwrap();
        assert_eq!(n, 9);
        apply(&root, &[piece("/root/.claude/p/a.jsonl", 4, b"two\n")]).unwrap();
        let a = root.join("root/.claude/p/a.jsonl");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "one\ntwo\n");
        assert_eq!(
            have(&root),
            BTreeMap::from([
                ("/root/.claude/p/a.jsonl".to_string(), 8),
                ("/ws/.aider.chat.history.md".to_string(), 5),
            ])
        );
        // Replaced inside: from the start again.
        apply(&root, &[piece("/root/.claude/p/a.jsonl", 0, b"new\n")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new\n");
        // A gap is not filled with guesses; a path out of the root is not written.
        apply(&root, &[piece("/root/.claude/p/a.jsonl", 100, b"x")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new\n");
        apply(
            &root,
            &[piece("/root/../../escape", 0, b"x"), piece("rel", 0, b"x")],
        )
        .unwrap();
        assert!(!dir.path().join("escape").exists());
        assert!(!root.join("rel").exists());

        // On a restore, the records outside the workspace go back in; the workspace's own
        // files are the volume's.
        let handle = RuntimeHandle {
            id: "c".into(),
            runtime: "docker".into(),
            data: serde_json::json!({"home": "/root", "workspace": {"path": "/ws"}}),
        };
        let back = copies(&root, Some(&handle));
        assert_eq!(
            back,
            [FileCopy {
                host: a.display().to_string(),
                path: "/root/.claude/p/a.jsonl".into(),
            }]
        );
        assert!(copies(&root, None).is_empty());
        forget(&root);
        assert!(!root.exists());
        forget(&root);
    }
}

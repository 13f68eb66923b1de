//! A session's own files, copied into its container before the agent starts
//! (`sessionFiles: container`), at the same paths as on the host: the agent plugin wrote those
//! paths into the agent's launch and hook settings. One archive, one engine call, which works
//! the same on a remote engine.
//!
//! The hooks run `ao hook` by the host's path of `ao`; inside, that path is [`SHIM`], a small
//! shell script that appends the record `ao hook` would, with the hook's payload as it came
//! (hex, cut to 2 KiB: the conversation id and the message come first) for the host to read.
//! The status file's directory is writable by any user, as the agent may not run as root.

use ao_plugin_api::sdk::git::Git;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::CreateRequest;
use std::path::{Path, PathBuf};

/// The largest file copied in: prompts and helper files are small; anything bigger is a
/// mistake better refused than shipped to every container.
const MAX_FILE: u64 = 4 << 20;
/// The most a seed (bundle and untracked files) may weigh.
const MAX_SEED: u64 = 1 << 30;
/// Where a seed is copied to; the launch script clones from it and removes it.
const SEED_DIR: &str = "ao/upload";

/// The host's prepared workspace as a remote engine gets it (clone mode): a git bundle of its
/// repository's refs and a tar of its untracked files (the agent's hook settings), with what the
/// launch script checks out.
pub(crate) struct Seed {
    bundle: Vec<u8>,
    untracked: Vec<u8>,
    /// The branch and commit checked out.
    pub(crate) branch: String,
    pub(crate) head: String,
    /// The repository's `origin`, which the clone pushes to.
    pub(crate) origin: Option<String>,
}

impl Seed {
    /// What the launch script reads (`AO_SEED=upload` is set by the plan).
    pub(crate) fn env(&self) -> Vec<String> {
        let mut env = vec![
            format!("AO_SEED_BRANCH={}", self.branch),
            format!("AO_SEED_HEAD={}", self.head),
        ];
        if let Some(o) = &self.origin {
            env.push(format!("AO_SEED_ORIGIN={o}"));
        }
        env
    }
}

/// Packs `workspace` for a remote engine.
pub(crate) fn seed(ctx: &Ctx, workspace: &Path) -> Result<Seed, SdkError> {
    let git = Git::new(workspace);
    let branch = git
        .run(ctx, &["symbolic-ref", "--short", "HEAD"])
        .map_err(|e| SdkError::InvalidParams(format!("the workspace is on no branch: {e}")))?;
    let head = git.run(ctx, &["rev-parse", "HEAD"])?;
    let origin = git
        .run(ctx, &["remote", "get-url", "origin"])
        .ok()
        .filter(|o| !o.is_empty());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let file = std::env::temp_dir().join(format!("ao-seed-{}-{nanos}.bundle", std::process::id()));
    let made = git.run(
        ctx,
        &[
            "bundle",
            "create",
            "-q",
            &file.display().to_string(),
            "--all",
        ],
    );
    let bundle = made.and_then(|_| {
        std::fs::read(&file).map_err(|e| SdkError::Internal(format!("reading the bundle: {e}")))
    });
    let _ = std::fs::remove_file(&file);
    let bundle = bundle?;
    let listed = git.run(ctx, &["ls-files", "-z", "--others"])?;
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let mut size = bundle.len() as u64;
    for rel in listed.split('\0').filter(|r| !r.is_empty()) {
        let path = workspace.join(rel);
        size += std::fs::symlink_metadata(&path)
            .map(|m| m.len())
            .unwrap_or(0);
        if size > MAX_SEED {
            return Err(SdkError::InvalidParams(format!(
                "the workspace's repository and untracked files are over {} MiB: too much to copy into a container",
                MAX_SEED >> 20
            )));
        }
        tar.append_path_with_name(&path, rel)
            .map_err(|e| SdkError::Internal(format!("packing {rel}: {e}")))?;
    }
    let untracked = tar
        .into_inner()
        .map_err(|e| SdkError::Internal(format!("packing the untracked files: {e}")))?;
    Ok(Seed {
        bundle,
        untracked,
        branch,
        head,
        origin,
    })
}

/// `ao` inside a container: `ao hook` only.
pub(crate) const SHIM: &str = r#"#!/bin/sh
# ao inside an ao session's container: only `ao hook` (what the agent's hooks run). It appends
# one status record, the hook's payload hex-encoded, and never fails the agent.
[ "${1:-}" = hook ] || { echo "ao: only 'ao hook' runs inside this container" >&2; exit 0; }
shift
state= file=${AO_STATUS_FILE:-} stdin= event= payload=
while [ $# -gt 0 ]; do
  case $1 in
    --state) state=${2:-}; shift 2 || break ;;
    --status-file) file=${2:-}; shift 2 || break ;;
    --agent) shift 2 || break ;;
    --stdin) stdin=1; shift ;;
    --*) shift ;;
    *) if [ -z "$event" ]; then event=$1; else payload=$1; fi; shift ;;
  esac
done
[ -n "$file" ] && [ -n "$state" ] || exit 0
# Only plain words go into the record unquoted.
case "$state$event" in *[!A-Za-z0-9_.:-]*) exit 0 ;; esac
hex() { head -c 2048 | od -An -v -tx1 | tr -d ' \n'; }
if [ -n "$stdin" ]; then
  h=$(hex); cat >/dev/null
else
  h=$(printf '%s' "$payload" | hex)
fi
t=$(date +%s%3N 2>/dev/null)
case "$t" in ''|*[!0-9]*) t=$(( $(date +%s) * 1000 )) ;; esac
printf '{"at_ms":%s,"state":"%s","event":"%s","payload_hex":"%s"}\n' "$t" "$state" "$event" "$h" >>"$file" 2>/dev/null
exit 0
"#;

/// The tar archive (extracted at `/`) of what the session needs inside: the status file's
/// directory, the shim at `AO_EXE`'s path, and `req.files`. Paths `mounted` says a configured
/// mount provides are left to it (the engine refuses to write under a read-only mount).
pub(crate) fn archive(
    req: &CreateRequest,
    files_inside: bool,
    seed: Option<&Seed>,
    mounted: &dyn Fn(&Path) -> bool,
) -> Result<Vec<u8>, SdkError> {
    let tar = tar::Builder::new(Vec::new());
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut files: Vec<(PathBuf, Vec<u8>, u32)> = Vec::new();
    if let Some(seed) = seed {
        let dir = Path::new("/").join(SEED_DIR);
        files.push((dir.join("seed.bundle"), seed.bundle.clone(), 0o644));
        files.push((dir.join("untracked.tar"), seed.untracked.clone(), 0o644));
    }
    if !files_inside {
        return pack(tar, &dirs, &files);
    }
    if let Some(dir) = req
        .env
        .get("AO_STATUS_FILE")
        .and_then(|f| Path::new(f).parent())
    {
        dirs.push((absolute(dir)?.to_path_buf(), 0o1777));
    }
    if let Some(exe) = req.env.get("AO_EXE").filter(|e| !mounted(Path::new(e))) {
        files.push((
            absolute(Path::new(exe))?.into(),
            SHIM.as_bytes().to_vec(),
            0o755,
        ));
    }
    for f in &req.files {
        let path = absolute(Path::new(f))?;
        if mounted(path) {
            continue;
        }
        let len = std::fs::metadata(path)
            .map_err(|e| SdkError::NotFound(format!("{f}: {e}")))?
            .len();
        if len > MAX_FILE {
            return Err(SdkError::InvalidParams(format!(
                "{f} is {len} bytes, over the {MAX_FILE} a session's file may be"
            )));
        }
        let data = std::fs::read(path).map_err(|e| SdkError::NotFound(format!("{f}: {e}")))?;
        files.push((path.into(), data, 0o644));
    }
    pack(tar, &dirs, &files)
}

/// `dirs` (each with its mode) then `files`, each file's directory first.
fn pack(
    mut tar: tar::Builder<Vec<u8>>,
    dirs: &[(PathBuf, u32)],
    files: &[(PathBuf, Vec<u8>, u32)],
) -> Result<Vec<u8>, SdkError> {
    let mut dirs = dirs.to_vec();
    for (path, _, _) in files {
        if let Some(parent) = path.parent()
            && !dirs.iter().any(|(d, _)| d == parent)
        {
            dirs.push((parent.to_path_buf(), 0o755));
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let failed = |e: std::io::Error| SdkError::Internal(format!("building the archive: {e}"));
    for (dir, mode) in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(*mode);
        h.set_size(0);
        h.set_mtime(now);
        tar.append_data(&mut h, relative(dir), std::io::empty())
            .map_err(failed)?;
    }
    for (path, data, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(data.len() as u64);
        h.set_mtime(now);
        tar.append_data(&mut h, relative(path), data.as_slice())
            .map_err(failed)?;
    }
    tar.into_inner().map_err(failed)
}

fn absolute(p: &Path) -> Result<&Path, SdkError> {
    if p.is_absolute() && !p.components().any(|c| c.as_os_str() == "..") {
        Ok(p)
    } else {
        Err(SdkError::InvalidParams(format!(
            "{} is not an absolute path without `..`",
            p.display()
        )))
    }
}

/// The archive's name for an absolute path (it is extracted at `/`).
fn relative(p: &Path) -> &Path {
    p.strip_prefix("/").unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn request(files: Vec<String>) -> CreateRequest {
        CreateRequest {
            session_id: "app-1".into(),
            runtime_name: "abc123-app-1".into(),
            workspace_path: "/w".into(),
            argv: vec!["agent".into()],
            env: BTreeMap::from([
                ("AO_STATUS_FILE".into(), "/data/status/app-1.jsonl".into()),
                ("AO_EXE".into(), "/opt/ao/bin/ao".into()),
            ]),
            scratch_dir: None,
            files,
        }
    }

    #[test]
    fn the_archive_holds_the_status_dir_the_shim_and_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = dir.path().join("app-1.md");
        std::fs::write(&prompt, "be careful").unwrap();
        let bytes = archive(
            &request(vec![prompt.display().to_string()]),
            true,
            None,
            &|_| false,
        )
        .unwrap();
        let mut entries = Vec::new();
        let mut a = tar::Archive::new(bytes.as_slice());
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut text = String::new();
            e.read_to_string(&mut text).unwrap();
            let path = e.path().unwrap().display().to_string();
            entries.push((path, e.header().mode().unwrap(), text));
        }
        let find = |p: &str| entries.iter().find(|e| e.0.trim_end_matches('/') == p);
        assert_eq!(find("data/status").unwrap().1, 0o1777);
        let shim = find("opt/ao/bin/ao").unwrap();
        assert_eq!((shim.1, shim.2.as_str()), (0o755, SHIM));
        let p = prompt.display().to_string();
        let copied = find(p.trim_start_matches('/')).unwrap();
        assert_eq!((copied.1, copied.2.as_str()), (0o644, "be careful"));
        // Directories come before what is in them.
        let pos = |p: &str| entries.iter().position(|e| e.0.trim_end_matches('/') == p);
        assert!(pos("opt/ao/bin") < pos("opt/ao/bin/ao"));

        let e = archive(&request(vec!["relative/x".into()]), true, None, &|_| false).unwrap_err();
        assert!(e.to_string().contains("not an absolute path"), "{e}");
        // What a mount provides is not copied.
        let bytes = archive(&request(vec![]), true, None, &|p| p.starts_with("/opt/ao")).unwrap();
        let mut a = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["data/status"]);
    }

    /// The shim writes what a reader of the status file takes, whatever the payload holds.
    #[test]
    fn the_shim_appends_a_record_the_host_reads() {
        let dir = tempfile::tempdir().unwrap();
        let shim = dir.path().join("ao");
        std::fs::write(&shim, SHIM).unwrap();
        let status = dir.path().join("s.jsonl");
        let run = |args: &[&str], stdin: &str| {
            let mut child = std::process::Command::new("/bin/sh")
                .arg(&shim)
                .args(args)
                .env("AO_STATUS_FILE", &status)
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
        };
        let big = "x".repeat(100_000);
        let payload = format!(
            r#"{{"session_id":"0b4c","message":"it's \"done\"; $(rm -rf /)","tool_input":"{big}"}}"#
        );
        run(
            &[
                "hook",
                "--agent",
                "claude-code",
                "--state",
                "waiting_input",
                "--stdin",
                "Notification",
            ],
            &payload,
        );
        let tail = std::fs::read_to_string(&status).unwrap();
        let r = ao_plugin_api::status_file::latest_in(
            ao_plugin_api::status_file::Source::Tail(&tail),
            |_| true,
        )
        .unwrap();
        assert_eq!(r.event.as_deref(), Some("Notification"));
        assert_eq!(r.session.as_deref(), Some("0b4c"));
        assert_eq!(r.detail.as_deref(), Some(r#"it's "done"; $(rm -rf /)"#));
        assert!(r.at_ms > 1_700_000_000_000);
        // A payload on the command line (Codex's notify), and a state that is not a plain word.
        run(
            &[
                "hook",
                "--state",
                "ready",
                "agent-turn-complete",
                r#"{"thread-id":"t1"}"#,
            ],
            "",
        );
        run(&["hook", "--state", "ready\"x", "Stop"], "");
        run(&["report", "working"], "");
        let tail = std::fs::read_to_string(&status).unwrap();
        assert_eq!(tail.lines().count(), 2, "{tail}");
        let r = ao_plugin_api::status_file::latest_in(
            ao_plugin_api::status_file::Source::Tail(&tail),
            |_| true,
        )
        .unwrap();
        assert_eq!(r.session.as_deref(), Some("t1"));
    }
}

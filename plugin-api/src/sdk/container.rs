//! What container runtimes (runtime-docker, runtime-k8s) share: the launch script a session's
//! container runs, the files copied into it, and the execs that read it.
//!
//! The container lives exactly as long as its agent. [`LAUNCH`] seeds the workspace when asked,
//! starts the agent in tmux on a fixed socket ([`SOCKET`], session [`TARGET`]), waits for the
//! pane to die, prints the final screen to the container's log and exits with the agent's
//! status (its own failures: [`EXIT_SEED_FAILED`], [`EXIT_TMUX_FAILED`]). So one list call tells
//! every session's state, and an exited agent's last screen is in its log.
//!
//! A session whose files live in its container gets them as one archive ([`archive`]) at the
//! same paths as on the host, because the agent plugin wrote those paths into the agent's launch
//! and hook settings. The hooks run `ao hook` by the host's path of `ao`; inside, that path is
//! [`SHIM`], a small shell script that appends the record `ao hook` would, with the hook's
//! payload as it came (hex, cut to 2 KiB: the conversation id and the message come first) for
//! the host to read. A workspace a remote engine cannot mount arrives as a [`Seed`]: a git
//! bundle and a tar of the untracked files.

use crate::sdk::git::Git;
use crate::sdk::{Ctx, SdkError};
use crate::slots::runtime::{CreateRequest, RuntimeHandle};
use std::path::{Path, PathBuf};

mod look;
pub use look::{Look, Looked, home_argv, look_argv, mirror_bytes, records_in_tar, split_look};

/// The tmux server's socket inside every container.
pub const SOCKET: &str = "/run/ao/tmux.sock";
/// The tmux session inside every container.
pub const TARGET: &str = "=ao:";
/// Where the workspace is inside the container when it is cloned there.
pub const CLONE_PATH: &str = "/workspace";
/// Where a local engine mounts the host's prepared workspace read-only to seed a clone.
pub const SEED_PATH: &str = "/ao/seed";
/// Where a [`Seed`] is copied to (`AO_SEED=upload`); the script clones from it.
pub const UPLOAD_DIR: &str = "/ao/upload";
/// Exit codes of the launch script itself (the agent's own pass through).
pub const EXIT_TMUX_FAILED: i64 = 125;
/// The workspace could not be seeded.
pub const EXIT_SEED_FAILED: i64 = 124;

/// What every container runtime's config must say: an image, and a terminal big enough for an
/// agent's screen.
pub fn check_image_and_terminal(image: &str, width: u16, height: u16) -> Result<(), SdkError> {
    if image.trim().is_empty() {
        return Err(SdkError::InvalidConfig(
            "runtimeConfig.image is empty: name the agent image".into(),
        ));
    }
    if width < 20 || height < 5 {
        return Err(SdkError::InvalidConfig(
            "width must be at least 20 and height at least 5".into(),
        ));
    }
    Ok(())
}

/// The config part of a runtime name `{hash}-{session}`: what tells two `ao` configs' sessions
/// apart on one engine or cluster (a label of every container or pod).
pub fn instance_of(runtime_name: &str, session_id: &str) -> String {
    runtime_name
        .strip_suffix(session_id)
        .and_then(|h| h.strip_suffix('-'))
        .unwrap_or(runtime_name)
        .to_string()
}

/// The launch script: `$@` is the agent's argv, which never passes through a shell (`exec "$@"`
/// runs it as given). `AO_SEED=1` seeds `/workspace` once from the host's prepared workspace
/// mounted at [`SEED_PATH`]; `AO_SEED=upload` from a [`Seed`] in [`UPLOAD_DIR`], waiting for its
/// `ready` marker when it is copied in after the start (a pod); `AO_SEED=cloned` finds it
/// cloned by [`CLONE`] and adds the seed's untracked files. A restore finds the workspace
/// seeded and keeps the agent's work. The untracked files the host put there (the agent's hook
/// config) are excluded in the clone, so they are neither the agent's work nor committed by it.
/// The clone keeps the seed's branches as remote-tracking refs (under `origin`, re-pointed at
/// the host's own origin, or `ao-seed` when there is none), so "work on no remote" means work
/// that exists only in the workspace.
///
/// tmux linked with libutempter (Debian's, Ubuntu's) can lose the agent's SIGCHLD as it exits
/// (see runtime-tmux's `nudge_reaper`): the pane is then dead without an exit status and
/// `pane-died` never fires, so every few seconds a dead pane without a status gets the server a
/// SIGCHLD, which makes it reap the agent and fire the hook. A pipe is open on the pane
/// ([`DRAIN_PIPE`](crate::sdk::tmux::DRAIN_PIPE)), so a tmux before 3.7 does not drop what the
/// agent printed just before exiting. The final screen goes to the log without its blank lines
/// and tmux's "Pane is dead", so the log's tail is the agent's last words.
pub const LAUNCH: &str = r#"set -u
T="tmux -S /run/ao/tmux.sock"
# Copied in after the start (an exec into the running pod): wait for it, a while.
arrived() {
  n=0
  until [ -e "$1/ready" ]; do
    n=$((n + 1)); [ "$n" -gt 1500 ] && { echo "ao: the workspace never arrived in $1" >&2; exit 124; }
    sleep 0.2
  done
}
if [ "${AO_SEED:-}" = 1 ] && [ ! -e /workspace/.git ]; then
  {
    g="git -c safe.directory=*"
    src=/ao/seed
    branch=$($g -C "$src" symbolic-ref --short HEAD) &&
    head=$($g -C "$src" rev-parse HEAD) &&
    $g clone -q --no-checkout "$src" /workspace &&
    $g -C /workspace checkout -q -B "$branch" "$head" &&
    if url=$($g -C "$src" remote get-url origin 2>/dev/null); then
      $g -C /workspace remote set-url origin "$url"
    else
      $g -C /workspace remote rename origin ao-seed
    fi &&
    { $g -C "$src" ls-files -z --others | (cd "$src" && tar --null -T - -cf -) | tar -C /workspace -xf -; } &&
    { $g -C "$src" ls-files --others | sed 's|^|/|' >> /workspace/.git/info/exclude; }
  } >&2 || { echo "ao: could not seed the workspace from $src" >&2; exit 124; }
elif [ "${AO_SEED:-}" = upload ] && [ ! -e /workspace/.git ]; then
  up=/ao/upload
  arrived "$up"
  {
    g="git -c safe.directory=*"
    $g clone -q --no-checkout "$up/seed.bundle" /workspace &&
    $g -C /workspace checkout -q -B "$AO_SEED_BRANCH" "$AO_SEED_HEAD" &&
    if [ -n "${AO_SEED_ORIGIN:-}" ]; then
      $g -C /workspace remote set-url origin "$AO_SEED_ORIGIN"
    else
      $g -C /workspace remote rename origin ao-seed
    fi &&
    tar -C /workspace -xf "$up/untracked.tar" &&
    { tar -tf "$up/untracked.tar" | sed 's|^|/|' >> /workspace/.git/info/exclude; } &&
    { rm -f "$up/seed.bundle" "$up/untracked.tar" 2>/dev/null; true; }
  } >&2 || { echo "ao: could not seed the workspace from the uploaded bundle" >&2; exit 124; }
elif [ "${AO_SEED:-}" = cloned ]; then
  # Cloned by the pod's init container ([`CLONE`]); the untracked files come by exec.
  up=/ao/upload
  arrived "$up"
  if [ -e "$up/untracked.tar" ]; then
    { tar -C /workspace -xf "$up/untracked.tar" &&
      { tar -tf "$up/untracked.tar" | sed 's|^|/|' >> /workspace/.git/info/exclude; } &&
      rm -f "$up/untracked.tar"; } >&2 || { echo "ao: could not add the session's files to the clone" >&2; exit 124; }
  fi
fi
cd "${AO_WORKDIR:-/workspace}" || exit 124
$T new-session -d -s ao -x "${AO_COLS:-200}" -y "${AO_ROWS:-50}" -- /bin/sh -c 'exec "$@"' ao-agent "$@" \; set-option -w -t =ao: remain-on-exit on \; pipe-pane -t =ao: 'exec cat >/dev/null' \; set-hook -t =ao: pane-died 'run-shell "tmux -S /run/ao/tmux.sock wait-for -S ao-exited"' || exit 125
$T wait-for ao-exited &
waiter=$!
srv=$($T display-message -p '#{pid}')
while kill -0 "$waiter" 2>/dev/null; do
  sleep 3
  [ "$($T display-message -p -t =ao: '#{pane_dead}#{pane_dead_status}#{pane_dead_signal}' 2>/dev/null)" = 1 ] &&
    kill -CHLD "$srv" 2>/dev/null
done
st=$($T display-message -p -t =ao: '#{pane_dead_status}')
$T capture-pane -p -J -S -2000 -t =ao: | sed '/^[[:space:]]*$/d; /^Pane is dead/d'
$T kill-server
exit "${st:-1}"
"#;

/// An init container's script that clones the repository at `$1` into `/workspace` and checks
/// out the session's branch `$2`: the remote's, when it has it (a restore of pushed work), else
/// a new one at the session's commit `$3`, which the remote must have. With `AO_GIT_TOKEN` set
/// (from a Secret) git gets it from a credential helper that reads the environment, so the
/// token is never in a URL, an argv or a file; the helper stays in the clone's config (the
/// variable, not the value) for the agent's pushes.
pub const CLONE: &str = r#"set -u
url=$1 branch=$2 head=$3
g="git -c safe.directory=*"
helper='!f() { test "$1" = get || exit 0; echo "username=${AO_GIT_USER:-x-access-token}"; echo "password=${AO_GIT_TOKEN:-}"; }; f'
[ -e /workspace/.git ] && exit 0
if [ -n "${AO_GIT_TOKEN:-}" ]; then
  $g -c credential.helper="$helper" clone -q --no-checkout -- "$url" /workspace
else
  $g clone -q --no-checkout -- "$url" /workspace
fi || { echo "ao: could not clone $url" >&2; exit 1; }
cd /workspace || exit 1
[ -z "${AO_GIT_TOKEN:-}" ] || $g config credential.helper "$helper"
if $g rev-parse -q --verify "refs/remotes/origin/$branch" >/dev/null; then
  $g checkout -q -B "$branch" "refs/remotes/origin/$branch"
elif $g cat-file -e "$head^{commit}" 2>/dev/null; then
  $g checkout -q -B "$branch" "$head"
else
  echo "ao: $url does not have $head, where the session starts: push it, or leave out runtimeConfig.clone so ao sends the workspace" >&2
  exit 1
fi
"#;

/// The largest file copied in: prompts and helper files are small; anything bigger is a
/// mistake better refused than shipped to every container.
const MAX_FILE: u64 = 4 << 20;
/// The most a seed (bundle and untracked files) may weigh.
const MAX_SEED: u64 = 1 << 30;

/// The host's prepared workspace as a remote engine gets it (clone mode): a git bundle of its
/// repository's refs and a tar of its untracked files (the agent's hook settings), with what the
/// launch script checks out.
pub struct Seed {
    /// `None` when the workspace is cloned inside from its remote (only the rest is sent).
    bundle: Option<Vec<u8>>,
    untracked: Vec<u8>,
    /// The branch and commit checked out.
    pub branch: String,
    pub head: String,
    /// The repository's `origin`, which the clone pushes to.
    pub origin: Option<String>,
}

impl Seed {
    /// What the launch script reads (`AO_SEED=upload` is set by the plan).
    pub fn env(&self) -> Vec<String> {
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

/// Packs `workspace` for a remote engine: with a bundle of its repository, or (`bundle` false,
/// when the session clones its repository's remote itself) its branch, commit and untracked
/// files alone.
pub fn seed(ctx: &Ctx, workspace: &Path, bundle: bool) -> Result<Seed, SdkError> {
    let git = Git::new(workspace);
    let branch = git
        .run(ctx, &["symbolic-ref", "--short", "HEAD"])
        .map_err(|e| SdkError::InvalidParams(format!("the workspace is on no branch: {e}")))?;
    let head = git.run(ctx, &["rev-parse", "HEAD"])?;
    let origin = git
        .run(ctx, &["remote", "get-url", "origin"])
        .ok()
        .filter(|o| !o.is_empty());
    let bundle = if bundle {
        Some(bundle_of(ctx, &git)?)
    } else {
        None
    };
    let listed = git.run(ctx, &["ls-files", "-z", "--others"])?;
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let mut size = bundle.as_ref().map_or(0, |b| b.len() as u64);
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

/// A git bundle of every ref of the repository.
fn bundle_of(ctx: &Ctx, git: &Git) -> Result<Vec<u8>, SdkError> {
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
    bundle
}

/// `ao` inside a container: `ao hook` only.
pub const SHIM: &str = r#"#!/bin/sh
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
/// directory, the shim at `AO_EXE`'s path, `req.files`, and `req.copies` (owned by `owner`, a
/// numeric uid and gid, when the agent does not run as root, so it can append to them). Paths
/// `mounted` says a mount provides are left to it: a file there is not copied (the engine
/// refuses to write under a read-only mount), a directory there gets no entry (its mode is the
/// mount's, which a non-root extraction may not change).
pub fn archive(
    req: &CreateRequest,
    files_inside: bool,
    seed: Option<&Seed>,
    mounted: &dyn Fn(&Path) -> bool,
    owner: Option<(u64, u64)>,
) -> Result<Vec<u8>, SdkError> {
    let tar = tar::Builder::new(Vec::new());
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut files: Vec<(PathBuf, Vec<u8>, u32)> = Vec::new();
    if let Some(seed) = seed {
        let dir = Path::new(UPLOAD_DIR);
        if let Some(bundle) = &seed.bundle {
            files.push((dir.join("seed.bundle"), bundle.clone(), 0o644));
        }
        files.push((dir.join("untracked.tar"), seed.untracked.clone(), 0o644));
    }
    if files_inside {
        session_files(req, mounted, &mut dirs, &mut files)?;
    }
    let mut copies = Vec::new();
    for c in &req.copies {
        let path = absolute(Path::new(&c.path))?;
        if mounted(path) {
            continue;
        }
        let data =
            std::fs::read(&c.host).map_err(|e| SdkError::NotFound(format!("{}: {e}", c.host)))?;
        copies.push((path.to_path_buf(), data, 0o644));
    }
    // Last, so a script reading the archive as it arrives sees everything once it sees this.
    if seed.is_some() {
        files.push((Path::new(UPLOAD_DIR).join("ready"), Vec::new(), 0o644));
    }
    // A directory a mount provides exists already, with the mount's owner and mode.
    dirs.retain(|(d, _)| !mounted(d));
    let tar = pack(tar, &dirs, &files, mounted, None)?;
    pack(tar, &[], &copies, mounted, owner)?
        .into_inner()
        .map_err(|e| SdkError::Internal(format!("building the archive: {e}")))
}

/// The numeric owner a container's `user` setting names (`1000` or `1000:1000`), when it is
/// not root.
pub fn numeric_owner(user: Option<&str>) -> Option<(u64, u64)> {
    let (u, g) = match user?.split_once(':') {
        Some((u, g)) => (u.parse().ok()?, g.parse().ok()?),
        None => {
            let u = user?.parse().ok()?;
            (u, u)
        }
    };
    (u != 0).then_some((u, g))
}

/// The session's own files: its status directory, the shim at `AO_EXE`'s path, `req.files`.
fn session_files(
    req: &CreateRequest,
    mounted: &dyn Fn(&Path) -> bool,
    dirs: &mut Vec<(PathBuf, u32)>,
    files: &mut Vec<(PathBuf, Vec<u8>, u32)>,
) -> Result<(), SdkError> {
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
    Ok(())
}

/// `dirs` (each with its mode) then `files`, each file's directory first, owned by `owner`
/// when given.
fn pack(
    mut tar: tar::Builder<Vec<u8>>,
    dirs: &[(PathBuf, u32)],
    files: &[(PathBuf, Vec<u8>, u32)],
    mounted: &dyn Fn(&Path) -> bool,
    owner: Option<(u64, u64)>,
) -> Result<tar::Builder<Vec<u8>>, SdkError> {
    let mut dirs = dirs.to_vec();
    for (path, _, _) in files {
        if let Some(parent) = path.parent()
            && !dirs.iter().any(|(d, _)| d == parent)
            && !mounted(parent)
        {
            dirs.push((parent.to_path_buf(), 0o755));
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let failed = |e: std::io::Error| SdkError::Internal(format!("building the archive: {e}"));
    let own = |h: &mut tar::Header| {
        if let Some((uid, gid)) = owner {
            h.set_uid(uid);
            h.set_gid(gid);
        }
    };
    for (dir, mode) in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(*mode);
        h.set_size(0);
        h.set_mtime(now);
        own(&mut h);
        tar.append_data(&mut h, relative(dir), std::io::empty())
            .map_err(failed)?;
    }
    for (path, data, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(*mode);
        h.set_size(data.len() as u64);
        h.set_mtime(now);
        own(&mut h);
        tar.append_data(&mut h, relative(path), data.as_slice())
            .map_err(failed)?;
    }
    Ok(tar)
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

/// The session's status file inside its container, when its files live there.
pub fn status_file_of(handle: &RuntimeHandle) -> Option<&str> {
    handle.data["statusFile"].as_str()
}

/// An exec's argv printing the last `bytes` of `file` (nothing when it is not there yet).
pub fn status_tail_argv(file: &str, bytes: u32) -> Vec<String> {
    [
        "sh",
        "-c",
        "tail -c \"$1\" \"$2\" 2>/dev/null; exit 0",
        "ao-status",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([bytes.to_string(), file.to_string()])
    .collect()
}

/// A shell script that reports the work in [`CLONE_PATH`] that exists nowhere else: uncommitted
/// changes and commits on no remote-tracking branch (`ao-unpushed <changes> <commits>`), or
/// nothing without a repository. Read with [`parse_unpushed`].
pub const UNPUSHED_CHECK: &str = r#"cd /workspace 2>/dev/null && [ -e .git ] || exit 0
g="git -c safe.directory=*"
c=$($g status --porcelain | wc -l) && u=$($g log --branches --not --remotes --oneline | wc -l) && echo "ao-unpushed $c $u""#;

/// What [`UNPUSHED_CHECK`] printed: `None` when nothing would be lost; otherwise what would be
/// (or that the check could not tell, when it said something else).
pub fn parse_unpushed(text: &str) -> Option<String> {
    let Some(line) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("ao-unpushed "))
    else {
        // No repository in the volume: nothing to keep.
        return (!text.trim().is_empty()).then(|| format!("the check said: {}", text.trim()));
    };
    let mut n = line
        .split_whitespace()
        .map(|w| w.parse::<u64>().unwrap_or(1));
    let (changes, commits) = (n.next().unwrap_or(1), n.next().unwrap_or(1));
    match (changes, commits) {
        (0, 0) => None,
        _ => Some(format!(
            "{changes} uncommitted changes, {commits} commits on no remote"
        )),
    }
}

/// The argv prefix that gives a command exactly `len` bytes of stdin and then its end: over an
/// engine that does not pass the close of stdin along (an exec WebSocket on `v4`), `head -c`
/// ends the input after the announced bytes.
pub fn stdin_prefix(len: usize) -> Vec<String> {
    let mut argv: Vec<String> = [
        "sh",
        "-c",
        "n=$1; shift; head -c \"$n\" | exec \"$@\"",
        "ao-stdin",
    ]
    .map(String::from)
    .to_vec();
    argv.push(len.to_string());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_file;
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
            copies: Vec::new(),
        }
    }

    /// A restore's records go where the agent reads them, owned by the agent's user.
    #[test]
    fn copies_land_at_their_paths_inside_with_the_agents_owner() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept.jsonl");
        std::fs::write(&kept, "{\"type\":\"user\"}\n").unwrap();
        let mut req = request(vec![]);
        req.copies = vec![crate::slots::runtime::FileCopy {
            host: kept.display().to_string(),
            path: "/home/agent/.claude/projects/-workspace/c1.jsonl".into(),
        }];
        let bytes = archive(&req, false, None, &|_| false, Some((1000, 1000))).unwrap();
        let mut a = tar::Archive::new(bytes.as_slice());
        let got: Vec<(String, u64, String)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut text = String::new();
                e.read_to_string(&mut text).unwrap();
                let path = e.path().unwrap().display().to_string();
                (path, e.header().uid().unwrap(), text)
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "home/agent/.claude/projects/-workspace".to_string(),
                    1000,
                    String::new()
                ),
                (
                    "home/agent/.claude/projects/-workspace/c1.jsonl".to_string(),
                    1000,
                    "{\"type\":\"user\"}\n".to_string()
                ),
            ]
        );
        assert_eq!(numeric_owner(Some("1000:1001")), Some((1000, 1001)));
        assert_eq!(numeric_owner(Some("0")), None);
        assert_eq!(numeric_owner(Some("agent")), None);
        assert_eq!(numeric_owner(None), None);
    }

    #[test]
    fn unpushed_work_is_read_from_the_check() {
        assert_eq!(parse_unpushed("ao-unpushed 0 0\n"), None);
        assert_eq!(parse_unpushed(""), None);
        assert_eq!(
            parse_unpushed("ao-unpushed 2 1\n").as_deref(),
            Some("2 uncommitted changes, 1 commits on no remote")
        );
        assert!(parse_unpushed("fatal: boom").is_some());
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
            None,
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

        let e = archive(
            &request(vec!["relative/x".into()]),
            true,
            None,
            &|_| false,
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an absolute path"), "{e}");
        // What a mount provides is not copied.
        let bytes = archive(
            &request(vec![]),
            true,
            None,
            &|p| p.starts_with("/opt/ao"),
            None,
        )
        .unwrap();
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
        let r = status_file::latest_in(status_file::Source::Tail(&tail), |_| true).unwrap();
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
        let r = status_file::latest_in(status_file::Source::Tail(&tail), |_| true).unwrap();
        assert_eq!(r.session.as_deref(), Some("t1"));
    }
}

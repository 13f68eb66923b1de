//! One exec per live session and tick: its screen, the end of its status file and what its
//! agent's records gained since the host last looked ([`Mirror`]), in one output that
//! [`split_look`] takes apart.

use super::{SOCKET, TARGET, status_file_of};
use crate::sdk::tmux::last_screen_lines;
use crate::slots::runtime::{FileChunk, IsAliveRequest, Liveness, Mirror};

/// Between a screen and a status tail in one exec's output.
const STATUS_MARK: &str = "\u{1}ao-status\u{1}";
/// Before the followed files' records.
const FILES_MARK: &str = "\u{1}ao-files\u{1}";
/// Before each file's record: `size offset length path`, then its bytes in base64 on one line.
const FILE_MARK: &str = "\u{1}ao-file ";
/// The most files one look reads: a session's transcripts are a handful.
const MAX_FILES: u32 = 64;
/// The default of `ProbeRequest.mirror_bytes`.
const MIRROR_BYTES: u32 = 256 << 10;

/// The bytes per followed file a look reads: the probe's ask, within reason.
pub fn mirror_bytes(asked: Option<u32>) -> u32 {
    asked.unwrap_or(MIRROR_BYTES).clamp(1 << 10, 4 << 20)
}

/// What one look at a running session reads, from its probe target.
#[derive(Debug, Clone, Copy)]
pub struct Look<'a> {
    status: Option<(&'a str, u32)>,
    mirror: Option<(&'a Mirror, u32)>,
}

impl<'a> Look<'a> {
    /// The target's look: its status file's end when the host asked (`tail_bytes`) and the file
    /// is inside; the files its mirror names, when the session keeps its own.
    pub fn of(t: &'a IsAliveRequest, tail_bytes: Option<u32>, mirror_bytes: u32) -> Self {
        Self {
            status: tail_bytes.and_then(|b| Some((status_file_of(&t.handle)?, b))),
            mirror: t
                .mirror
                .as_ref()
                .filter(|_| t.handle.inside().is_some())
                .map(|m| (m, mirror_bytes)),
        }
    }

    /// The exec's argv.
    pub fn argv(&self) -> Vec<String> {
        look_argv(self.status, self.mirror)
    }

    /// The exec's output, taken apart.
    pub fn split(&self, out: &str) -> Looked {
        split_look(out, self.status.is_some(), self.mirror.is_some())
    }
}

/// Reads what grew in the followed files. `$1` the most bytes per file, `$2` the oldest change
/// that counts (seconds since the epoch), `$3` the host's sizes (`size<TAB>path` lines), then
/// the roots. A file smaller than the host's copy was replaced: it is read from its start.
/// Paths come as `find` prints them; a name with a newline in it is not followed.
const MIRROR: &str = r#"max=$1; since=$2; have=$3; shift 3
for root in "$@"; do
  [ -e "$root" ] && find "$root" -maxdepth 5 -type f -newermt "@$since" ! -name '*
*' 2>/dev/null
done | head -n MAX_FILES | while IFS= read -r f; do
  off=$(printf '%s\n' "$have" | while IFS='	' read -r s p; do [ "$p" = "$f" ] && { echo "$s"; break; }; done)
  size=$(stat -c %s -- "$f" 2>/dev/null) || continue
  [ -n "$off" ] || off=0
  [ "$off" -gt "$size" ] && off=0
  [ "$off" -eq "$size" ] && continue
  len=$((size - off)); [ "$len" -gt "$max" ] && len=$max
  printf '\001ao-file %s %s %s %s\n' "$size" "$off" "$len" "$f"
  tail -c +$((off + 1)) -- "$f" | head -c "$len" | base64 -w0
  printf '\n'
done"#;

/// One exec for a running session: its screen, then (when its files live inside and the host
/// asked) its status file's end after [`STATUS_MARK`], then (when a mirror was asked, at most
/// `bytes` per file) the followed files' new bytes after [`FILES_MARK`].
pub fn look_argv(status: Option<(&str, u32)>, mirror: Option<(&Mirror, u32)>) -> Vec<String> {
    let capture = [
        "tmux",
        "-S",
        SOCKET,
        "capture-pane",
        "-p",
        "-J",
        "-t",
        TARGET,
    ];
    if status.is_none() && mirror.is_none() {
        return capture.iter().map(|s| s.to_string()).collect();
    }
    let mut script = format!("{} || exit 1", capture.join(" "));
    let mut args = vec!["ao-look".to_string()];
    match status {
        Some((file, bytes)) => {
            script.push_str(&format!(
                "; printf '\\n{STATUS_MARK}\\n'; tail -c \"$1\" \"$2\" 2>/dev/null"
            ));
            args.extend([bytes.to_string(), file.to_string()]);
        }
        None => args.extend(["0".to_string(), String::new()]),
    }
    if let Some((m, bytes)) = mirror {
        let have: String = m
            .have
            .iter()
            .filter(|(p, _)| !p.contains(['\n', '\t']))
            .map(|(p, n)| format!("{n}\t{p}\n"))
            .collect();
        // A minute early: a clock a little off between host and engine loses nothing.
        let since = m.since_ms.map_or(0, |ms| (ms / 1000).saturating_sub(60));
        script.push_str(&format!(
            "; printf '\\n{FILES_MARK}\\n'; shift 2; {}",
            MIRROR.replace("MAX_FILES", &MAX_FILES.to_string())
        ));
        args.extend([bytes.to_string(), since.to_string(), have]);
        args.extend(m.roots.iter().cloned());
    }
    script.push_str("; exit 0");
    ["sh".to_string(), "-c".to_string(), script]
        .into_iter()
        .chain(args)
        .collect()
}

/// A look's output, taken apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Looked {
    /// The screen, when one was captured.
    pub screen: Option<String>,
    /// The status file's end, when asked.
    pub status_tail: Option<String>,
    /// The followed files' new bytes, when asked.
    pub files: Vec<FileChunk>,
}

impl Looked {
    /// An ended session's look: the end of its log (its last screen), when it could be read.
    pub fn log(text: Option<String>) -> Self {
        Self {
            screen: text,
            ..Self::default()
        }
    }

    /// Into the target's liveness, the screen cut to its last `lines` (when asked).
    pub fn fill(self, l: &mut Liveness, lines: Option<u32>) {
        l.screen = lines.and_then(|n| Some(last_screen_lines(&self.screen?, n)));
        l.status_tail = self.status_tail;
        l.files = self.files;
    }
}

/// A look's output (see [`look_argv`]).
pub fn split_look(out: &str, asked_status: bool, asked_mirror: bool) -> Looked {
    let (rest, files) = match asked_mirror
        .then(|| out.split_once(&format!("\n{FILES_MARK}\n")))
        .flatten()
    {
        Some((rest, files)) => (rest, parse_files(files)),
        None => (out, Vec::new()),
    };
    let (screen, status_tail) = match asked_status
        .then(|| rest.split_once(&format!("\n{STATUS_MARK}\n")))
        .flatten()
    {
        Some((screen, tail)) => (screen.to_string(), Some(tail.to_string())),
        None => (rest.to_string(), None),
    };
    Looked {
        screen: Some(screen),
        status_tail,
        files,
    }
}

/// The file records of a look; a record cut short is dropped (the next look reads it again).
fn parse_files(text: &str) -> Vec<FileChunk> {
    text.split(FILE_MARK)
        .skip(1)
        .filter_map(|rec| {
            let (head, data) = rec.split_once('\n')?;
            let mut f = head.splitn(4, ' ');
            let size = f.next()?.parse().ok()?;
            let offset = f.next()?.parse().ok()?;
            let len: u64 = f.next()?.parse().ok()?;
            let path = f.next()?.to_string();
            let data = data.trim_end_matches('\n');
            // base64 of `len` bytes is this long exactly, or the output was cut.
            (data.len() as u64 == len.div_ceil(3) * 4).then(|| FileChunk {
                path,
                size,
                offset,
                data_b64: data.to_string(),
            })
        })
        .collect()
}

/// What an ended session's followed files hold beyond the host's copy, from a tar of `root`
/// (as an engine's archive API gives it for a stopped container: entries named from `root`'s
/// last component): the same chunks a look would have brought, so the last turn written after
/// the last tick is not lost. Unreadable archives give nothing.
pub fn records_in_tar(root: &str, tar: &[u8], m: &Mirror, bytes: u32) -> Vec<FileChunk> {
    use base64::Engine as _;
    use std::io::Read;
    let base = std::path::Path::new(root)
        .parent()
        .unwrap_or(std::path::Path::new("/"));
    let since = m.since_ms.map_or(0, |ms| (ms / 1000).saturating_sub(60));
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    let Ok(entries) = archive.entries() else {
        return out;
    };
    for entry in entries.flatten().take(MAX_FILES as usize) {
        let mut entry = entry;
        let h = entry.header();
        if h.entry_type() != tar::EntryType::Regular || h.mtime().unwrap_or(0) < since {
            continue;
        }
        let Ok(rel) = entry.path().map(|p| p.into_owned()) else {
            continue;
        };
        let path = base.join(rel).display().to_string();
        let size = h.size().unwrap_or(0);
        let held = m.have.get(&path).copied().unwrap_or(0);
        let offset = if held > size { 0 } else { held };
        if offset == size {
            continue;
        }
        let mut data = Vec::new();
        if entry.read_to_end(&mut data).is_err() {
            continue;
        }
        let end = (offset + u64::from(bytes)).min(size) as usize;
        let Some(piece) = data.get(offset as usize..end) else {
            continue;
        };
        out.push(FileChunk {
            path,
            size,
            offset,
            data_b64: base64::engine::general_purpose::STANDARD.encode(piece),
        });
    }
    out
}

/// An exec's argv printing the session's `$HOME`.
pub fn home_argv() -> Vec<String> {
    ["sh", "-c", "printf '%s' \"$HOME\""]
        .map(String::from)
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_look_splits_into_the_screen_and_the_status_tail() {
        let argv = look_argv(Some(("/d/app-1.jsonl", 4096)), None);
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert_eq!(argv[3..], ["ao-look", "4096", "/d/app-1.jsonl"]);
        let out = format!("screen line\n> \n\n{STATUS_MARK}\n{{\"at_ms\":1}}\n");
        let l = split_look(&out, true, false);
        assert_eq!(l.screen.as_deref(), Some("screen line\n> \n"));
        assert_eq!(l.status_tail.as_deref(), Some("{\"at_ms\":1}\n"));
        assert_eq!(
            split_look("just a screen", false, false),
            Looked {
                screen: Some("just a screen".into()),
                ..Looked::default()
            }
        );
        assert_eq!(look_argv(None, None)[0], "tmux");
    }

    #[test]
    fn file_records_follow_the_status_tail_and_a_cut_one_is_dropped() {
        let out = format!(
            "scr\n{STATUS_MARK}\ntail\n\n{FILES_MARK}\n{FILE_MARK}7 2 3 /root/a b.jsonl\nYwpk\n{FILE_MARK}9 0 9 /root/c\nYWJj\n"
        );
        let l = split_look(&out, true, true);
        assert_eq!(l.screen.as_deref(), Some("scr"));
        assert_eq!(l.status_tail.as_deref(), Some("tail\n"));
        assert_eq!(
            l.files,
            [FileChunk {
                path: "/root/a b.jsonl".into(),
                size: 7,
                offset: 2,
                data_b64: "Ywpk".into(),
            }]
        );
        // Files without a status part.
        let out = format!("scr\n{FILES_MARK}\n{FILE_MARK}3 0 3 /f\nYWJj\n");
        let l = split_look(&out, false, true);
        assert_eq!((l.screen.as_deref(), l.status_tail), (Some("scr"), None));
        assert_eq!(l.files.len(), 1);
    }

    /// A stopped container's archive gives the same chunks as a look at a live one.
    #[test]
    fn an_archive_of_an_ended_sessions_records_gives_what_the_host_lacks() {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(2_000);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data).unwrap();
        };
        add(".claude/projects/-workspace/c.jsonl", b"one\ntwo\n");
        add(".claude/projects/-workspace/same.jsonl", b"x");
        let tar = b.into_inner().unwrap();
        let m = Mirror {
            roots: vec!["/root/.claude".into()],
            have: BTreeMap::from([
                ("/root/.claude/projects/-workspace/c.jsonl".into(), 4),
                ("/root/.claude/projects/-workspace/same.jsonl".into(), 1),
            ]),
            since_ms: Some(1_000_000),
        };
        let got = records_in_tar("/root/.claude", &tar, &m, 1 << 20);
        assert_eq!(
            got,
            [FileChunk {
                path: "/root/.claude/projects/-workspace/c.jsonl".into(),
                size: 8,
                offset: 4,
                data_b64: "dHdvCg==".into(),
            }]
        );
        assert!(records_in_tar("/root/.claude", b"not a tar", &m, 1 << 20).is_empty());
    }

    /// The script, run by a real `sh` on real files: new bytes from the host's offset, a
    /// replaced file from its start, an unchanged one not at all.
    #[test]
    fn the_mirror_script_reads_what_grew() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("projects");
        std::fs::create_dir_all(root.join("p")).unwrap();
        let a = root.join("p/a.jsonl");
        let b = root.join("p/b.jsonl");
        let c = root.join("c.jsonl");
        std::fs::write(&a, "abcdef").unwrap();
        std::fs::write(&b, "xy").unwrap();
        std::fs::write(&c, "same").unwrap();
        let path = |p: &std::path::Path| p.display().to_string();
        let m = Mirror {
            roots: vec![path(&root), "/nonexistent".into()],
            have: BTreeMap::from([(path(&a), 2), (path(&b), 10), (path(&c), 4)]),
            since_ms: Some(1_000),
        };
        let argv = look_argv(None, Some((&m, 3)));
        // Without tmux here, the capture part is replaced by a fixed screen.
        let script = argv[2].replacen(
            &format!("tmux -S {SOCKET} capture-pane -p -J -t {TARGET}"),
            "echo screen",
            1,
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .args(&argv[3..])
            .output()
            .unwrap();
        let l = split_look(&String::from_utf8_lossy(&out.stdout), false, true);
        assert_eq!(l.screen.as_deref(), Some("screen\n"));
        let mut got: Vec<(String, u64, u64, String)> = l
            .files
            .into_iter()
            .map(|f| (f.path, f.size, f.offset, f.data_b64))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (path(&a), 6, 2, "Y2Rl".to_string()),
                (path(&b), 2, 0, "eHk=".to_string()),
            ]
        );
    }
}

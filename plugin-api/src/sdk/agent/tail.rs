//! Reading JSON-lines transcripts without reading them whole.
//!
//! [`RevLines`] walks a file's lines from the end in fixed-size chunks, so finding "the newest
//! entry of this kind" in a 100 MB transcript touches only its last few KiB. [`Cursor`] follows a
//! growing file forwards from where the previous call stopped, for totals (tokens, cost) that
//! need every line but should read each byte once. Memory is bounded by the chunk size plus the
//! longest line kept; longer lines (a pasted log in a tool result) are skipped, not buffered.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes read per step.
const CHUNK: usize = 64 * 1024;
/// Lines longer than this are skipped (their content is not an activity or usage signal we can
/// afford to buffer).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// The lines of a file, newest first.
#[derive(Debug)]
pub struct RevLines {
    file: File,
    /// Bytes before `pos` are not read yet.
    pos: u64,
    /// Unconsumed bytes `[pos, pos + buf.len())`, minus the lines already returned.
    buf: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE`]: drop bytes until its start.
    skipping: bool,
    /// Bytes read so far (for benchmarks and tests of the bound).
    read: u64,
}

impl RevLines {
    /// Opens `path` positioned at its end.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let pos = file.metadata()?.len();
        Ok(Self {
            file,
            pos,
            buf: Vec::new(),
            skipping: false,
            read: 0,
        })
    }

    /// Bytes read from the file so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The previous line (without its newline), or `None` at the start of the file.
    pub fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf.iter().rposition(|b| *b == b'\n') {
                let line = self.buf.split_off(i + 1);
                self.buf.truncate(i);
                if std::mem::take(&mut self.skipping) || line.is_empty() {
                    continue;
                }
                return Ok(Some(line));
            }
            if self.pos == 0 {
                if self.buf.is_empty() || std::mem::take(&mut self.skipping) {
                    self.buf.clear();
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
            if self.buf.len() > MAX_LINE {
                self.buf.clear();
                self.skipping = true;
            }
            let n = (self.pos as usize).min(CHUNK);
            self.pos -= n as u64;
            let mut chunk = vec![0u8; n];
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.read_exact(&mut chunk)?;
            self.read += n as u64;
            chunk.extend_from_slice(&self.buf);
            self.buf = chunk;
        }
    }

    /// The newest line for which `f` returns `Some`, looking at no more than `max_bytes`.
    pub fn find_map<T>(
        &mut self,
        max_bytes: u64,
        mut f: impl FnMut(&[u8]) -> Option<T>,
    ) -> io::Result<Option<T>> {
        while let Some(line) = self.next_line()? {
            if let Some(t) = f(&line) {
                return Ok(Some(t));
            }
            if self.read > max_bytes {
                break;
            }
        }
        Ok(None)
    }
}

/// The first lines of a file, up to `max_bytes` in all (a transcript's opening: its session
/// metadata and the first task).
pub fn head_lines(path: &Path, max_bytes: usize) -> io::Result<Vec<Vec<u8>>> {
    let mut buf = Vec::with_capacity(max_bytes.min(CHUNK));
    File::open(path)?
        .take(max_bytes as u64)
        .read_to_end(&mut buf)?;
    let complete = buf.len() < max_bytes;
    let mut lines: Vec<Vec<u8>> = buf.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if !complete {
        lines.pop(); // cut mid-line
    }
    lines.retain(|l| !l.is_empty());
    Ok(lines)
}

/// Where a forward reader stopped in a file, and which file that was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    identity: Option<(u64, u64)>,
    offset: u64,
}

/// What [`Cursor::read_new_lines`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// New lines (maybe none) after the previous position.
    Continued,
    /// The file was replaced or truncated: reading restarted at 0, so totals must be reset
    /// before the lines were fed.
    Restarted,
}

impl Cursor {
    /// The byte offset after the last complete line consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Feeds every complete line written since the last call to `f`. A trailing line without
    /// its newline (a write in progress) is left for the next call.
    pub fn read_new_lines(
        &mut self,
        path: &Path,
        reset: impl FnOnce(),
        mut f: impl FnMut(&[u8]),
    ) -> io::Result<Progress> {
        use std::os::unix::fs::MetadataExt;
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let identity = Some((meta.dev(), meta.ino()));
        let mut progress = Progress::Continued;
        if self.identity != identity || meta.len() < self.offset {
            if self.identity.is_some() {
                progress = Progress::Restarted;
            }
            reset();
            *self = Cursor {
                identity,
                offset: 0,
            };
        }
        file.seek(SeekFrom::Start(self.offset))?;
        // The current line's bytes seen in earlier chunks: kept in `carry`, or only counted
        // in `pending` while skipping an over-long line.
        let mut carry: Vec<u8> = Vec::new();
        let mut pending: u64 = 0;
        let mut skipping = false;
        let mut chunk = vec![0u8; 4 * CHUNK];
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            let mut rest = &chunk[..n];
            while let Some(i) = rest.iter().position(|b| *b == b'\n') {
                let too_long = pending + i as u64 > MAX_LINE as u64;
                if !std::mem::take(&mut skipping) && !too_long {
                    if carry.is_empty() {
                        f(&rest[..i]);
                    } else {
                        carry.extend_from_slice(&rest[..i]);
                        f(&carry);
                    }
                }
                self.offset += pending + i as u64 + 1;
                pending = 0;
                carry.clear();
                rest = &rest[i + 1..];
            }
            pending += rest.len() as u64;
            if !skipping {
                carry.extend_from_slice(rest);
                if carry.len() > MAX_LINE {
                    carry = Vec::new();
                    skipping = true;
                }
            }
        }
        Ok(progress)
    }
}

/// Running totals per followed file: where reading stopped, and what was summed so far.
pub type FollowCache<T> = Mutex<HashMap<PathBuf, (Cursor, T)>>;

/// Feeds the lines appended to `path` since the last call to `feed`, on the totals kept for
/// it in `cache` (reset when the file was replaced or truncated), and returns a copy of them.
pub fn follow<T: Default + Clone>(
    cache: &FollowCache<T>,
    path: &Path,
    mut feed: impl FnMut(&mut T, &[u8]),
) -> io::Result<T> {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    let (cursor, acc) = cache.entry(path.to_path_buf()).or_default();
    // The reset is announced before the first line is fed; both closures need the totals.
    let restart = std::cell::Cell::new(false);
    cursor.read_new_lines(
        path,
        || restart.set(true),
        |line| {
            if restart.replace(false) {
                *acc = T::default();
            }
            feed(acc, line);
        },
    )?;
    if restart.get() {
        *acc = T::default();
    }
    Ok(acc.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(text: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text).unwrap();
        f
    }

    fn all_rev(path: &Path) -> Vec<String> {
        let mut r = RevLines::open(path).unwrap();
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(String::from_utf8(l).unwrap());
        }
        out
    }

    #[test]
    fn reverse_lines_across_chunk_edges() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("line {i} {}\n", "x".repeat(i % 37)));
        }
        let f = file_with(text.as_bytes());
        let got = all_rev(f.path());
        let mut want: Vec<String> = text.lines().map(str::to_owned).collect();
        want.reverse();
        assert_eq!(got, want);
    }

    #[test]
    fn a_torn_last_line_and_empty_lines() {
        let f = file_with(b"a\n\nb\n{\"torn");
        assert_eq!(all_rev(f.path()), ["{\"torn", "b", "a"]);
        let f = file_with(b"");
        assert!(all_rev(f.path()).is_empty());
    }

    #[test]
    fn giant_lines_are_skipped_with_bounded_memory() {
        let mut text = b"first\n".to_vec();
        text.extend(std::iter::repeat_n(b'g', MAX_LINE + 3 * CHUNK));
        text.extend_from_slice(b"\nlast\n");
        let f = file_with(&text);
        assert_eq!(all_rev(f.path()), ["last", "first"]);

        let mut cursor = Cursor::default();
        let mut seen = Vec::new();
        cursor
            .read_new_lines(
                f.path(),
                || {},
                |l| seen.push(String::from_utf8_lossy(l).into_owned()),
            )
            .unwrap();
        assert_eq!(seen, ["first", "last"]);
        assert_eq!(cursor.offset(), text.len() as u64);
    }

    #[test]
    fn the_cursor_reads_each_line_once_and_restarts_on_truncation() {
        let mut f = file_with(b"one\ntwo\nthr");
        let mut cursor = Cursor::default();
        let mut seen = Vec::new();
        let feed = |cursor: &mut Cursor, seen: &mut Vec<String>, path: &Path| {
            let mut resets = 0;
            let p = cursor
                .read_new_lines(
                    path,
                    || resets += 1,
                    |l| seen.push(String::from_utf8_lossy(l).into()),
                )
                .unwrap();
            (p, resets)
        };
        assert_eq!(
            feed(&mut cursor, &mut seen, f.path()),
            (Progress::Continued, 1)
        );
        assert_eq!(seen, ["one", "two"]);
        f.write_all(b"ee\nfour\n").unwrap();
        assert_eq!(
            feed(&mut cursor, &mut seen, f.path()),
            (Progress::Continued, 0)
        );
        assert_eq!(seen, ["one", "two", "three", "four"]);
        std::fs::write(f.path(), b"new\n").unwrap();
        seen.clear();
        assert_eq!(
            feed(&mut cursor, &mut seen, f.path()),
            (Progress::Restarted, 1)
        );
        assert_eq!(seen, ["new"]);
    }

    #[test]
    fn head_lines_stop_at_the_byte_budget() {
        let f = file_with(b"alpha\nbeta\ngamma\n");
        assert_eq!(head_lines(f.path(), 8).unwrap(), [b"alpha".to_vec()]);
        assert_eq!(head_lines(f.path(), 100).unwrap().len(), 3);
    }
}

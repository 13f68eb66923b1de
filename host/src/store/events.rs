//! `events.jsonl`: every event, reaction and decision, one JSON object per line.
//!
//! Each record is appended with a single `write` on an `O_APPEND` descriptor and kept under
//! 4 KiB, so concurrent writers never interleave within a line (POSIX makes small appends
//! atomic on local files). When the file passes its size limit it is renamed to `.1` (older
//! generations shift to `.2`, …) under a lock. A reader skips a torn or unparsable line.

use crate::Error;
use crate::store::metadata;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest record written; bigger `data` is replaced by a marker.
pub const MAX_LINE: usize = 4096;

/// One logged record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Epoch ms.
    pub ts: u64,
    /// `session.spawned`, `ci.failing`, `reaction.skipped`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `urgent`, `action`, `warning`, `info`.
    pub priority: String,
    /// The session, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// One line for people.
    #[serde(default)]
    pub message: String,
    /// Anything else.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

/// An event log with rotation.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
}

impl EventLog {
    /// A log at `path` rotated at `max_bytes`, keeping `keep` old generations.
    pub fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        Self {
            path,
            max_bytes,
            keep: keep.max(1),
        }
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record.
    pub fn append(&self, record: &EventRecord) -> Result<(), Error> {
        let mut line = serde_json::to_string(record).expect("events serialise");
        if line.len() + 1 > MAX_LINE {
            let mut cut = record.clone();
            cut.data = serde_json::json!({ "truncated": true });
            cut.message = cut.message.chars().take(512).collect();
            line = serde_json::to_string(&cut).expect("events serialise");
        }
        line.push('\n');
        if let Some(dir) = self.path.parent() {
            crate::paths::private_dir_all(dir)
                .map_err(|e| Error::io("could not create", dir, e))?;
        }
        self.rotate_if_needed()?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| Error::io("could not open", &self.path, e))?;
        // Never glue onto a torn last line: that would lose this event with the torn one.
        if ends_torn(&mut f) {
            line.insert(0, '\n');
        }
        // One write call: the line is under PIPE_BUF-like sizes, so appends do not interleave.
        let n = f
            .write(line.as_bytes())
            .map_err(|e| Error::io("could not append to", &self.path, e))?;
        if n != line.len() {
            return Err(Error::io(
                "short append to",
                &self.path,
                std::io::Error::other("partial write"),
            ));
        }
        Ok(())
    }

    fn rotate_if_needed(&self) -> Result<(), Error> {
        let big = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.len() >= self.max_bytes)
                .unwrap_or(false)
        };
        if !big(&self.path) {
            return Ok(());
        }
        let _held = metadata::lock(&self.path)?;
        // Re-check under the lock: another writer may have rotated already.
        if !big(&self.path) {
            return Ok(());
        }
        for g in (1..self.keep).rev() {
            let _ = std::fs::rename(self.generation(g), self.generation(g + 1));
        }
        std::fs::rename(&self.path, self.generation(1))
            .map_err(|e| Error::io("could not rotate", &self.path, e))
    }

    fn generation(&self, g: u32) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{g}"));
        self.path.with_file_name(name)
    }

    /// Every readable record of the current file, oldest first; torn or invalid lines (bad
    /// bytes included) skipped, never the lines after them.
    pub fn read(&self) -> Result<Vec<EventRecord>, Error> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(records(&bytes, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io("could not read", &self.path, e)),
        }
    }

    /// The records in the last `max_bytes` of the current file, oldest first (the first,
    /// probably cut, line of that window left out).
    pub fn tail(&self, max_bytes: u64) -> Vec<EventRecord> {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let from = len.saturating_sub(max_bytes);
        let mut bytes = Vec::new();
        if f.seek(SeekFrom::Start(from)).is_err() || f.read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        records(&bytes, from > 0)
    }
}

/// Whether an open log ends in the middle of a line (a writer died mid-append). Appends go
/// to the end whatever this read moved, so the same handle then writes.
fn ends_torn(f: &mut std::fs::File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// The records in `bytes`, one per line; a line that is not a record (torn, not UTF-8, not
/// JSON) is skipped and the next one read. `cut_first`: the first line starts mid-way.
pub fn records(bytes: &[u8], cut_first: bool) -> Vec<EventRecord> {
    bytes
        .split(|b| *b == b'\n')
        .skip(usize::from(cut_first))
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// Follows an event log for a live view (the dashboard's stream, `ao demo`'s timeline): each
/// call returns the complete lines appended since the last one, each read once; a shorter file
/// (rotated) starts over.
#[derive(Debug, Default)]
pub struct Tail {
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    /// A tail that starts at the file's current end: only what is appended from now on.
    pub fn at_end(path: &Path) -> Tail {
        Tail {
            offset: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            partial: Vec::new(),
        }
    }

    /// The complete lines appended since the last call. Bytes, not text, are read, so a bad
    /// byte costs its own line only (it used to stop the tail for good, and every live stream
    /// with it); a line that is not UTF-8 is skipped.
    pub fn new_lines(&mut self, path: &Path) -> Vec<String> {
        let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
            return Vec::new();
        };
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        if len == self.offset {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path).and_then(|mut f| {
            use std::io::{Read, Seek, SeekFrom};
            f.seek(SeekFrom::Start(self.offset))?;
            f.take(len - self.offset).read_to_end(&mut bytes)
        });
        if read.is_err() {
            return Vec::new();
        }
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        complete
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| String::from_utf8(l.to_vec()).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One bad byte used to stop every reader at it: the API lost every later event, the live
    /// stream stopped for all clients, and a tail starting inside a multi-byte character
    /// showed nothing. Each reader now skips what it cannot read and goes on.
    #[test]
    fn a_bad_line_costs_itself_only_and_no_append_glues_onto_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.jsonl"), 1 << 20, 3);
        log.append(&rec(1)).unwrap();
        let mut live = Tail::at_end(log.path());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        f.write_all(b"{\"ts\":2,\"type\":\"\xff\xfe\"}\n").unwrap();
        log.append(&rec(3)).unwrap();
        let ts: Vec<u64> = log.read().unwrap().iter().map(|r| r.ts).collect();
        assert_eq!(ts, [1, 3]);
        let lines = live.new_lines(log.path());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("\"ts\":3"));
        log.append(&rec(4)).unwrap();
        assert_eq!(live.new_lines(log.path()).len(), 1, "the tail goes on");

        // A torn last line (a writer killed mid-append): the next event is not glued to it.
        f.write_all(br#"{"ts":5,"type":"sess"#).unwrap();
        log.append(&rec(6)).unwrap();
        let ts: Vec<u64> = log.read().unwrap().iter().map(|r| r.ts).collect();
        assert_eq!(ts, [1, 3, 4, 6]);

        // A window that starts inside a multi-byte character still yields the events after.
        let mut with_text = rec(7);
        with_text.message = "é".repeat(40);
        log.append(&with_text).unwrap();
        log.append(&rec(8)).unwrap();
        let bytes = std::fs::read(log.path()).unwrap();
        let first_e = bytes.iter().position(|b| *b == 0xc3).unwrap();
        // The window starts on the second byte of event 7's first é.
        let window = (bytes.len() - first_e - 1) as u64;
        let got: Vec<u64> = log.tail(window).iter().map(|r| r.ts).collect();
        assert_eq!(got, [8]);
    }

    #[test]
    fn a_tail_reads_only_complete_new_lines_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("events.jsonl");
        std::fs::write(&f, "{\"a\":1}\n{\"b\"").unwrap();
        let mut t = Tail::default();
        assert_eq!(t.new_lines(&f), ["{\"a\":1}"]);
        assert!(t.new_lines(&f).is_empty());
        std::fs::write(&f, "{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(t.new_lines(&f), ["{\"b\":2}"]);
        std::fs::write(&f, "{\"c\":3}\n").unwrap();
        assert_eq!(t.new_lines(&f), ["{\"c\":3}"], "rotated");
        let mut from_now = Tail::at_end(&f);
        assert!(from_now.new_lines(&f).is_empty());
    }

    fn rec(i: u64) -> EventRecord {
        EventRecord {
            ts: i,
            kind: "session.working".into(),
            priority: "info".into(),
            session: Some(format!("app-{i}")),
            message: "working".into(),
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.jsonl"), 1 << 20, 3);
        log.append(&rec(1)).unwrap();
        log.append(&rec(2)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap();
        f.write_all(br#"{"ts":3,"type":"sess"#).unwrap();
        assert_eq!(log.read().unwrap(), vec![rec(1), rec(2)]);
    }

    #[test]
    fn rotates_by_size_and_keeps_generations() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.jsonl"), 300, 2);
        for i in 0..40 {
            log.append(&rec(i)).unwrap();
        }
        assert!(std::fs::metadata(log.path()).unwrap().len() < 300 + MAX_LINE as u64);
        assert!(dir.path().join("events.jsonl.1").exists());
        assert!(dir.path().join("events.jsonl.2").exists());
        assert!(!dir.path().join("events.jsonl.3").exists());
        assert_eq!(log.read().unwrap().last().unwrap().ts, 39);
    }

    #[test]
    fn oversized_records_are_cut_below_the_line_limit() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path().join("events.jsonl"), 1 << 20, 3);
        let mut big = rec(1);
        big.data = serde_json::json!({ "log": "x".repeat(10_000) });
        log.append(&big).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.len() <= MAX_LINE);
        assert_eq!(
            log.read().unwrap()[0].data,
            serde_json::json!({ "truncated": true })
        );
    }
}

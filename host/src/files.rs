//! Reading files people name (the config, `agentRulesFile`): regular files only, opened
//! without blocking and read up to a cap. A FIFO given as a rules file once stalled the whole
//! daemon on its first spawn: `open` of a FIFO waits for a writer, and a read of it forever.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The text of the regular file at `path`, at most `max` bytes; anything else (a FIFO, a
/// device, a directory, a file too big) is an error that says so.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        // A FIFO opens at once instead of waiting for a writer; a regular file ignores it.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB", max / 1024),
        ));
    }
    let mut text = String::new();
    file.take(max).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_devices_and_big_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("rules");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo on a path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let start = std::time::Instant::now();
        let e = read_regular(&fifo, 1024).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(read_regular(Path::new("/dev/zero"), 1024).is_err());
        assert!(read_regular(dir.path(), 1024).is_err());
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert!(
            read_regular(&big, 1024)
                .unwrap_err()
                .to_string()
                .contains("larger")
        );
        std::fs::write(&big, "ok").unwrap();
        assert_eq!(read_regular(&big, 1024).unwrap(), "ok");
    }
}

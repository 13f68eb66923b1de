//! Where logs go: stderr (the daemon's log file), through a writer whose failures never reach
//! the code that logged. A full disk used to panic the task that logged (the formatter reports
//! its own write errors with `eprintln!`, which panics when stderr cannot be written), and the
//! engine's poller died with it. Lines that cannot be written are counted; the first line that
//! can be written again is preceded by how many were lost and why, so the log says it once.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

static LOST: AtomicU64 = AtomicU64::new(0);
static WHY: Mutex<String> = Mutex::new(String::new());

/// stderr that never fails.
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        let lost = LOST.load(Ordering::Relaxed);
        if lost > 0 {
            let why = WHY.lock().map(|w| w.clone()).unwrap_or_default();
            let notice = format!("ao: {lost} log line(s) could not be written ({why})\n");
            if err.write_all(notice.as_bytes()).is_ok() {
                LOST.fetch_sub(lost, Ordering::Relaxed);
            }
        }
        if let Err(e) = err.write_all(buf) {
            LOST.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut w) = WHY.lock() {
                *w = e.to_string();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

//! What the benchmark examples share: the target dir they were built into, and a private plugin
//! directory holding only the libraries a benchmark wants (the fixtures beside them are broken on
//! purpose).

use ao::plugins::discovery::{SearchDir, SearchPath, Source};

#[allow(dead_code)] // only the lifecycle benchmarks build a fleet
pub(crate) mod fleet;
use std::path::PathBuf;

/// `target/<profile>`: where `ao` and the plugin libraries are.
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A temp dir with copies of the libraries in `target_dir()` whose crate name `keep` accepts,
/// and a search path over it.
pub(crate) fn plugin_dir(keep: impl Fn(&str) -> bool) -> (tempfile::TempDir, SearchPath) {
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(target_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let crate_name = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(suffix));
        if crate_name.is_some_and(&keep) {
            std::fs::copy(&p, dir.path().join(&name)).unwrap();
        }
    }
    let search = SearchPath {
        dirs: vec![SearchDir {
            path: dir.path().to_path_buf(),
            source: Source::Flag,
        }],
    };
    (dir, search)
}

/// A memory figure of `pid` from /proc (`VmRSS:`, `RssAnon:`, …), in MB.
#[allow(dead_code)] // not every benchmark reads memory
fn status_mb(pid: &str, name: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// (RSS, peak RSS) of `pid` in MB.
#[allow(dead_code)] // not every benchmark reads memory
pub(crate) fn rss_mb(pid: &str) -> (f64, f64) {
    (status_mb(pid, "VmRSS:"), status_mb(pid, "VmHWM:"))
}

/// The RSS of `pid` split into (anonymous, file-backed: the mapped binary and libraries), MB.
#[allow(dead_code)] // not every benchmark reads memory
pub(crate) fn rss_split_mb(pid: &str) -> (f64, f64) {
    (status_mb(pid, "RssAnon:"), status_mb(pid, "RssFile:"))
}

/// CPU time (user + system) of a process, in ms, from /proc.
#[allow(dead_code)] // not every benchmark reads CPU
pub(crate) fn proc_cpu_ms(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name in parentheses; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks * 1000.0 / hz
}

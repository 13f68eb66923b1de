//! Where `ao` keeps things. Every path is derived, none configured (DESIGN §2), so tests only
//! need a temporary `HOME`.

use std::path::PathBuf;

/// An absolute directory, or none: an empty or relative `HOME` (or XDG variable) would put
/// state under whatever the current directory happens to be.
fn absolute(dir: Option<PathBuf>) -> Option<PathBuf> {
    dir.filter(|d| d.is_absolute())
}

/// `~/.agent-orchestrator`: sessions, event logs, worktrees.
pub fn data_dir() -> Option<PathBuf> {
    absolute(dirs::home_dir()).map(|h| h.join(".agent-orchestrator"))
}

/// Where `ao plugins install` puts plugins: `<data_local_dir>/agent-orchestrator/plugins`.
pub fn user_plugin_dir() -> Option<PathBuf> {
    absolute(dirs::data_local_dir()).map(|d| d.join("agent-orchestrator").join("plugins"))
}

/// Derived facts about plugins (probe results, ABI reports): safe to delete at any time.
pub fn cache_dir() -> Option<PathBuf> {
    absolute(dirs::cache_dir()).map(|d| d.join("agent-orchestrator"))
}

/// The directory holding the running `ao` executable.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .canonicalize()
        .ok()?
        .parent()
        .map(PathBuf::from)
}

//! Where `ao` keeps things. Every path is derived, none configured (DESIGN §2), so tests only
//! need a temporary `HOME`.

use std::path::PathBuf;

/// An absolute directory, or none: an empty or relative `HOME` (or XDG variable) would put
/// state under whatever the current directory happens to be.
fn absolute(dir: Option<PathBuf>) -> Option<PathBuf> {
    dir.filter(|d| d.is_absolute())
}

/// Creates `dir` and its missing parents readable by their owner alone (0700): the data dir
/// holds prompts with the text of private issues, and agents' transcripts and status.
pub fn private_dir_all(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes the data dir private: created 0700, and an older one (ao once made it 0755)
/// tightened. Everything ao keeps is under it, so no other local user can read any of it.
pub fn secure_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    private_dir_all(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
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

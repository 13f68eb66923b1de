//! Running an external command from the host: an argument vector (never a shell string) and a
//! deadline. The same runner plugins use (`ao_plugin_api::sdk::command`), so timeouts kill the
//! whole process group here too.

use ao_plugin_api::sdk::command::Command;
use std::time::Duration;

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit success.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// Runs `argv` with no stdin; kills it after `timeout`. `Err` is one line.
pub fn run(argv: &[&str], timeout: Duration) -> Result<Finished, String> {
    let out = Command::from_argv(argv)
        .map_err(|e| e.to_string())?
        .timeout(timeout)
        .run(None)
        .map_err(|e| e.to_string())?;
    Ok(Finished {
        success: out.success(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// SIGKILLs every process in group `pgid` (a child started with `process_group(0)` and
/// whatever it started); an empty group is fine.
pub fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: kill(2) on a process group touches no memory of ours.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// Whether process `pid` exists and has not exited. A zombie counts as gone: where PID 1 does
/// not reap orphans (some containers), a SIGKILLed daemon stays a zombie and `kill(pid, 0)`
/// alone would call it alive for ever.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    if pid <= 0 || unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    // Linux: the state is the field after the parenthesised command name.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zombie_is_not_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(super::alive(pid));
        child.kill().unwrap();
        // Killed but not yet reaped: a zombie.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while super::alive(pid) {
            assert!(std::time::Instant::now() < deadline, "still alive");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.wait().unwrap();
        assert!(!super::alive(pid));
        assert!(!super::alive(0));
    }
}

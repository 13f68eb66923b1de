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

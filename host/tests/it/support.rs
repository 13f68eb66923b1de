//! Shared helpers: where the built libraries are, a hermetic `ao` command, temp plugin dirs.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The `ao` binary under test.
pub fn ao_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ao"))
}

/// The cargo target dir holding the binary and the cdylibs.
pub fn target_dir() -> PathBuf {
    ao_exe().parent().unwrap().to_path_buf()
}

/// The built cdylib of a workspace crate (`ao_plugin_notifier_webhook`, `ao_fixture_panic`).
pub fn lib(crate_name: &str) -> PathBuf {
    let p = target_dir().join(format!("{DLL_PREFIX}{crate_name}{DLL_SUFFIX}"));
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// Every test library by crate name.
pub const WEBHOOK: &str = "ao_plugin_notifier_webhook";
pub const RUNTIME_TMUX: &str = "ao_plugin_runtime_tmux";
pub const RUNTIME_DOCKER: &str = "ao_plugin_runtime_docker";
pub const RUNTIME_K8S: &str = "ao_plugin_runtime_k8s";
pub const WORKTREE: &str = "ao_plugin_workspace_worktree";
pub const GITHUB: &str = "ao_plugin_github";
pub const SCRIPTED: &str = "ao_plugin_agent_scripted";
pub const CLAUDE_CODE: &str = "ao_plugin_agent_claude_code";
pub const CODEX: &str = "ao_plugin_agent_codex";
pub const AIDER: &str = "ao_plugin_agent_aider";
pub const OPENCODE: &str = "ao_plugin_agent_opencode";
pub const TERMINAL_TMUX: &str = "ao_plugin_terminal_tmux";
pub const TERMINAL_WEB: &str = "ao_plugin_terminal_web";
pub const PANIC: &str = "ao_fixture_panic";
pub const HANG: &str = "ao_fixture_hang";
pub const ABORT: &str = "ao_fixture_abort";
pub const PROTOCOL_MAJOR: &str = "ao_fixture_protocol_major";
pub const NOT_AO: &str = "ao_fixture_not_ao";

/// A temporary HOME and a plugin dir, both removed on drop.
pub struct Sandbox {
    pub home: tempfile::TempDir,
    pub plugins: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
            plugins: tempfile::tempdir().unwrap(),
        }
    }

    /// Copies built libraries into the sandbox's plugin dir.
    pub fn with_libs(self, crates: &[&str]) -> Self {
        for c in crates {
            let src = lib(c);
            std::fs::copy(&src, self.plugins.path().join(src.file_name().unwrap())).unwrap();
        }
        self
    }

    /// Writes an arbitrary file into the plugin dir.
    pub fn with_file(self, name: &str, bytes: &[u8]) -> Self {
        std::fs::write(self.plugins.path().join(name), bytes).unwrap();
        self
    }

    /// `ao` with HOME in the sandbox, only the sandbox's plugin dir searched.
    pub fn ao(&self) -> assert_cmd::Command {
        let mut cmd = self.ao_default_path();
        cmd.env("AO_NO_DEFAULT_PLUGINS", "1")
            .env("AO_PLUGIN_PATH", self.plugins.path());
        cmd
    }

    /// `ao` with HOME in the sandbox and the default search path (user dir, dev dir).
    pub fn ao_default_path(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(ao_exe());
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1");
        cmd
    }

    /// The user plugin directory inside the sandbox HOME.
    pub fn user_plugin_dir(&self) -> PathBuf {
        self.home
            .path()
            .join(".local/share/agent-orchestrator/plugins")
    }
}

/// Insta filters that hide the sandbox paths.
pub fn filters(sb: &Sandbox) -> Vec<(String, String)> {
    vec![
        (
            regex_escape(&sb.plugins.path().display().to_string()),
            "[PLUGINS]".into(),
        ),
        (
            regex_escape(&sb.home.path().display().to_string()),
            "[HOME]".into(),
        ),
        (
            regex_escape(&target_dir().display().to_string()),
            "[TARGET]".into(),
        ),
    ]
}

/// Escapes a literal for an insta filter (a regex).
pub fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Runs a command that must succeed (showing its stderr when it does not).
pub fn succeed(cmd: &mut assert_cmd::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Parses a command's stdout as JSON.
pub fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The `data` entry of `ao plugins list --json` with this name.
pub fn entry<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {list:#}"))
}

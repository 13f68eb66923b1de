//! The demo's surroundings: the forge simulator as a child process (its `demo` scenario brings
//! the repository, the issues, CI and the reviewer), a checkout of the repository, and the config
//! `ao` runs with. Nothing here talks to the network beyond 127.0.0.1.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

/// The environment variable the demo's config names for the forge token (secrets by reference).
pub(crate) const TOKEN_ENV: &str = "AO_DEMO_FORGE_TOKEN";

/// The project id in the demo's config.
pub(crate) const PROJECT: &str = "greeter";

/// The running forge simulator and what its scenario set up.
pub(crate) struct Forge {
    child: Child,
    /// Closing it stops the simulator (`--stdin-lifeline`), even if we die first.
    lifeline: Option<ChildStdin>,
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) repo: String,
    pub(crate) git_dir: PathBuf,
    pub(crate) playbook: PathBuf,
    pub(crate) issues: Vec<String>,
}

impl Drop for Forge {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program built beside this `ao` (the workspace's `target/<profile>/`).
pub(crate) fn sibling(name: &str) -> Result<PathBuf> {
    let dir = ao::paths::exe_dir().ok_or_else(|| anyhow!("cannot tell where ao is installed"))?;
    let p = dir.join(name);
    if !p.is_file() {
        bail!(
            "`ao demo` needs {name} beside ao ({} is missing): build it with `cargo build --workspace`",
            p.display()
        );
    }
    Ok(p)
}

/// Starts `ao-forge-sim --scenario demo` with its files under `dir` and waits for its keys.
pub(crate) fn start_forge(dir: &Path) -> Result<Forge> {
    let exe = sibling("ao-forge-sim")?;
    let log_path = dir.join("forge-sim.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("could not create {}", log_path.display()))?;
    let mut child = Command::new(&exe)
        .arg("--dir")
        .arg(dir.join("forge"))
        .args(["--scenario", "demo", "--stdin-lifeline"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("could not run {}", exe.display()))?;
    let lifeline = child.stdin.take();
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut keys = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The token comes last: once it is there, everything is.
    while !keys.contains_key("AO_FORGE_TOKEN") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some((k, v)) = line.split_once('=') {
                    keys.insert(k.to_string(), v.to_string());
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let why = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!(
                    "the forge simulator did not start: {}",
                    why.lines().last().unwrap_or("no output within 30 s")
                );
            }
        }
    }
    let mut take = |k: &str| {
        keys.remove(k)
            .ok_or_else(|| anyhow!("the forge simulator did not say {k}"))
    };
    Ok(Forge {
        url: take("AO_FORGE_URL")?,
        token: take("AO_FORGE_TOKEN")?,
        repo: take("AO_DEMO_REPO")?,
        git_dir: take("AO_DEMO_GIT")?.into(),
        playbook: take("AO_DEMO_PLAYBOOK")?.into(),
        issues: take("AO_DEMO_ISSUES")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        child,
        lifeline,
    })
}

/// `git clone` of the forge's repository into `dir/<project>`.
pub(crate) fn clone(forge: &Forge, dir: &Path) -> Result<PathBuf> {
    let dest = dir.join(PROJECT);
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&forge.git_dir)
        .arg(&dest)
        .stdin(Stdio::null())
        .output()
        .context("could not run git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git clone failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(dest)
}

/// Writes `dir/agent-orchestrator.yaml`: the scripted agent in tmux on a private socket,
/// GitHub (the simulator) as tracker and SCM, notifications to the demo's inbox, auto-merge.
pub(crate) fn write_config(
    forge: &Forge,
    dir: &Path,
    checkout: &Path,
    inbox: &str,
) -> Result<PathBuf> {
    let github = json!({"plugin": "github", "apiUrl": forge.url, "tokenEnv": TOKEN_ENV});
    let config = json!({
        "port": 0,
        "pollInterval": "1s",
        "notifiers": {"inbox": {"plugin": "webhook", "url": inbox, "retries": 0}},
        "defaults": {"notifiers": ["inbox"]},
        "projects": {PROJECT: {
            "path": checkout,
            "repo": forge.repo,
            "agent": "scripted",
            "agentConfig": {"script": forge.playbook, "workMs": 300},
            "runtimeConfig": {"socket": dir.join("tmux.sock")},
            "tracker": github,
            "scm": github,
            "reactions": {"approved-and-green": {"auto": true, "action": "auto-merge"}}
        }}
    });
    let file = dir.join("agent-orchestrator.yaml");
    let text = format!(
        "# Written by `ao demo`. YAML is a superset of JSON.\n{}\n",
        serde_json::to_string_pretty(&config)?
    );
    std::fs::write(&file, text).with_context(|| format!("could not write {}", file.display()))?;
    Ok(file)
}

//! Recorded agent screens shown in a real tmux pane and captured back, as the runtime sees
//! them, for the agent plugins' screen-detection tests.

use crate::{bin_path, wait_for};
use ao_plugin_api::slots::agent::ActivityState;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A private tmux server showing recorded screens.
pub struct ScreenTmux {
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl ScreenTmux {
    /// A new server on a private socket.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("tmux.sock");
        Self { _dir: dir, socket }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Plays `frames` (one: held; several: cycled like a spinner) in a new 120x40 pane and
    /// returns the pane's text once it shows the first frame's last line.
    pub fn capture(&self, name: &str, frames: &[&Path]) -> String {
        let player = bin_path("ao-screen-player");
        let mut args: Vec<String> = vec![
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            name.into(),
            "-x".into(),
            "120".into(),
            "-y".into(),
            "40".into(),
            player.display().to_string(),
            "--interval-ms".into(),
            "100".into(),
        ];
        args.extend(frames.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.tmux(&args);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let first = std::fs::read_to_string(frames[0]).expect("frame");
        let marker = first
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let target = format!("={name}:");
        let mut text = String::new();
        wait_for(&format!("tmux pane {name} to show its screen"), || {
            let out = self.tmux(&["capture-pane", "-p", "-J", "-t", &target]);
            text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.contains(&marker)
        });
        text
    }
}

impl ScreenTmux {
    /// The recorded-screen check every agent adapter passes: `dir` holds `idle.txt`,
    /// `permission.txt` and two spinner frames `working-1.txt`, `working-2.txt` of its TUI, and
    /// `detect` must read them, as captured from a real pane, as ready, waiting for input and
    /// (for every capture of the cycling spinner) active.
    pub fn assert_recorded(&self, dir: &Path, detect: impl Fn(&str) -> Option<ActivityState>) {
        let s = |n: &str| dir.join(format!("{n}.txt"));
        let idle = self.capture("idle", &[&s("idle")]);
        assert_eq!(detect(&idle), Some(ActivityState::Ready), "{idle}");
        let perm = self.capture("perm", &[&s("permission")]);
        assert_eq!(detect(&perm), Some(ActivityState::WaitingInput), "{perm}");
        for i in 0..3 {
            let text = self.capture(&format!("spin{i}"), &[&s("working-1"), &s("working-2")]);
            assert_eq!(detect(&text), Some(ActivityState::Active), "{text}");
        }
    }
}

impl Default for ScreenTmux {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScreenTmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

//! `ao status --watch` in a real terminal: a tmux pane on a private server runs it; the test
//! reads the screen with capture-pane and types with send-keys.

use crate::engine::*;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Pane {
    socket: PathBuf,
}

impl Pane {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "watch"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "watch"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn wait_for(&self, text: &str) -> String {
        let mut screen = String::new();
        let ok = wait_until(Duration::from_secs(20), || {
            screen = self.screen();
            screen.contains(text)
        });
        assert!(ok, "no {text:?} on the screen:\n{screen}");
        screen
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn start_watch(s: &Setup, dir: &Path) -> Pane {
    let socket = dir.join("watch.sock");
    let var = |k: &str, v: &str| format!("{k}={v}");
    let argv = vec![
        "env".to_string(),
        "-i".into(),
        var("HOME", s.sb.home.path().to_str().unwrap()),
        var("PATH", &std::env::var("PATH").unwrap()),
        var("TERM", "xterm-256color"),
        var("AO_NO_DEFAULT_PLUGINS", "1"),
        var("AO_PLUGIN_PATH", s.sb.plugins.path().to_str().unwrap()),
        var("FORGE_TOKEN", ao_testkit::forge::TOKEN),
        ao_exe().display().to_string(),
        "--config".into(),
        s.config.display().to_string(),
        "status".into(),
        "--watch".into(),
    ];
    let ok = Command::new("tmux")
        .arg("-S")
        .arg(&socket)
        .args(["new-session", "-d", "-s", "watch", "-x", "160", "-y", "40"])
        .args(&argv)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    Pane { socket }
}

#[test]
fn watch_shows_the_fleet_sends_a_message_and_attaches() {
    let s = setup_with(Opts {
        rules: Some(serde_json::json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    succeed(s.ao().args(["spawn", "--prompt", "Tidy the README"]));
    s.start();
    let dir = tempfile::tempdir().unwrap();
    let pane = start_watch(&s, dir.path());

    // The fleet, kept up to date, with the events below it.
    let screen = pane.wait_for("app-2");
    assert!(
        screen.contains("SESSION") && screen.contains("app-1"),
        "{screen}"
    );
    pane.wait_for("session.spawned");
    pane.wait_for("session(s)");

    // `s` types a message for the selected session (app-1), Enter sends it.
    pane.keys(&["s"]);
    pane.wait_for("message to app-1:");
    pane.keys(&["-l", "hello from watch"]);
    pane.keys(&["Enter"]);
    pane.wait_for("sent to app-1: the agent took it");
    assert!(s.conversation().contains("hello from watch"));

    // Enter attaches to the agent's terminal; detaching comes back to the view.
    pane.keys(&["Enter"]);
    pane.wait_for("[done 2]");
    pane.keys(&["C-b", "d"]);
    pane.wait_for("back from app-1");

    pane.keys(&["q"]);
    let gone = wait_until(Duration::from_secs(10), || {
        pane.tmux(&["list-panes", "-a", "-F", "#{pane_dead}"])
            .trim()
            != "0"
    });
    assert!(gone, "q did not quit:\n{}", pane.screen());
}

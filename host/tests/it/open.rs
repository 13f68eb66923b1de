//! `ao open` through the Terminal slot, with the real `terminal/tmux` plugin: the human's own
//! tmux is a second tmux server on a private socket, and `ao open` runs "inside" it ($TMUX).

use crate::engine::*;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Outer {
    socket: PathBuf,
    tmux_env: String,
}

impl Outer {
    fn start(dir: &Path) -> Outer {
        let socket = dir.join("human.sock");
        let s = socket.to_str().unwrap();
        let ok = Command::new("tmux")
            .args([
                "-S",
                s,
                "new-session",
                "-d",
                "-s",
                "human",
                "-x",
                "120",
                "-y",
                "40",
            ])
            .args(["sleep", "3600"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "the outer tmux did not start");
        let pid = Self::tmux_at(&socket, &["display-message", "-p", "#{pid}"]);
        Outer {
            tmux_env: format!("{s},{pid},0"),
            socket,
        }
    }

    fn tmux_at(socket: &Path, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn tmux(&self, args: &[&str]) -> String {
        Self::tmux_at(&self.socket, args)
    }

    fn windows(&self) -> Vec<String> {
        self.tmux(&["list-windows", "-a", "-F", "#{window_name}"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Outer {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn ao_open_shows_sessions_as_windows_of_the_humans_tmux() {
    let s = setup_with(Opts {
        rules: Some(serde_json::json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    succeed(s.ao().args(["spawn", "--prompt", "Tidy the README"]));
    let dir = tempfile::tempdir().unwrap();
    let outer = Outer::start(dir.path());

    // One session: a new window attached to it, showing the agent's screen.
    let out =
        succeed(
            s.ao()
                .env("TMUX", &outer.tmux_env)
                .args(["open", "app-1", "--terminal", "tmux"]),
        );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("opened tmux window app-1"), "{stderr}");
    assert!(
        outer.windows().contains(&"app-1".to_string()),
        "{:?}",
        outer.windows()
    );
    let mut screen = String::new();
    let shown = wait_until(Duration::from_secs(15), || {
        screen = outer.tmux(&["capture-pane", "-p", "-t", "human:app-1"]);
        screen.contains("[done 1]")
    });
    assert!(shown, "the window does not show the agent: {screen:?}");

    // Again: the same window is selected, not a second one.
    let out =
        succeed(
            s.ao()
                .env("TMUX", &outer.tmux_env)
                .args(["open", "app-1", "--terminal", "tmux"]),
        );
    assert!(String::from_utf8_lossy(&out.stderr).contains("selected tmux window app-1"));
    assert_eq!(outer.windows().iter().filter(|w| *w == "app-1").count(), 1);

    // Everything: the missing one is added.
    let out =
        succeed(
            s.ao()
                .env("TMUX", &outer.tmux_env)
                .args(["open", "--all", "--terminal", "tmux"]),
        );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("1 new tmux window(s), 1 already open"),
        "{stderr}"
    );
    let mut w = outer.windows();
    w.sort();
    // (The human's own window is named after its command.)
    assert_eq!(w, ["app-1", "app-2", "sleep"]);

    // Outside tmux, and the default terminal without a dashboard: one clear line each.
    let out = s
        .ao()
        .args(["open", "app-1", "--terminal", "tmux"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success() && stderr.contains("$TMUX is not set"),
        "{stderr}"
    );
    // The default terminal (web) needs the dashboard, which is not running here.
    let out = s.ao().args(["open", "app-1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success() && stderr.contains("terminal/web") && stderr.contains("ao start"),
        "{stderr}"
    );
}

#[test]
fn ao_open_with_the_web_terminal_opens_the_dashboard_page_of_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened.txt");
    // The opener records the URL it is given (a browser stand-in; the script is fixed, the URL
    // is its argument).
    let recorder = serde_json::json!(["sh", "-c", "printf '%s\\n' \"$1\" >> \"$0\"", opened]);
    let s = setup_with(Opts {
        rules: Some(serde_json::json!([])),
        extra: Some(serde_json::json!({"terminals": {"web": {"opener": recorder}}})),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));

    // Without the dashboard there is no page to open.
    let out = s.ao().args(["open", "app-1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success() && stderr.contains("ao start"),
        "{stderr}"
    );

    s.start();
    let out = succeed(s.ao().args(["open", "app-1"]));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains("/sessions/app-1 in the browser"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("token"),
        "the token is not shown: {stderr}"
    );
    succeed(s.ao().args(["open", "--all"]));
    let urls = std::fs::read_to_string(&opened).unwrap();
    let urls: Vec<&str> = urls.lines().collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    // The opener's argv (which `ps` shows every local user) holds a one-time code, never the
    // dashboard's token.
    let token = s.dashboard_token();
    assert!(urls.iter().all(|u| !u.contains(token.trim())), "{urls:?}");
    assert!(urls[0].contains("/sessions/app-1?code="), "{urls:?}");
    assert!(urls[1].contains("/?code="), "{urls:?}");
    // The URL really opens the session's page (the code turns into the cookie), once.
    let http = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    );
    let resp = http.get(urls[0]).call().unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/sessions/app-1");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains(token.trim()) && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let again = http.get(urls[0]).call().unwrap();
    assert_eq!(again.status().as_u16(), 401, "a code opens once");
    // Codes are for whoever holds the token only.
    let base = urls[1].split("/?code=").next().unwrap();
    let refused = http
        .post(&format!("{base}/api/open-codes"))
        .send_empty()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
}

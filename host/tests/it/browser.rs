//! The dashboard in a real headless Chromium: the fleet page shows a spawned session and
//! follows its status without a reload, typing in the terminal page reaches the agent in tmux,
//! and without the token nothing is shown. With `AO_SCREENSHOTS=<dir>` the fleet and session
//! pages are saved there (how `docs/` gets its pictures).

use crate::engine::*;
use crate::support::*;
use ao_testkit::browser::Browser;
use serde_json::json;
use std::time::Duration;

fn dashboard_url(s: &Setup) -> String {
    let out = succeed(s.ao().arg("dashboard"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn save(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("AO_SCREENSHOTS") {
        let png = b.screenshot();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

#[test]
fn the_fleet_page_follows_the_fleet_live_and_the_terminal_types_into_tmux() {
    let s = setup_with(Opts {
        rules: Some(json!([
            {"when": "Which colour", "steps": [{"ask": "Blue or green?"}]}
        ])),
        ..Opts::default()
    });
    s.sim
        .world()
        .create_issue(REPO, "Second", "more work", &[], "maintainer")
        .unwrap();
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let url = dashboard_url(&s);
    let base = url.split("/?token=").next().unwrap().to_string();

    // Without the token: refused, nothing of the fleet shown.
    let b = Browser::start();
    b.goto(&format!("{base}/"));
    let text = b.text();
    assert!(
        text.contains("missing or wrong token") && !text.contains("app-1"),
        "{text}"
    );

    // With it: the fleet.
    b.goto(&url);
    b.wait(
        "app-1 on the fleet page",
        "return !!document.getElementById('s-app-1')",
        Duration::from_secs(20),
    );
    b.wait(
        "the live stream",
        "return document.getElementById('live').textContent === 'live'",
        Duration::from_secs(20),
    );
    // A mark that a reload would erase.
    b.run("window.notReloaded = true; return true", json!([]));

    // A session spawned elsewhere appears by itself.
    succeed(s.ao().args(["spawn", "2"]));
    b.wait(
        "app-2 without a reload",
        "return !!document.getElementById('s-app-2') && window.notReloaded === true",
        Duration::from_secs(20),
    );
    // A status change shows by itself too: app-1's agent is asked something it must ask back.
    succeed(
        s.ao()
            .args(["send", "app-1", "Which colour should the button be?"]),
    );
    b.wait(
        "app-1 needs input, without a reload",
        "const r = document.querySelector('#s-app-1 td.st'); \
         return !!r && r.textContent === 'needs_input' && window.notReloaded === true",
        Duration::from_secs(30),
    );
    assert!(b.text().contains("need you"), "{}", b.text());
    save(&b, "dashboard-fleet.png");

    // The session page: facts, timeline, prompt.
    b.goto(&format!("{base}/sessions/app-1"));
    b.wait(
        "the session page",
        "return document.getElementById('timeline').children.length > 0 && \
         document.getElementById('prompt').textContent.includes('Add a greeting')",
        Duration::from_secs(20),
    );
    save(&b, "dashboard-session.png");

    // The terminal: what is typed reaches the agent in tmux.
    types_in_the_terminal(&s, &b, &base, "app-2", "typed in chromium");
}

/// Opens `id`'s terminal page, waits for the agent's screen, types `text` and Enter, and
/// waits for the agent to have received it.
fn types_in_the_terminal(s: &Setup, b: &Browser, base: &str, id: &str, text: &str) {
    b.goto(&format!("{base}/sessions/{id}/terminal"));
    b.wait(
        "the terminal attached",
        "return document.getElementById('live').textContent === 'attached'",
        Duration::from_secs(20),
    );
    b.wait(
        "the agent's screen in xterm.js",
        "const t = window.aoTerm; if (!t) return false; \
         const buf = t.buffer.active; let text = ''; \
         for (let i = 0; i < buf.length; i++) { const l = buf.getLine(i); if (l) text += l.translateToString(true) + '\\n'; } \
         return text.includes('[done 1]')",
        Duration::from_secs(20),
    );
    b.type_into(".xterm-helper-textarea", &format!("{text}\u{E007}"));
    let ok = wait_until(Duration::from_secs(20), || s.conversation().contains(text));
    assert!(ok, "the agent never got it: {}", s.conversation());
}

/// The dashboard's terminal on a session in a Docker container: the pty runs the runtime's
/// attach command (`docker exec -it … tmux attach`), and what is typed reaches the agent.
#[test]
fn the_terminal_types_into_a_docker_session() {
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    let s = setup_with(Opts {
        rules: Some(json!([])),
        docker: Some((image, "clone")),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let url = dashboard_url(&s);
    let base = url.split("/?token=").next().unwrap().to_string();
    let b = Browser::start();
    b.goto(&url);
    types_in_the_terminal(&s, &b, &base, "app-1", "typed into a container");
}

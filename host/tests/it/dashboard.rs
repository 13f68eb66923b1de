//! The dashboard over HTTP, as a browser and a script use it: the token (header, query →
//! cookie, never a cookie alone for actions), the loopback Host check, the JSON API and its
//! actions, and live events by Server-Sent Events.

use crate::engine::*;
use crate::support::*;
use serde_json::{Value, json};
use std::io::BufRead;
use std::time::{Duration, Instant};

struct Dash {
    base: String,
    token: String,
    http: ureq::Agent,
}

impl Dash {
    fn open(s: &Setup) -> Dash {
        let out = succeed(s.ao().arg("dashboard"));
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (base, token) = url.split_once("/?token=").expect("a URL with its token");
        assert!(base.starts_with("http://127.0.0.1:"), "{url}");
        Dash {
            base: base.to_string(),
            token: token.to_string(),
            http: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .build(),
            ),
        }
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn get(&self, path: &str, auth: bool) -> (u16, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if auth {
            req = req.header("Authorization", &format!("Bearer {}", self.token));
        }
        let mut resp = req.call().unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    fn post(&self, path: &str, body: Value, auth: bool) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base));
        if auth {
            req = req.header("X-AO-Token", &self.token);
        }
        let mut resp = req
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            resp.status().as_u16(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

#[test]
fn the_api_needs_the_token_and_streams_events_live() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    s.sim
        .world()
        .create_issue(REPO, "Second", "more work", &[], "maintainer")
        .unwrap();
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let d = Dash::open(&s);

    // No token, a wrong one, or a foreign Host: refused.
    assert_eq!(d.get("/api/sessions", false).0, 401);
    let (status, page) = d.get("/", false);
    assert_eq!(status, 401);
    assert!(page.contains("ao dashboard"), "{page}");
    let wrong = d
        .http
        .get(format!("{}/api/sessions", d.base))
        .header("Authorization", "Bearer 00")
        .call()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let rebound = d
        .http
        .get(format!("{}/api/sessions", d.base))
        .header("Host", "evil.example")
        .header("Authorization", &format!("Bearer {}", d.token))
        .call()
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403, "DNS rebinding");
    // A cookie alone never acts.
    let cookie_only = d
        .http
        .post(format!("{}/api/sessions/app-1/kill", d.base))
        .header("Cookie", &format!("ao_token_{}={}", d.port(), d.token))
        .send("{}")
        .unwrap();
    assert_eq!(cookie_only.status().as_u16(), 401);

    // The printed URL: the token moves into a cookie, and the page works with it.
    let first = d
        .http
        .get(format!("{}/?token={}", d.base, d.token))
        .call()
        .unwrap();
    assert_eq!(first.status().as_u16(), 303);
    assert_eq!(first.headers()["location"], "/");
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    // Named for this port: another dashboard on 127.0.0.1 (whose cookie the browser sends
    // here too) neither logs this one in nor out.
    assert!(
        cookie.starts_with(&format!("ao_token_{}=", d.port())),
        "{cookie}"
    );
    let other_port = d
        .http
        .get(format!("{}/", d.base))
        .header("Cookie", &format!("ao_token_1={}", d.token))
        .call()
        .unwrap();
    assert_eq!(other_port.status().as_u16(), 401, "another port's cookie");
    let mut page = d
        .http
        .get(format!("{}/", d.base))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("ao.fleetPage()"), "{html}");

    // The API.
    let (status, body) = d.get("/api/sessions", true);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["id"], "app-1", "{v}");
    assert_eq!(v["meta"]["projects"][0]["id"], "app");
    let (status, body) = d.get("/api/sessions/app-1", true);
    assert_eq!(status, 200);
    let one: Value = serde_json::from_str(&body).unwrap();
    assert!(
        one["data"]["prompt"]
            .as_str()
            .unwrap()
            .contains("Add a greeting")
    );
    assert_eq!(one["data"]["events"][0]["type"], "session.spawned");
    assert_eq!(d.get("/api/sessions/app-99", true).0, 404);
    assert_eq!(d.get("/sessions/app-1", true).0, 200);

    // Live: a stream open while a session is spawned from the API and told something.
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Value)>();
    let stream = d
        .http
        .get(format!("{}/api/events/stream", d.base))
        .header("Authorization", &format!("Bearer {}", d.token))
        .config()
        .timeout_global(None)
        .build()
        .call()
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    std::thread::spawn(move || {
        let reader = std::io::BufReader::new(stream.into_body().into_reader());
        for line in reader.lines().map_while(Result::ok) {
            if let Some(data) = line.strip_prefix("data: ")
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && tx.send((Instant::now(), v)).is_err()
            {
                break;
            }
        }
    });
    let (status, spawned) = d.post("/api/spawn", json!({"issue": "#2"}), true);
    assert_eq!(status, 200, "{spawned}");
    let id = spawned["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(id, "app-2");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while Instant::now() < deadline {
        if let Ok((_, e)) = rx.recv_timeout(Duration::from_millis(200))
            && e["type"] == "session.spawned"
            && e["session"] == "app-2"
        {
            seen = Some(e);
            break;
        }
    }
    let e = seen.expect("session.spawned of app-2 on the stream");
    assert_eq!(e["projectId"], "app");

    let (status, sent) = d.post(
        "/api/sessions/app-2/send",
        json!({"message": "hello from the dashboard"}),
        true,
    );
    assert_eq!(
        (status, &sent["data"]["acknowledged"]),
        (200, &json!(true)),
        "{sent}"
    );
    assert!(s.conversation().contains("hello from the dashboard"));
    let (status, empty) = d.post("/api/sessions/app-2/send", json!({"message": " "}), true);
    assert_eq!(status, 400, "{empty}");
    let (status, killed) = d.post("/api/sessions/app-2/kill", json!({}), true);
    assert_eq!(status, 200, "{killed}");
    assert!(
        killed["data"]["detail"].as_str().unwrap().contains("app-2"),
        "{killed}"
    );

    // An open stream does not hold up `ao stop`.
    let t = Instant::now();
    succeed(s.ao().arg("stop"));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "ao stop took {:?}",
        t.elapsed()
    );
}

#[test]
fn the_terminal_websocket_is_the_agents_tmux_session() {
    use tungstenite::client::IntoClientRequest;
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "1"]));
    s.start();
    let d = Dash::open(&s);
    let port: u16 = d.base.rsplit(':').next().unwrap().parse().unwrap();
    let url = format!("ws://127.0.0.1:{port}/api/sessions/app-1/terminal/ws");
    let request = |origin: Option<&str>, token: bool| {
        let mut r = url.as_str().into_client_request().unwrap();
        if token {
            r.headers_mut().insert(
                "Authorization",
                format!("Bearer {}", d.token).parse().unwrap(),
            );
        }
        if let Some(o) = origin {
            r.headers_mut().insert("Origin", o.parse().unwrap());
        }
        r
    };
    let status = |r| match tungstenite::connect(r) {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
        Ok(_) => 101,
    };
    assert_eq!(status(request(None, false)), 401, "no token");
    assert_eq!(
        status(request(Some("http://evil.example"), true)),
        403,
        "another site"
    );

    let origin = format!("http://127.0.0.1:{port}");
    let (mut ws, _) = tungstenite::connect(request(Some(&origin), true)).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        tcp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    }
    let mut screen = String::new();
    let mut read_until = |ws: &mut tungstenite::WebSocket<_>, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !screen.contains(want) {
            assert!(Instant::now() < deadline, "no {want:?} in {screen:?}");
            match ws.read() {
                Ok(tungstenite::Message::Binary(b)) => {
                    screen.push_str(&String::from_utf8_lossy(&b))
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    };
    // tmux attach draws the agent's screen.
    read_until(&mut ws, "[done 1]");
    ws.send(tungstenite::Message::text(
        json!({"type": "resize", "cols": 120, "rows": 40}).to_string(),
    ))
    .unwrap();
    // What is typed reaches the agent, as if at its keyboard.
    ws.send(tungstenite::Message::text(
        json!({"type": "input", "data": "typed in the browser\r"}).to_string(),
    ))
    .unwrap();
    read_until(&mut ws, "[done 2]");
    assert!(
        s.conversation().contains("typed in the browser"),
        "{}",
        s.conversation()
    );
    ws.close(None).unwrap();
}

/// Session files that cannot be read are reported by every reader, hidden by none, and never
/// take the others down: a directory where a session file should be, a garbage file, an id a
/// spawn reserved.
#[test]
fn unreadable_session_files_are_reported_not_hidden() {
    let s = setup_with(Opts {
        rules: Some(json!([])),
        ..Opts::default()
    });
    succeed(s.ao().args(["spawn", "--prompt", "hi"]));
    let data = s.sb.home.path().join(".agent-orchestrator");
    let sessions = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("sessions"))
        .find(|p| p.is_dir())
        .unwrap();
    std::fs::create_dir(sessions.join("app-7")).unwrap();
    std::fs::write(sessions.join("app-8"), "not = valid\n\u{0}\u{1}garbage").unwrap();
    std::fs::write(sessions.join("app-9"), "").unwrap();

    let out = succeed(s.ao().args(["status", "--json"]));
    let v = stdout_json(&out);
    assert_eq!(v["data"][0]["id"], "app-1", "{v}");
    assert_eq!(v["meta"]["corruptCount"], 2, "{v}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("app-7") && err.contains("app-8"), "{err}");

    s.start();
    let d = Dash::open(&s);
    let (code, body) = d.get("/api/sessions", true);
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let corrupt = v["meta"]["corrupt"].as_array().unwrap();
    assert_eq!(corrupt.len(), 2, "{v}");
    assert!(
        corrupt
            .iter()
            .any(|c| c["path"].as_str().unwrap().ends_with("app-7"))
    );

    // Acting on them says what is wrong with the file, not that there is no session.
    let send = s.ao().args(["send", "app-8", "hello"]).output().unwrap();
    let err = String::from_utf8_lossy(&send.stderr);
    assert!(err.contains("corrupt") && err.contains("app-8"), "{err}");
    let send = s.ao().args(["send", "app-9", "hello"]).output().unwrap();
    let err = String::from_utf8_lossy(&send.stderr);
    assert!(err.contains("being spawned"), "{err}");
    let _ = std::process::Command::new("tmux")
        .arg("-S")
        .arg(&s.socket)
        .arg("kill-server")
        .status();
}

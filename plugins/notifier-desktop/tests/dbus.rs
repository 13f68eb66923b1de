//! The desktop notifier against a real D-Bus: a private `dbus-daemon --session` and a
//! notification server on it (the freedesktop `org.freedesktop.Notifications` interface),
//! which records what arrives. One test in this binary: it sets the session bus address.
#![cfg(all(unix, not(target_os = "macos")))]

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::notifier::{Notification, Notifier, NotifyRequest, Priority};
use ao_plugin_notifier_desktop::{Config, Desktop};
use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::OwnedVariant;

/// (app name, summary, body, urgency) of each notification received.
type Received = Arc<Mutex<Vec<(String, String, String, Option<u8>)>>>;

struct Server {
    got: Received,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let mut got = self.got.lock().unwrap();
        got.push((app_name, summary, body, urgency));
        got.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("ao-test".into(), "ao".into(), "1".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

fn note(p: Priority, message: &str) -> NotifyRequest {
    NotifyRequest {
        notification: Notification {
            event_type: "session.needs_input".into(),
            priority: p,
            title: "app-2: needs your input".into(),
            message: message.into(),
            session_id: Some("app-2".into()),
            project_id: Some("app".into()),
            pr_url: None,
            url: None,
            timestamp_ms: 0,
            data: serde_json::Value::Null,
        },
    }
}

#[test]
fn notifications_reach_the_session_bus_with_their_urgency() {
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon is installed (Debian: apt-get install dbus)");
    let mut address = String::new();
    std::io::BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let address = address.trim().to_string();
    assert!(address.starts_with("unix:"), "{address}");
    // SAFETY: the only test of this binary, before any thread of ours exists.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };

    let got: Received = Arc::default();
    let server = Server { got: got.clone() };
    let (ready, is_ready) = std::sync::mpsc::channel();
    let addr = address.clone();
    std::thread::spawn(move || {
        zbus::block_on(async move {
            let conn = zbus::connection::Builder::address(addr.as_str())
                .name("org.freedesktop.Notifications")
                .serve_at("/org/freedesktop/Notifications", server)
                .build()
                .await
                .unwrap();
            ready.send(()).unwrap();
            std::future::pending::<()>().await;
            drop(conn);
        })
    });
    is_ready.recv_timeout(Duration::from_secs(10)).unwrap();

    let config: Config = serde_json::from_value(serde_json::json!({})).unwrap();
    let desktop = Desktop::new(config, &TestHost::new().handle()).unwrap();
    let ctx = Ctx::detached();
    desktop
        .notify(&ctx, note(Priority::Urgent, "Which language?"))
        .unwrap();
    desktop
        .notify(&ctx, note(Priority::Info, "merged"))
        .unwrap();
    desktop
        .notify(&ctx, note(Priority::Info, "merged"))
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            (
                "Agent Orchestrator".to_string(),
                "URGENT [app-2]: session.needs_input".to_string(),
                "Which language?\n→ answer with `ao send app-2 \"...\"`".to_string(),
                Some(2)
            ),
            (
                "Agent Orchestrator".to_string(),
                "ao [app-2]: session.needs_input".to_string(),
                "merged\n→ answer with `ao send app-2 \"...\"`".to_string(),
                Some(0)
            ),
        ],
        "the repeated one is shown once"
    );
    let _ = bus.kill();
    let _ = bus.wait();
}

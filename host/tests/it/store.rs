//! The store under concurrent processes and crashing writers.

use crate::support::target_dir;
use ao::store::ProjectStore;
use ao::store::session::Session;
use ao::store::sessions::Listed;
use std::process::{Command, Stdio};
use std::time::Duration;

fn stress() -> Command {
    let exe = target_dir().join("examples/store_stress");
    assert!(
        exe.is_file(),
        "{} is missing: run `cargo build --workspace --all-targets` first",
        exe.display()
    );
    Command::new(exe)
}

#[test]
fn fifty_processes_reserving_ids_get_fifty_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..50)
        .map(|_| {
            stress()
                .args(["reserve"])
                .arg(dir.path())
                .arg("app")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    let listed = ProjectStore::at(dir.path().to_path_buf())
        .list_sessions()
        .unwrap();
    assert_eq!(listed.len(), 50);
    assert!(
        listed.iter().all(|l| matches!(l, Listed::Session(_))),
        "{listed:?}"
    );
    let mut numbers: Vec<u64> = ids
        .iter()
        .map(|id| id.strip_prefix("app-").unwrap().parse().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=50).collect::<Vec<_>>());
}

#[test]
fn a_writer_killed_at_any_point_leaves_a_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProjectStore::at(dir.path().to_path_buf());
    let id = store.reserve_id("app").unwrap();
    store
        .write_session(&Session::new(&id, "stress", 1))
        .unwrap();
    // Kill points from a fixed sequence, so every run tries the same spread of moments.
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    for _ in 0..30 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_micros(500 + (seed >> 33) % 40_000);
        let mut child = stress()
            .args(["rewrite"])
            .arg(dir.path())
            .arg(&id)
            .arg("1000")
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        // Whatever the moment, the file is a whole, valid session: an old version or a new one.
        let s = store
            .session(&id)
            .unwrap()
            .expect("the session is still there");
        let summary = s.summary.unwrap_or_default();
        assert!(
            summary.is_empty() || summary.starts_with("rewrite "),
            "{summary:?}"
        );
        let text = std::fs::read_to_string(store.sessions_dir().join(&id)).unwrap();
        assert!(text.ends_with('\n'));
    }
    assert!(
        kills >= 20,
        "the writer was killed only {kills} times; the test did not test much"
    );
    // And a full run of 1000 rewrites completes on top of whatever the kills left behind.
    let status = stress()
        .args(["rewrite"])
        .arg(dir.path())
        .arg(&id)
        .arg("1000")
        .status()
        .unwrap();
    assert!(status.success());
    let s = store.session(&id).unwrap().unwrap();
    assert!(s.summary.unwrap().starts_with("rewrite 1000 "));
    assert_eq!(s.last_activity_at, Some(1000));
    // Temp files left by killed writers are never listed as sessions.
    let listed = store.list_sessions().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
}

//! A plugin generated from `sdk-template/` builds against this checkout's plugin-api, passes its
//! own tests, installs, loads, and is called by `ao` — all without rebuilding `ao`. And
//! `ao plugins new` renders exactly what cargo-generate renders.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo <args>` in `dir`, offline (the workspace already fetched every crate a plugin needs),
/// with its own target dir so it never waits on the outer cargo's lock.
fn cargo(dir: &Path, args: &[&str]) {
    // Same versions as the workspace, so the offline build finds them all.
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", repo().join("target/sdk-template-it"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn new_plugin(sb: &Sandbox, dest: &Path, name: &str, slot: &str) {
    succeed(
        sb.ao()
            .args(["plugins", "new", name, "--slot", slot, "--path"])
            .arg(dest)
            .arg("--api-path")
            .arg(repo().join("plugin-api")),
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if rel == ".cargo" || rel == "target" || rel == "Cargo.lock" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_generated_notifier_builds_installs_and_is_called_by_ao() {
    let sb = Sandbox::new();
    let work = tempfile::tempdir().unwrap();
    let crate_dir = work.path().join("acme-pager");
    new_plugin(&sb, &crate_dir, "acme-pager", "notifier");
    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(&crate_dir, &["build", "--quiet"]);
    let built = repo().join("target/sdk-template-it/debug").join(format!(
        "{}acme_pager{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));

    succeed(sb.ao().args(["plugins", "install"]).arg(&built));
    let list = stdout_json(
        &sb.ao_default_path()
            .args(["plugins", "list", "--json"])
            .output()
            .unwrap(),
    );
    let e = entry(&list, "acme-pager");
    assert_eq!(e["status"], "ok", "{e}");
    assert_eq!(e["components"][0]["id"], "notifier/acme-pager");

    let out = succeed(sb.ao_default_path().args(["-v","plugins","call","notifier/acme-pager","notify","--config",r#"{"prefix": "[it] "}"#,]).args(["--params",r#"{"notification": {"event_type": "ci.failing", "priority": "warning","title": "CI failed", "message": "lint", "timestamp_ms": 0}}"#,]));
    assert_eq!(
        stdout_json(&out),
        serde_json::json!({ "id": null, "attempts": 1 })
    );
    // The plugin's tracing reached ao's log through the Host callback.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[it] CI failed [ci.failing]: lint"),
        "{stderr}"
    );
    assert!(stderr.contains("plugin=notifier/acme-pager"), "{stderr}");
}

#[test]
fn every_slot_of_the_template_compiles() {
    let sb = Sandbox::new();
    let work = tempfile::tempdir().unwrap();
    for slot in [
        "runtime",
        "agent",
        "workspace",
        "tracker",
        "scm",
        "terminal",
    ] {
        let dir = work.path().join(format!("t-{slot}"));
        new_plugin(&sb, &dir, &format!("t-{slot}"), slot);
        cargo(&dir, &["check", "--tests", "--quiet"]);
    }
}

#[test]
fn ao_plugins_new_matches_cargo_generate() {
    let have = Command::new("cargo")
        .args(["generate", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        // CI installs cargo-generate, so there the comparison always runs.
        assert!(
            std::env::var("CI").is_err(),
            "cargo-generate is required in CI (see .ci/run)"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "skipped: cargo-generate is not installed (cargo install --locked cargo-generate@0.23.5)"
            );
        }
        return;
    }
    let sb = Sandbox::new();
    for slot in ["notifier", "scm"] {
        let work = tempfile::tempdir().unwrap();
        let ours = work.path().join("ours").join("acme-thing");
        new_plugin(&sb, &ours, "acme-thing", slot);
        let theirs = work.path().join("theirs");
        std::fs::create_dir_all(&theirs).unwrap();
        let mut generate = Command::new("cargo");
        generate
            .args(["generate", "--path"])
            .arg(repo().join("sdk-template"))
            .args(["--name", "acme-thing", "--define"])
            .arg(format!("slot={slot}"))
            .args([
                "--define",
                "description=An in-house ao plugin",
                "--silent",
                "--vcs",
                "none",
                "--destination",
            ])
            .arg(&theirs)
            .env("HOME", sb.home.path())
            .env("USER", "ao-test");
        succeed(&mut assert_cmd::Command::from_std(generate));
        let a = files(&ours);
        let b = files(&theirs.join("acme-thing"));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b), "same files for {slot}");
        for ((name, x), (_, y)) in a.iter().zip(&b) {
            assert_eq!(
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y),
                "{name} for {slot}"
            );
        }
    }
}

#[test]
fn a_plugin_built_with_panic_abort_does_not_compile() {
    let sb = Sandbox::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("aborty");
    new_plugin(&sb, &dir, "aborty", "notifier");
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "check",
            "--offline",
            "--quiet",
            "--config",
            "profile.dev.panic=\"abort\"",
        ])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", repo().join("target/sdk-template-it"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ao plugins must be built with panic = \"unwind\""),
        "{stderr}"
    );
}

//! `ao plugins install → list → remove` in a temporary HOME, and refusals that change nothing.

use crate::support::*;
use std::path::Path;

/// Every file under `dir`, relative, sorted (empty when `dir` does not exist).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn install_list_remove_round_trip() {
    let sb = Sandbox::new();
    let src = lib(WEBHOOK);
    let out = succeed(sb.ao().args(["plugins", "install"]).arg(&src));
    let dir = sb.user_plugin_dir().join("notifier-webhook");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("installed notifier-webhook 0.1.0 into {}", dir.display())
    );
    let file_name = src.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        tree(&sb.user_plugin_dir()),
        [
            "notifier-webhook",
            &format!("notifier-webhook/{file_name}"),
            "notifier-webhook/plugin.json"
        ]
    );
    let sidecar: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("plugin.json")).unwrap()).unwrap();
    assert_eq!(sidecar["library"], file_name.as_str());
    assert_eq!(sidecar["manifest"]["name"], "notifier-webhook");

    // With the default search path the installed copy is listed from the user dir.
    let list = stdout_json(
        &sb.ao_default_path()
            .args(["plugins", "list", "--json"])
            .output()
            .unwrap(),
    );
    let installed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "user")
        .expect("listed from the user dir");
    assert_eq!(installed["name"], "notifier-webhook");
    assert_eq!(installed["status"], "ok");
    assert_eq!(installed["installed"], true);

    // Reinstalling replaces in place.
    let out = sb
        .ao()
        .args(["plugins", "install"])
        .arg(&src)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("(replaced 0.1.0)"));

    let out = sb
        .ao()
        .args(["plugins", "remove", "notifier-webhook"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(tree(&sb.user_plugin_dir()).is_empty());
    let out = sb
        .ao()
        .args(["plugins", "remove", "notifier-webhook"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn refused_installs_change_nothing_on_disk() {
    let sb = Sandbox::new();
    // Start from an existing install, so "nothing changed" is about more than an empty dir.
    succeed(sb.ao().args(["plugins", "install"]).arg(lib(WEBHOOK)));
    let before = tree(&sb.user_plugin_dir());
    let text = sb.plugins.path().join("libnotes.so");
    std::fs::write(&text, "not a library").unwrap();
    let cases = [
        (
            lib(PROTOCOL_MAJOR),
            "incompatible: built for protocol 2.0.0",
        ),
        (lib(ABORT), "crashed while loading (signal 6, SIGABRT)"),
        (lib(NOT_AO), "not an ao plugin"),
        (text, "not a shared library: it is a text file"),
    ];
    for (file, reason) in cases {
        let out = sb
            .ao()
            .args(["plugins", "install"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(reason), "{err}");
        assert_eq!(tree(&sb.user_plugin_dir()), before, "{}", file.display());
    }
}

#[test]
fn a_library_changed_after_install_is_refused() {
    let sb = Sandbox::new();
    succeed(sb.ao().args(["plugins", "install"]).arg(lib(WEBHOOK)));
    let installed = sb
        .user_plugin_dir()
        .join("notifier-webhook")
        .join(lib(WEBHOOK).file_name().unwrap());
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.push(0);
    std::fs::write(&installed, bytes).unwrap();
    let list = stdout_json(
        &sb.ao_default_path()
            .args(["plugins", "list", "--json"])
            .output()
            .unwrap(),
    );
    let e = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "user")
        .unwrap();
    assert_eq!(e["status"], "failed");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("checksum mismatch"),
        "{e}"
    );
}

#[test]
fn project_plugins_load_only_once_trusted_and_unchanged() {
    let sb = Sandbox::new();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().join(".ao/plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(lib(WEBHOOK), dir.join(lib(WEBHOOK).file_name().unwrap())).unwrap();
    // Were this opened (even in a child) it would be reported as crashed, not as untrusted.
    std::fs::copy(lib(ABORT), dir.join(lib(ABORT).file_name().unwrap())).unwrap();
    let sub = project.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let list = |sb: &Sandbox| {
        let out = sb
            .ao_default_path()
            .current_dir(&sub)
            .args(["plugins", "list", "--json"])
            .output()
            .unwrap();
        let v = stdout_json(&out);
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["source"] == "project")
            .cloned()
            .collect::<Vec<_>>()
    };

    let before = list(&sb);
    assert_eq!(before.len(), 2);
    for e in &before {
        assert_eq!(e["status"], "failed");
        assert!(
            e["reason"]
                .as_str()
                .unwrap()
                .starts_with("project plugins are not trusted"),
            "{e}"
        );
    }

    let out = succeed(
        sb.ao_default_path()
            .current_dir(&sub)
            .args(["plugins", "trust"]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("trusting 2 library(ies)"));
    let after = list(&sb);
    let by_name = |name: &str| after.iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(by_name("notifier-webhook")["status"], "ok");
    // Trusted, so now it is probed: in a child, which it crashes.
    assert!(
        by_name("fixture-abort")["reason"]
            .as_str()
            .unwrap()
            .starts_with("crashed while loading")
    );

    // A pull that changes a trusted library revokes its trust.
    let changed = dir.join(lib(WEBHOOK).file_name().unwrap());
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&changed, bytes).unwrap();
    let e = list(&sb)
        .into_iter()
        .find(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .ends_with(&*changed.file_name().unwrap().to_string_lossy())
        })
        .unwrap();
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("changed since `ao plugins trust`"),
        "{e}"
    );

    let out = sb
        .ao_default_path()
        .args(["plugins", "trust", "--remove"])
        .arg(project.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no longer trusting"));
    assert!(list(&sb).iter().all(|e| {
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("project plugins are not trusted")
    }));
}

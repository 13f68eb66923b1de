//! `ao plugins list | info | verify | call` as a user runs them.

use crate::support::*;
use std::time::Duration;

fn broken_sandbox() -> Sandbox {
    let webhook = std::fs::read(lib(WEBHOOK)).unwrap();
    Sandbox::new()
        .with_libs(&[WEBHOOK, PANIC, HANG, ABORT, PROTOCOL_MAJOR, NOT_AO])
        .with_file(
            &format!(
                "{}truncated{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ),
            &webhook[..65536],
        )
        .with_file(
            &format!(
                "{}notes{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ),
            b"just some text\n",
        )
}

#[test]
fn list_on_a_fresh_build_finds_the_dev_plugins() {
    let sb = Sandbox::new();
    let out = succeed(sb.ao_default_path().args(["plugins", "list", "--json"]));
    let list = stdout_json(&out);
    let webhook = entry(&list, "notifier-webhook");
    assert_eq!(webhook["status"], "ok");
    assert_eq!(webhook["source"], "dev");
    assert_eq!(webhook["components"][0]["id"], "notifier/webhook");
    assert_eq!(entry(&list, "fixture-abort")["status"], "failed");
    assert_eq!(
        entry(&list, "fixture-protocol-major")["status"],
        "incompatible"
    );
    assert_eq!(
        list["meta"]["protocol"],
        ao_plugin_api::manifest::PROTOCOL_VERSION
    );
}

#[test]
fn list_gives_each_bad_library_a_one_line_reason_and_exits_zero() {
    let sb = broken_sandbox();
    let out = succeed(sb.ao().args(["plugins", "list"]));
    let mut settings = insta::Settings::clone_current();
    for (from, to) in filters(&sb) {
        settings.add_filter(&from, to);
    }
    // The truncated copy's size is deterministic, but the length its headers claim is not.
    settings.add_filter(r"headers reach \d+", "headers reach [N]");
    settings.bind(|| insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout)));

    // A second run is answered from the probe cache and must say the same.
    let again = sb.ao().args(["plugins", "list"]).output().unwrap();
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn verify_survives_a_library_that_aborts_when_opened() {
    let sb = Sandbox::new();
    let out = sb
        .ao()
        .args(["plugins", "verify"])
        .arg(lib(ABORT))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("failed: crashed while loading (signal 6, SIGABRT)"),
        "{stdout}"
    );
}

#[test]
fn verify_passes_a_good_plugin_and_fails_a_foreign_one() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let out = sb
        .ao()
        .args(["plugins", "verify", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout_json(&out)["meta"]["failed"], 0);

    let out = sb
        .ao()
        .args(["plugins", "verify"])
        .arg(lib(NOT_AO))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed: not an ao plugin"));
}

#[test]
fn info_shows_methods_and_config_schema() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let out = sb
        .ao()
        .args(["plugins", "info", "notifier-webhook"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("methods: notify, notify_with_actions, post, test_connection"),
        "{text}"
    );
    assert!(text.contains("\"secretEnv\""), "{text}");

    let out = sb
        .ao()
        .args(["plugins", "info", "notifier-webhok"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no plugin named `notifier-webhok`: did you mean `notifier-webhook`?"
    );
}

#[test]
fn call_reports_bad_input_in_one_line() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let cases: [(&[&str], &str); 4] = [
        (
            &["plugins", "call", "notifier/webhok", "notify"],
            "error: no plugin provides `notifier/webhok`: did you mean `notifier/webhook`?",
        ),
        (
            &[
                "plugins",
                "call",
                "notifier/webhook",
                "notify",
                "--config",
                "{\"urll\": 1}",
            ],
            "error: notifier/webhook `instantiate`: invalid config: unknown field `urll`, expected one of `url`, `urlEnv`, `headers`, `secretEnv`, `retries`, `retryDelayMs`, `timeoutMs` at line 1 column 7",
        ),
        (
            &[
                "plugins",
                "call",
                "notifier/webhook",
                "page",
                "--config",
                "{\"url\": \"http://127.0.0.1:9/\"}",
            ],
            "error: notifier/webhook `page`: not implemented (it implements: notify, notify_with_actions, post, test_connection)",
        ),
        (
            &[
                "plugins",
                "call",
                "notifier/webhook",
                "notify",
                "--params",
                "{unclosed",
            ],
            "error: --params is not valid JSON or YAML: did not find expected ',' or '}' at line 2 column 1, while parsing a flow mapping",
        ),
    ];
    for (args, expected) in cases {
        let out = sb.ao().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            expected,
            "{args:?}"
        );
    }
}

/// A reader that goes away (`ao plugins list --json | head -c 1`) ends `ao` quietly, as other
/// command-line tools end, not with "error: Broken pipe".
#[test]
fn a_closed_stdout_ends_quietly() {
    let sb = crate::support::Sandbox::new();
    // A pipe whose read end is closed before ao starts: its first write meets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(crate::support::ao_exe())
        .env_clear()
        .env("HOME", sb.home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AO_NO_DEFAULT_PLUGINS", "1")
        .env("AO_PLUGIN_PATH", sb.plugins.path())
        .args(["plugins", "list", "--json"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Broken pipe"), "{err}");
    assert!(out.status.success(), "{:?} {err}", out.status);
}

#[test]
fn call_on_a_library_that_cannot_be_used_says_so_in_one_line() {
    let sb = Sandbox::new().with_libs(&[PROTOCOL_MAJOR, ABORT]);
    let at = |c: &str| {
        sb.plugins
            .path()
            .join(lib(c).file_name().unwrap())
            .display()
            .to_string()
    };
    let call = |component: &str| {
        let out = sb
            .ao()
            .args(["plugins", "call", component, "notify"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };
    assert_eq!(
        call("notifier/future"),
        format!(
            "error: `notifier/future` is in {}, which cannot be used: incompatible: built for \
             protocol 2.0.0, this ao speaks {}: rebuild against ao-plugin-api 1.x",
            at(PROTOCOL_MAJOR),
            ao_plugin_api::manifest::PROTOCOL_VERSION
        )
    );
    // It crashes as it is opened, before it can say what it provides: found by its name.
    let abort = call("notifier/abort");
    assert!(
        abort.starts_with(&format!(
            "error: no usable plugin provides `notifier/abort`; {} (plugin `fixture-abort`) may, \
             but cannot be used: failed: ",
            at(ABORT)
        )),
        "{abort}"
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let sb = Sandbox::new();
    let missing = sb.home.path().join("nope.so");
    let out = sb
        .ao()
        .args(["plugins", "install"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "error: could not install {0}: could not read {0}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

/// How many live processes run `sleep <arg>`.
fn sleeping(arg: &str) -> usize {
    let want = format!("sleep\0{arg}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want.as_bytes()))
        .count()
}

#[test]
fn processes_a_plugin_starts_end_with_its_probe_and_its_plugin_process() {
    let sb = Sandbox::new().with_libs(&[HANG]);
    let unique = |n: u32| format!("6{n}{}.25", std::process::id() % 100_000);

    // Started as the library is opened by the probe child: it neither outlives the probe nor
    // holds the probe's pipes open (which used to read as "hung while loading").
    let on_load = unique(1);
    let out = succeed(
        sb.ao()
            .env("AO_FIXTURE_FORK_ON_LOAD", &on_load)
            .args(["plugins", "list", "--json"]),
    );
    let list = stdout_json(&out);
    assert_eq!(entry(&list, "fixture-hang")["status"], "ok", "{list}");
    assert!(
        wait_until(Duration::from_secs(10), || sleeping(&on_load) == 0),
        "the process the library started on load is still running"
    );

    // Started by the component's constructor in a plugin process: ends with that process.
    let in_new = unique(2);
    succeed(sb.ao().args([
        "plugins",
        "call",
        "notifier/hang",
        "notify",
        "--isolation",
        "subprocess",
        "--config",
        &format!(r#"{{"forkSleep": "{in_new}"}}"#),
        "--params",
        r#"{"notification": {"event_type": "x", "priority": "info", "title": "ok", "message": "", "timestamp_ms": 0}}"#,
    ]));
    assert!(
        wait_until(Duration::from_secs(10), || sleeping(&in_new) == 0),
        "the process the plugin's constructor started is still running"
    );
}

//! Old plugin, new host: a plugin built against this protocol still loads on a host whose
//! protocol minor moved on, and is refused with one line by a host of another major.

use crate::plugin_calls::scan;
use crate::support::*;
use ao::plugins::catalog::ScanOptions;
use ao::plugins::compat::HostCompat;
use ao::plugins::discovery::{SearchDir, SearchPath, Source};
use ao::plugins::{CallOptions, Catalog, Registry, Status};
use ao_testkit::receiver::Receiver;
use std::time::Duration;

fn scan_as(sb: &Sandbox, protocol: &str) -> Catalog {
    let search = SearchPath {
        dirs: vec![SearchDir {
            path: sb.plugins.path().to_path_buf(),
            source: Source::Flag,
        }],
    };
    let host = HostCompat {
        protocol: semver::Version::parse(protocol).unwrap(),
        ..HostCompat::current()
    };
    let opts = ScanOptions {
        shim: ao_exe(),
        cache: None,
        reports: None,
        timeout: Duration::from_secs(30),
        host,
        trust: Default::default(),
    };
    Catalog::scan(&search, &opts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minor_protocol_bump_on_the_host_keeps_old_plugins_working() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let current = semver::Version::parse(ao_plugin_api::manifest::PROTOCOL_VERSION).unwrap();
    let newer = format!("{}.{}.0", current.major, current.minor + 1);
    let catalog = scan_as(&sb, &newer);
    assert_eq!(catalog.entries[0].status, Status::Ok);
    let rx = Receiver::start();
    let reg = Registry::load(&catalog);
    let hook = reg
        .instantiate(
            "notifier/webhook",
            &serde_json::json!({ "url": rx.url("/") }),
            CallOptions::default(),
        )
        .await
        .unwrap();
    hook.call_json("post", serde_json::json!({ "message": "still here" }))
        .await
        .unwrap();
    assert_eq!(
        rx.wait_for(1, Duration::from_secs(5))[0].json()["message"],
        "still here"
    );
}

#[test]
fn a_major_mismatch_is_refused_with_one_line() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let catalog = scan_as(&sb, "2.0.0");
    assert_eq!(
        catalog.entries[0].status,
        Status::Incompatible(format!(
            "built for protocol {}, this ao speaks 2.0.0: rebuild against ao-plugin-api 2.x",
            ao_plugin_api::manifest::PROTOCOL_VERSION
        ))
    );
    // And the real fixture built for protocol 2 against this host.
    let sb = Sandbox::new().with_libs(&[PROTOCOL_MAJOR]);
    assert_eq!(
        scan(&sb).entries[0].status,
        Status::Incompatible(format!(
            "built for protocol 2.0.0, this ao speaks {}: rebuild against ao-plugin-api 1.x",
            ao_plugin_api::manifest::PROTOCOL_VERSION
        ))
    );
}

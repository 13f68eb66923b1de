//! The host's call machinery against real misbehaving cdylibs: a panic and a hang are errors, the
//! host keeps serving other calls, a panicked instance is replaced, a timed-out call is cancelled.

use crate::support::*;
use ao::Error;
use ao::plugins::catalog::ScanOptions;
use ao::plugins::compat::HostCompat;
use ao::plugins::discovery::{SearchDir, SearchPath, Source};
use ao::plugins::{CallOptions, Catalog, Registry, Status};
use ao_plugin_api::abi::ErrorCode;
use ao_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::time::Duration;

pub fn scan(sb: &Sandbox) -> Catalog {
    let search = SearchPath {
        dirs: vec![SearchDir {
            path: sb.plugins.path().to_path_buf(),
            source: Source::Flag,
        }],
    };
    let opts = ScanOptions {
        shim: ao_exe(),
        cache: None,
        reports: None,
        timeout: Duration::from_secs(30),
        host: HostCompat::current(),
        trust: Default::default(),
    };
    Catalog::scan(&search, &opts)
}

fn note(title: &str) -> Value {
    json!({ "notification": {
        "event_type": "session.stuck", "priority": "urgent", "title": title,
        "message": "m", "timestamp_ms": 1_700_000_000_000u64,
    }})
}

fn code(r: &Result<Value, Error>) -> Option<ErrorCode> {
    r.as_ref().err().and_then(Error::plugin_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn panics_and_hangs_are_errors_while_other_calls_are_served() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK, PANIC, HANG]);
    let catalog = scan(&sb);
    assert!(
        catalog.entries.iter().all(|e| e.status == Status::Ok),
        "{:?}",
        catalog.entries
    );
    let reg = Registry::load(&catalog);
    assert!(reg.failures.is_empty(), "{:?}", reg.failures);

    let rx = Receiver::start();
    let fast = CallOptions {
        timeout: Duration::from_secs(10),
        ..CallOptions::default()
    };
    let webhook = reg
        .instantiate(
            "notifier/webhook",
            &json!({ "url": rx.url("/hook") }),
            fast.clone(),
        )
        .await
        .unwrap();
    let panicky = reg
        .instantiate(
            "notifier/panic",
            &json!({}),
            CallOptions {
                backoff_base: Duration::from_secs(3),
                ..fast.clone()
            },
        )
        .await
        .unwrap();
    let hang = reg
        .instantiate(
            "notifier/hang",
            &json!({}),
            CallOptions {
                timeout: Duration::from_millis(500),
                ..fast.clone()
            },
        )
        .await
        .unwrap();

    let (hung, panicked, delivered) = tokio::join!(
        hang.call_json("notify", note("hang please")),
        panicky.call_json("notify", note("panic please")),
        async {
            let mut ok = 0;
            for i in 0..10 {
                if webhook
                    .call_json("notify", note(&format!("ok {i}")))
                    .await
                    .is_ok()
                {
                    ok += 1;
                }
            }
            ok
        },
    );
    assert_eq!(code(&hung), Some(ErrorCode::TIMEOUT), "{hung:?}");
    assert_eq!(code(&panicked), Some(ErrorCode::PANICKED), "{panicked:?}");
    let msg = panicked.unwrap_err().to_string();
    assert!(
        msg.contains("plugin panicked in `notify`: fixture asked to panic"),
        "{msg}"
    );
    assert_eq!(delivered, 10);
    assert_eq!(rx.wait_for(10, Duration::from_secs(10)).len(), 10);

    // While backing off, the poisoned component says so instead of calling the plugin.
    let early = panicky.call_json("notify", note("fine")).await;
    assert_eq!(code(&early), Some(ErrorCode::UNAVAILABLE), "{early:?}");
    assert!(
        early
            .unwrap_err()
            .to_string()
            .contains("restarting after 1 panic(s)")
    );

    // After the back-off a fresh instance answers.
    let mut answer = None;
    for _ in 0..200 {
        match panicky.call_json("notify", note("fine")).await {
            Ok(v) => {
                answer = Some(v);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let answer = answer.expect("the panicked component came back");
    assert_eq!(answer["id"], "instance-2", "{answer}");
    assert_eq!(panicky.generation().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_cancelled_in_the_plugin() {
    let sb = Sandbox::new().with_libs(&[HANG]);
    let reg = Registry::load(&scan(&sb));
    let markers = tempfile::tempdir().unwrap();
    let opts = CallOptions {
        timeout: Duration::from_millis(300),
        ..CallOptions::default()
    };
    let hang = reg
        .instantiate(
            "notifier/hang",
            &json!({ "markerDir": markers.path() }),
            opts,
        )
        .await
        .unwrap();
    let r = hang.call_json("notify", note("wait for cancel")).await;
    assert_eq!(code(&r), Some(ErrorCode::TIMEOUT));
    let seen = wait_until(Duration::from_secs(10), || {
        std::fs::read_dir(markers.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("cancelled-")
        })
    });
    assert!(seen, "the plugin never saw the cancellation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_calls_cannot_take_more_than_the_concurrency_limit() {
    let sb = Sandbox::new().with_libs(&[HANG]);
    let reg = Registry::load(&scan(&sb));
    let opts = CallOptions {
        timeout: Duration::from_millis(300),
        concurrency: 2,
        ..CallOptions::default()
    };
    let hang = reg
        .instantiate("notifier/hang", &json!({}), opts)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            code(&hang.call_json("notify", note("hang")).await),
            Some(ErrorCode::TIMEOUT)
        );
    }
    // Both permits are held by threads that never return: the next call is refused, quickly.
    let r = hang.call_json("notify", note("would be fine")).await;
    assert_eq!(code(&r), Some(ErrorCode::TIMEOUT));
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("all 2 call slots are busy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_a_plugin_only_by_reference() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let reg = Registry::load(&scan(&sb));
    let rx = Receiver::start();
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("AO_IT_WEBHOOK_URL", rx.url("/from-env")) };
    let by_ref = json!({ "urlEnv": "AO_IT_WEBHOOK_URL" });
    let webhook = reg
        .instantiate("notifier/webhook", &by_ref, CallOptions::default())
        .await
        .unwrap();
    webhook.call_json("notify", note("hi")).await.unwrap();
    assert_eq!(rx.wait_for(1, Duration::from_secs(5))[0].path, "/from-env");

    let missing = reg
        .instantiate(
            "notifier/webhook",
            &json!({ "urlEnv": "AO_IT_NOT_SET_ANYWHERE" }),
            CallOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.plugin_code(), Some(ErrorCode::NOT_FOUND));
    assert!(
        missing
            .to_string()
            .contains("environment variable `AO_IT_NOT_SET_ANYWHERE` is not set"),
        "{missing}"
    );
}

fn subprocess_registry(sb: &Sandbox) -> Registry {
    Registry::load_with(&scan(sb), &ao_exe(), |_| ao::plugins::Isolation::Subprocess)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_subprocess_a_crash_costs_a_restart_not_the_host() {
    let sb = Sandbox::new().with_libs(&[PANIC]);
    let reg = subprocess_registry(&sb);
    let opts = CallOptions {
        backoff_base: Duration::from_millis(100),
        ..CallOptions::default()
    };
    let p = reg
        .instantiate("notifier/panic", &json!({}), opts)
        .await
        .unwrap();
    // A plugin printing to stdout must not corrupt the protocol.
    let ok = p
        .call_json("notify", note("print something"))
        .await
        .unwrap();
    assert_eq!(ok["id"], "instance-1");

    let crashed = p.call_json("notify", note("abort now")).await;
    assert_eq!(code(&crashed), Some(ErrorCode::PANICKED), "{crashed:?}");
    assert!(
        crashed
            .unwrap_err()
            .to_string()
            .contains("the plugin process crashed (signal 6, SIGABRT)")
    );

    let mut back = false;
    for _ in 0..100 {
        if p.call_json("notify", note("fine")).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(back, "a new plugin process was started");
    assert_eq!(p.generation().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_subprocess_a_hung_call_is_killed_and_frees_its_slot() {
    let sb = Sandbox::new().with_libs(&[HANG]);
    let reg = subprocess_registry(&sb);
    let opts = CallOptions {
        timeout: Duration::from_millis(500),
        concurrency: 1,
        ..CallOptions::default()
    };
    let hang = reg
        .instantiate("notifier/hang", &json!({}), opts)
        .await
        .unwrap();
    assert_eq!(
        code(&hang.call_json("notify", note("hang")).await),
        Some(ErrorCode::TIMEOUT)
    );
    // In process this would be refused ("call slots are busy"); here the hung child was killed,
    // which released its only slot, and a fresh child answers.
    let mut answered = false;
    for _ in 0..50 {
        if hang.call_json("notify", note("fine")).await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_subprocess_logs_and_secrets_cross_the_pipe() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let reg = subprocess_registry(&sb);
    let rx = Receiver::start();
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var("AO_IT_SUBPROCESS_URL", rx.url("/via-pipe")) };
    let hook = reg
        .instantiate(
            "notifier/webhook",
            &json!({ "urlEnv": "AO_IT_SUBPROCESS_URL" }),
            CallOptions::default(),
        )
        .await
        .unwrap();
    hook.call_json("notify", note("hello")).await.unwrap();
    let got = rx.wait_for(1, Duration::from_secs(5));
    assert_eq!(got[0].path, "/via-pipe");
    assert_eq!(got[0].json()["event"]["title"], "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_references_in_a_config_are_expanded_in_memory() {
    let sb = Sandbox::new().with_libs(&[WEBHOOK]);
    let reg = Registry::load(&scan(&sb));
    let rx = Receiver::start();
    // SAFETY: the variable names are unique to this test; nothing else reads or writes them.
    unsafe {
        std::env::set_var(
            "AO_IT_EXPANDED_PORT",
            rx.url("").rsplit(':').next().unwrap(),
        )
    };
    let cfg = json!({ "url": "http://127.0.0.1:${AO_IT_EXPANDED_PORT}/expanded" });
    let hook = reg
        .instantiate("notifier/webhook", &cfg, CallOptions::default())
        .await
        .unwrap();
    hook.call_json("notify", note("x")).await.unwrap();
    assert_eq!(rx.wait_for(1, Duration::from_secs(5))[0].path, "/expanded");

    let missing = json!({ "url": "http://${AO_IT_NEVER_SET}/" });
    let e = reg
        .instantiate("notifier/webhook", &missing, CallOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config of notifier/webhook: environment variable `AO_IT_NEVER_SET` is not set"
    );
}

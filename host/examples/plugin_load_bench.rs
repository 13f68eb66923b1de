//! Benchmark body for `scripts/bench/plugin-load`: discover + probe + load + instantiate every
//! first-party plugin next to the `ao` executable, in process, and print the median.
#![allow(clippy::print_stdout)]

mod support;

use ao::plugins::catalog::ScanOptions;
use ao::plugins::{CallOptions, Catalog, Registry, Status};
use std::time::Instant;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let shim = support::target_dir().join("ao");
    // First-party plugins only: the fixtures in the same directory are deliberately broken.
    let (_libs, search) = support::plugin_dir(|name| name.starts_with("ao_plugin_"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cold = Vec::new();
    let mut loaded = 0;
    for _ in 0..runs {
        let cache = tempfile::tempdir().unwrap();
        let opts = ScanOptions {
            shim: shim.clone(),
            cache: Some(cache.path().join("probes.json")),
            ..ScanOptions::for_current_exe()
        };
        let t = Instant::now();
        let catalog = Catalog::scan(&search, &opts);
        let reg = Registry::load(&catalog);
        rt.block_on(async {
            for id in reg.component_ids() {
                // Configs each plugin accepts without a network: enough to instantiate.
                let config = if id.starts_with("notifier/") {
                    serde_json::json!({ "url": "http://127.0.0.1:9/" })
                } else {
                    serde_json::json!({})
                };
                reg.instantiate(&id, &config, CallOptions::default())
                    .await
                    .expect("instantiate");
            }
        });
        cold.push(t.elapsed());
        loaded = catalog
            .entries
            .iter()
            .filter(|e| e.status == Status::Ok)
            .count();
    }
    // dlopen happens once per process (libraries are never unloaded), so only the first run
    // pays for mapping the libraries; every run pays for probing them in child processes.
    let first = cold[0];
    cold.sort();
    println!(
        "discover + probe + load + instantiate {loaded} first-party plugin(s), cold probe cache: \
         first run {:.2} ms, median {:.2} ms over {runs} runs",
        first.as_secs_f64() * 1000.0,
        cold[cold.len() / 2].as_secs_f64() * 1000.0
    );
}

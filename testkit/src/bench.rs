//! What the benchmark programs (`scripts/bench/*`) print their figures with.
#![allow(clippy::print_stdout)]

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::slots::runtime::{
    DeliveryOptions, HandleRequest, Runtime, RuntimeHandle, SendMessageRequest,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Milliseconds, for [`stats`].
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One line: `label`, then the median, p90 and max of `v` (milliseconds) and how many.
pub fn stats(label: &str, mut v: Vec<f64>) {
    if v.is_empty() {
        println!("  {label:<40} (nothing measured)");
        return;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {label:<40} median {:7.1} ms   p90 {:7.1} ms   max {:7.1} ms   (n={})",
        at(0.5),
        at(0.9),
        at(1.0),
        v.len()
    );
}

/// The figures a runtime benchmark ends with: an acknowledged delivery to each of the first 20
/// sessions (acknowledged by the hook record in its status file), then every session destroyed.
pub fn deliver_then_destroy<R: Runtime>(
    rt: &R,
    ctx: &Ctx,
    sessions: Vec<(RuntimeHandle, PathBuf)>,
) {
    let mut sent = Vec::new();
    for (i, (h, status)) in sessions.iter().enumerate().take(20) {
        let t = Instant::now();
        let out = rt
            .send_message(
                ctx,
                SendMessageRequest {
                    handle: h.clone(),
                    text: format!("message {i}: fix the test"),
                    delivery: DeliveryOptions {
                        stable_ms: 150,
                        status_file: Some(status.display().to_string()),
                        ..DeliveryOptions::default()
                    },
                },
            )
            .expect("a delivery");
        assert!(out.acknowledged, "{out:?}");
        sent.push(ms(t.elapsed()));
    }
    stats("acknowledged delivery over exec", sent);
    let mut gone = Vec::new();
    for (h, _) in sessions {
        let t = Instant::now();
        rt.destroy(ctx, HandleRequest { handle: h })
            .expect("a destroy");
        gone.push(ms(t.elapsed()));
    }
    stats("destroy", gone);
}

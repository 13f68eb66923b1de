//! What the benchmark programs (`scripts/bench/*`) print their figures with.
#![allow(clippy::print_stdout)]

use std::time::Duration;

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

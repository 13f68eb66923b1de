//! Benchmark (run by `scripts/bench/scm-cost`): API cost per lifecycle tick against the forge
//! simulator, for N sessions with open PRs (N = 10, 100, 500): 10 ticks where nothing changes,
//! 10 ticks where 10% of PRs change (a push, a CI transition or a review, in turn), and the
//! same world polled per session the way upstream does (PR state, CI checks and review
//! threads for every session every tick).

#![allow(clippy::print_stdout, clippy::type_complexity)]

use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::scm::{EnrichBatchRequest, PrKey, Scm};
use ao_plugin_github::{Config, GithubScm};
use ao_testkit::forge::model::{ReviewState, RunStatus};
use ao_testkit::forge::{Counters, ForgeSim, NewPull, TOKEN};
use ao_testkit::git::fast_import;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const REPO: &str = "acme/app";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn delta(a: &Counters, b: &Counters) -> (u64, u64, u64, u64, u64) {
    (
        b.requests - a.requests,
        b.charged - a.charged,
        b.not_modified - a.not_modified,
        b.graphql_queries - a.graphql_queries,
        b.graphql_points - a.graphql_points,
    )
}

fn run(n: usize) {
    let sim = ForgeSim::start();
    let bare = sim.repo(REPO);
    fast_import(&bare, &[("main".to_string(), None)], 0);
    let main = git(&bare, &["rev-parse", "main"]);
    let branches: Vec<String> = (0..n).map(|i| format!("feat/{i}")).collect();
    fast_import(
        &bare,
        &branches
            .iter()
            .map(|b| (b.clone(), Some(main.clone())))
            .collect::<Vec<_>>(),
        0,
    );
    let mut prs = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        let number = sim
            .world()
            .create_pull(REPO, NewPull::new(b, "work"))
            .unwrap();
        let sha = sim.world().head_sha(REPO, number).unwrap();
        // Most CI finished; every tenth still running.
        let (status, conclusion) = if i % 10 == 0 {
            (RunStatus::InProgress, None)
        } else {
            (RunStatus::Completed, Some("success"))
        };
        sim.world()
            .set_check(REPO, &sha, "ci", status, conclusion, None)
            .unwrap();
        prs.push(number);
    }
    // A fleet's PRs were opened minutes ago, not in the second the benchmark starts.
    sim.world().backdate(600);
    let host = TestHost::new();
    host.set_secret("T", TOKEN);
    let config: Config =
        serde_json::from_value(serde_json::json!({"apiUrl": sim.url(), "tokenEnv": "T"})).unwrap();
    let scm = GithubScm::new(config, &host.handle()).unwrap();
    let req = EnrichBatchRequest {
        prs: prs
            .iter()
            .map(|n| PrKey {
                repo: REPO.into(),
                number: *n,
            })
            .collect(),
        branches: Default::default(),
    };
    let tick = || {
        let before = sim.counters();
        let t = Instant::now();
        let r = scm.enrich_batch(&Ctx::detached(), req.clone()).unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.prs.len(), n);
        (
            delta(&before, &sim.counters()),
            t.elapsed().as_secs_f64() * 1000.0,
        )
    };
    let (first, first_ms) = tick();
    let mut quiet = Vec::new();
    for _ in 0..10 {
        quiet.push(tick());
    }
    let mut busy = Vec::new();
    let changed = (n / 10).max(1);
    for round in 1..=10 {
        let picks: Vec<usize> = (0..changed)
            .map(|k| (round * 7919 + k * 104_729) % n)
            .collect();
        let mut pushes = Vec::new();
        for (k, i) in picks.iter().enumerate() {
            let number = prs[*i];
            match k % 3 {
                0 => pushes.push((
                    branches[*i].clone(),
                    Some(format!("refs/heads/{}^0", branches[*i])),
                )),
                1 => {
                    let sha = sim.world().head_sha(REPO, number).unwrap();
                    let c = if round % 2 == 0 { "failure" } else { "success" };
                    sim.world()
                        .set_check(REPO, &sha, "ci", RunStatus::Completed, Some(c), None)
                        .unwrap();
                }
                _ => {
                    sim.world()
                        .review(
                            REPO,
                            number,
                            "reviewer",
                            ReviewState::ChangesRequested,
                            "",
                            &[("src/lib.rs", Some(3), "please fix")],
                        )
                        .unwrap();
                }
            }
        }
        if !pushes.is_empty() {
            fast_import(&bare, &pushes, round);
        }
        busy.push(tick());
    }
    // Upstream's shape: per session per tick, PR state, CI checks and review threads.
    let naive = {
        let before = sim.counters();
        let client = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        for number in &prs {
            let auth = format!("Bearer {TOKEN}");
            let sha = sim.world().head_sha(REPO, *number).unwrap();
            for path in [
                format!("/repos/{REPO}/pulls/{number}"),
                format!("/repos/{REPO}/commits/{sha}/check-runs"),
            ] {
                let _ = client
                    .get(format!("{}{path}", sim.url()))
                    .header("authorization", &auth)
                    .call();
            }
            let q = serde_json::json!({"query": format!("{{ repository(owner: \"acme\", name: \"app\") {{ pullRequest(number: {number}) {{ reviewDecision reviewThreads(first: 100) {{ nodes {{ isResolved comments(first: 1) {{ nodes {{ body }} }} }} }} }} }} }}")});
            let _ = client
                .post(format!("{}/graphql", sim.url()))
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(q.to_string().as_bytes());
        }
        delta(&before, &sim.counters())
    };
    let avg = |v: &[((u64, u64, u64, u64, u64), f64)], f: fn(&(u64, u64, u64, u64, u64)) -> u64| {
        v.iter().map(|(d, _)| f(d) as f64).sum::<f64>() / v.len() as f64
    };
    let ms = |v: &[((u64, u64, u64, u64, u64), f64)]| {
        v.iter().map(|(_, t)| t).sum::<f64>() / v.len() as f64
    };
    let max = |v: &[((u64, u64, u64, u64, u64), f64)], f: fn(&(u64, u64, u64, u64, u64)) -> u64| {
        v.iter().map(|(d, _)| f(d)).max().unwrap_or(0)
    };
    println!("N = {n} ({} PRs change per busy tick)", changed);
    println!(
        "  first tick (cold cache):   {} requests, {} charged, {} GraphQL queries, {} points, {:.0} ms",
        first.0, first.1, first.3, first.4, first_ms
    );
    println!(
        "  unchanged tick (avg of 10): {:.1} requests, {:.1} charged REST, {:.1} free 304s, {:.1} GraphQL queries, {:.1} points, {:.0} ms",
        avg(&quiet, |d| d.0),
        avg(&quiet, |d| d.1),
        avg(&quiet, |d| d.2),
        avg(&quiet, |d| d.3),
        avg(&quiet, |d| d.4),
        ms(&quiet)
    );
    println!(
        "  10%-changed tick (avg of 10): {:.1} requests, {:.1} charged REST, {:.1} GraphQL queries (max {}, bound ceil(N/50) = {}), {:.1} points, {:.0} ms",
        avg(&busy, |d| d.0),
        avg(&busy, |d| d.1),
        avg(&busy, |d| d.3),
        max(&busy, |d| d.3),
        n.div_ceil(50),
        avg(&busy, |d| d.4),
        ms(&busy)
    );
    println!(
        "  per-session polling (upstream's shape), one tick: {} requests, {} charged REST, {} GraphQL queries, {} points",
        naive.0, naive.1, naive.3, naive.4
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for n in if sizes.is_empty() {
        vec![10, 100, 500]
    } else {
        sizes
    } {
        run(n);
    }
}

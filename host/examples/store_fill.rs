//! Benchmark helper for `scripts/bench/status`: writes `n` realistic sessions into the store of
//! project `app` for the config file given.
#![allow(clippy::print_stdout)]

use ao::store::ProjectStore;
use ao::store::session::{ActivityFact, PrFact, Session, Status};
use ao_plugin_api::slots::agent::{ActivitySource, ActivityState};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (config, data, n): (&Path, &Path, u64) = (
        Path::new(&args[1]),
        Path::new(&args[2]),
        args[3].parse().unwrap(),
    );
    let store = ProjectStore::new(data, &ao::store::config_dir_hash(config), "app");
    let statuses = [
        Status::Working,
        Status::PrOpen,
        Status::CiFailed,
        Status::ReviewPending,
        Status::NeedsInput,
        Status::Merged,
    ];
    for i in 0..n {
        let id = store.reserve_id("app").unwrap();
        let mut s = Session::new(&id, "app", 1_700_000_000_000 + i);
        s.status = statuses[(i % statuses.len() as u64) as usize];
        s.branch = Some(format!("feat/{i}-some-work"));
        s.issue = Some(i.to_string());
        s.agent = Some("claude-code".into());
        s.summary = Some(format!(
            "Implement the thing described in issue {i}, with tests"
        ));
        s.workspace = Some(format!("/home/u/.agent-orchestrator/x-app/worktrees/{id}"));
        s.activity_fact = Some(ActivityFact {
            state: ActivityState::Active,
            source: ActivitySource::Hook,
            at: 1_700_000_000_000,
            detail: None,
            dialog: None,
        });
        if i % 2 == 0 {
            s.pr = Some(format!("https://github.com/acme/app/pull/{i}"));
            s.pr_fact = Some(PrFact {
                state: "open".into(),
                head_sha: "0123456789abcdef0123456789abcdef01234567".into(),
                ci: "passing".into(),
                review: "review_required".into(),
                mergeable: true,
                conflicts: false,
                unresolved_threads: 2,
                at: 1_700_000_000_000,
                ..Default::default()
            });
        }
        store.write_session(&s).unwrap();
    }
    println!("{n} sessions in {}", store.sessions_dir().display());
}

//! The people and machines around a repository, for `ao demo` and the tests that run it: a CI
//! that runs the repository's own test command on every queued check of a PR head, and a
//! reviewer who asks for changes once and approves when a later head is green. Both act on the
//! world in a background thread, with delays like real ones so every state is observable.

use super::model::{ItemState, ReviewState, RunStatus};
use super::server::App;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What runs the queued check `check`: `argv` in a checkout of the PR head, after `delay`.
#[derive(Debug, Clone)]
pub struct Ci {
    /// The check run's name.
    pub check: String,
    /// The test command (no shell), run in the checkout.
    pub argv: Vec<String>,
    /// How long a check stays queued before it runs.
    pub delay: Duration,
    /// A run taking longer fails as `timed_out`.
    pub timeout: Duration,
}

/// A reviewer: on a PR whose head is green for `delay`, first asks for changes with these
/// comments, then approves (resolving its threads) once a later head is green.
#[derive(Debug, Clone)]
pub struct Reviewer {
    /// Their login.
    pub login: String,
    /// `(path, line, body)` of the change they ask for.
    pub asks: Vec<(String, u64, String)>,
    /// How long the head must have been green before they look.
    pub delay: Duration,
}

/// Who acts on one repository.
#[derive(Debug, Clone)]
pub struct Actors {
    /// `owner/name`.
    pub repo: String,
    /// Where CI keeps its checkout.
    pub workdir: PathBuf,
    /// The CI, if any.
    pub ci: Option<Ci>,
    /// The reviewer, if any.
    pub reviewer: Option<Reviewer>,
}

/// The running actors; they stop when this is dropped.
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) fn start(app: App, actors: Actors) -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ao-forge-actors".into())
        .spawn(move || {
            let mut state = State::default();
            while !flag.load(Ordering::Relaxed) {
                if let Some(ci) = &actors.ci
                    && let Err(e) = ci_round(&app, &actors, ci, &mut state)
                {
                    // The simulator's stderr is its log (`ao demo` keeps it in forge-sim.log).
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("ao-forge-sim: CI: {e}");
                    }
                }
                if let Some(r) = &actors.reviewer {
                    review_round(&app, &actors.repo, actors.ci.as_ref(), r, &mut state);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
        .expect("spawn the actors' thread");
    Running {
        stop,
        thread: Some(thread),
    }
}

#[derive(Default)]
struct State {
    /// When each queued check (by id) was first seen.
    queued_since: std::collections::HashMap<u64, Instant>,
    /// When each head was first seen green.
    green_since: std::collections::HashMap<String, Instant>,
    cloned: bool,
}

fn ci_round(app: &App, a: &Actors, ci: &Ci, st: &mut State) -> Result<(), String> {
    let due: Vec<(u64, String)> = {
        let mut w = app.world();
        w.sync(&a.repo);
        let repo = w.repo(&a.repo).map_err(|r| r.message)?;
        repo.check_runs
            .iter()
            .filter(|r| r.name == ci.check && r.status == RunStatus::Queued)
            .map(|r| (r.id, r.head_sha.clone()))
            .collect()
    };
    for (id, sha) in due {
        let since = *st.queued_since.entry(id).or_insert_with(Instant::now);
        if since.elapsed() < ci.delay {
            continue;
        }
        let git_dir = app
            .world()
            .repo(&a.repo)
            .map_err(|r| r.message)?
            .git_dir
            .clone();
        app.world()
            .set_check(&a.repo, &sha, &ci.check, RunStatus::InProgress, None, None)
            .map_err(|r| r.message)?;
        let (conclusion, log) = match checkout(&git_dir, &a.workdir, &sha, &mut st.cloned) {
            Ok(()) => run_test(&a.workdir, ci),
            Err(e) => ("failure", format!("checkout of {sha} failed: {e}\n")),
        };
        app.world()
            .set_check(
                &a.repo,
                &sha,
                &ci.check,
                RunStatus::Completed,
                Some(conclusion),
                Some(&log),
            )
            .map_err(|r| r.message)?;
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    crate::git::try_git(dir, args, None)
}

fn checkout(git_dir: &Path, workdir: &Path, sha: &str, cloned: &mut bool) -> Result<(), String> {
    if !*cloned {
        let parent = workdir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(workdir);
        let (src, dst) = (git_dir.to_string_lossy(), workdir.to_string_lossy());
        git(parent, &["clone", "-q", "--no-checkout", &src, &dst])?;
        *cloned = true;
    }
    git(workdir, &["fetch", "-q", "origin", sha])?;
    git(workdir, &["checkout", "-qf", "--detach", sha])?;
    git(workdir, &["clean", "-qfdx"])
}

/// Runs the test command; its output (stdout then stderr) is the job's log.
fn run_test(dir: &Path, ci: &Ci) -> (&'static str, String) {
    let Some((prog, args)) = ci.argv.split_first() else {
        return ("failure", "no test command\n".into());
    };
    let mut log = format!("$ {}\n", ci.argv.join(" "));
    let child = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return ("failure", format!("{log}cannot run {prog}: {e}\n")),
    };
    let deadline = Instant::now() + ci.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let read = |r: Option<&mut dyn std::io::Read>| {
        let mut s = String::new();
        if let Some(r) = r {
            let _ = r.read_to_string(&mut s);
        }
        s
    };
    log.push_str(&read(
        child.stdout.as_mut().map(|r| r as &mut dyn std::io::Read),
    ));
    log.push_str(&read(
        child.stderr.as_mut().map(|r| r as &mut dyn std::io::Read),
    ));
    match status {
        Some(s) if s.success() => ("success", log),
        Some(s) => (
            "failure",
            format!("{log}Error: the test command exited with {s}\n"),
        ),
        None => (
            "timed_out",
            format!("{log}Error: timed out after {:?}\n", ci.timeout),
        ),
    }
}

fn review_round(app: &App, repo: &str, ci: Option<&Ci>, r: &Reviewer, st: &mut State) {
    let mut w = app.world();
    w.sync(repo);
    let Ok(rp) = w.repo(repo) else { return };
    // (number, head, my latest review's state and commit, my unresolved threads)
    let mut todo = Vec::new();
    for item in rp.items.values() {
        let Some(p) = &item.pull else { continue };
        if item.state != ItemState::Open {
            continue;
        }
        let green = match ci {
            Some(ci) => rp
                .check_runs
                .iter()
                .rev()
                .find(|c| c.head_sha == p.head_sha && c.name == ci.check)
                .is_some_and(|c| c.conclusion.as_deref() == Some("success")),
            None => true,
        };
        if !green {
            continue;
        }
        let since = *st
            .green_since
            .entry(p.head_sha.clone())
            .or_insert_with(Instant::now);
        if since.elapsed() < r.delay {
            continue;
        }
        let mine = p.reviews.iter().rev().find(|v| v.author.login == r.login);
        let threads: Vec<u64> = p
            .threads
            .iter()
            .filter(|t| {
                !t.resolved
                    && t.comments
                        .first()
                        .is_some_and(|c| c.author.login == r.login)
            })
            .map(|t| t.id)
            .collect();
        todo.push((
            item.number,
            p.head_sha.clone(),
            mine.map(|v| (v.state, v.commit_id.clone())),
            threads,
        ));
    }
    for (number, head, mine, threads) in todo {
        match mine {
            None if !r.asks.is_empty() => {
                let asks: Vec<(&str, Option<u64>, &str)> = r
                    .asks
                    .iter()
                    .map(|(p, l, b)| (p.as_str(), Some(*l), b.as_str()))
                    .collect();
                let _ = w.review(
                    repo,
                    number,
                    &r.login,
                    ReviewState::ChangesRequested,
                    "One thing before this goes in.",
                    &asks,
                );
            }
            None => {
                let _ = w.review(
                    repo,
                    number,
                    &r.login,
                    ReviewState::Approved,
                    "Looks good.",
                    &[],
                );
            }
            Some((ReviewState::ChangesRequested, reviewed)) if reviewed != head => {
                for t in threads {
                    let _ = w.resolve_thread(repo, t, true);
                }
                let _ = w.review(
                    repo,
                    number,
                    &r.login,
                    ReviewState::Approved,
                    "Thanks!",
                    &[],
                );
            }
            Some(_) => {}
        }
    }
}

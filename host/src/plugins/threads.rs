//! Threads for synchronous plugin calls, kept while idle and reused.
//!
//! A tick makes a few thousand plugin calls at 1,000 sessions; a new OS thread for each cost
//! more host CPU than the calls themselves (scripts/bench/tick). Not tokio's blocking pool:
//! a plugin call that hangs must keep its own thread and nothing else, forever if need be,
//! without counting against a pool the rest of the host shares or holding up the runtime's
//! shutdown. So: an idle worker takes the next job; when none is idle a new thread starts;
//! a worker idle for [`IDLE_EXIT`] ends, and at most [`MAX_IDLE`] wait at once.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long an idle worker waits for work before it ends.
const IDLE_EXIT: Duration = Duration::from_secs(30);
/// Idle workers kept at most; a burst beyond it ends its extra threads as they finish.
const MAX_IDLE: usize = 16;

/// Idle workers, each with the id it removes itself by and the way to hand it a job.
static IDLE: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn idle() -> std::sync::MutexGuard<'static, Vec<(u64, Sender<Job>)>> {
    // A panic while holding the lock cannot leave the list half-changed (push/pop/retain).
    IDLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on an idle worker, or on a new thread named `name` when none is idle.
pub(super) fn run(name: &str, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let popped = idle().pop();
    let job: Job = Box::new(job);
    if let Some((_, worker)) = popped {
        // Taken off the list under the lock, so the worker waits for exactly this send (see
        // `worker`): it cannot have ended.
        worker
            .send(job)
            .expect("a worker taken off the idle list waits for its job");
        return Ok(());
    }
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || worker(job))
        .map(drop)
}

fn worker(first: Job) {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<Job>();
    let mut job = first;
    loop {
        job();
        {
            let mut list = idle();
            if list.len() >= MAX_IDLE {
                return;
            }
            list.push((id, tx.clone()));
        }
        job = match rx.recv_timeout(IDLE_EXIT) {
            Ok(j) => j,
            Err(RecvTimeoutError::Timeout) => {
                let mut list = idle();
                match list.iter().position(|(w, _)| *w == id) {
                    Some(at) => {
                        list.swap_remove(at);
                        return;
                    }
                    // A caller took this worker off the list just now; its job is on the way.
                    None => {
                        drop(list);
                        match rx.recv() {
                            Ok(j) => j,
                            Err(_) => return,
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::{idle, run};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// The pool is process-wide: these tests take turns.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn workers_are_reused_and_a_hung_job_keeps_only_its_own_thread() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let started = super::NEXT_ID.load(std::sync::atomic::Ordering::Relaxed);
        let (done, results) = mpsc::channel();
        // One job that never returns (until the test ends).
        let (_release, hang) = mpsc::channel::<()>();
        run("test-hang", move || {
            let _ = hang.recv();
        })
        .unwrap();
        for i in 0..50 {
            let done = done.clone();
            run("test-job", move || {
                done.send(i).unwrap();
            })
            .unwrap();
            assert_eq!(results.recv_timeout(Duration::from_secs(10)).unwrap(), i);
            // The worker answers before it is back on the idle list.
            let deadline = Instant::now() + Duration::from_secs(10);
            while idle().is_empty() {
                assert!(
                    Instant::now() < deadline,
                    "no worker came back to the idle list"
                );
                std::thread::yield_now();
            }
        }
        // Jobs one after another find an idle worker: at most one thread for the hung job and
        // one for the rest were started, whatever the pool held before.
        let new = super::NEXT_ID.load(std::sync::atomic::Ordering::Relaxed) - started;
        assert!(new <= 2, "{new} threads started for 51 jobs");
    }

    #[test]
    fn concurrent_jobs_all_run() {
        let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let (done, results) = mpsc::channel();
        let gate = std::sync::Arc::new(std::sync::Barrier::new(20));
        for i in 0..20 {
            let (done, gate) = (done.clone(), gate.clone());
            // Each waits for all the others: passes only if 20 run at once.
            run("test-par", move || {
                gate.wait();
                done.send(i).unwrap();
            })
            .unwrap();
        }
        let mut got: Vec<i32> = (0..20)
            .map(|_| results.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
        // They answered before going idle; the next test needs a pool that has settled.
        let deadline = Instant::now() + Duration::from_secs(10);
        while idle().len() < super::MAX_IDLE {
            assert!(Instant::now() < deadline, "{} idle workers", idle().len());
            std::thread::yield_now();
        }
    }
}

//! A user's Ctrl-C (or a SIGTERM) reaching an operation that must not stop half-way.
//!
//! The command layer turns the first signal into [`Interrupt::trigger`]; a spawn then finishes
//! the step in flight (a plugin call is never abandoned mid-way: it would go on making things
//! after the undo ran), stops at the next step boundary, and undoes what it made. Waits that
//! make nothing (the agent's first sign of life, its task's delivery) are cut short at once.

use crate::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Shared by an operation and whoever may interrupt it. The default is never triggered.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    set: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Interrupt {
    /// Asks the operation to stop and undo.
    pub fn trigger(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`Interrupt::trigger`] was called.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// `Err(Interrupted)` once triggered: called between steps.
    pub fn check(&self) -> Result<(), Error> {
        if self.is_set() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// Runs `fut`, dropping it with `Err(Interrupted)` when triggered first. Only for futures
    /// that make nothing that would need undoing.
    pub async fn race<T>(&self, fut: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        tokio::select! {
            r = fut => r,
            () = self.triggered() => Err(Error::Interrupted),
        }
    }

    async fn triggered(&self) {
        loop {
            // Registered before the check, so a trigger between the two is not missed.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_trigger_cuts_a_wait_short_and_fails_every_later_check() {
        let i = Interrupt::default();
        assert!(i.check().is_ok());
        let j = i.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            j.trigger();
        });
        let r = i
            .race(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            })
            .await;
        assert!(matches!(r, Err(Error::Interrupted)));
        assert!(matches!(i.check(), Err(Error::Interrupted)));
        // Already triggered: a new race ends at once.
        let r = i.race(std::future::pending::<Result<(), Error>>()).await;
        assert!(matches!(r, Err(Error::Interrupted)));
    }
}

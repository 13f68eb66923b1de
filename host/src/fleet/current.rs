//! The fleet the daemon runs now. A config reload swaps it; every task and request takes the
//! current one when it starts, so a tick or a dashboard call runs to its end on one config.

use crate::fleet::Fleet;
use std::sync::{Arc, RwLock};

/// A swappable `Arc<Fleet>`.
pub struct Current(RwLock<Arc<Fleet>>);

impl Current {
    /// Starts with `fleet`.
    pub fn new(fleet: Arc<Fleet>) -> Current {
        Current(RwLock::new(fleet))
    }

    /// The fleet now.
    pub fn get(&self) -> Arc<Fleet> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces it; work that took the old one finishes on it.
    pub fn set(&self, fleet: Arc<Fleet>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = fleet;
    }
}

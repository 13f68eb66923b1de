//! Webhook deliveries already taken, so a replay wakes nothing. GitHub signs the body alone
//! (the `X-GitHub-Delivery` id is not covered), so a delivery counts as seen by its id or by
//! the hash of its body; only verified deliveries are remembered, so nobody can poison the
//! memory without the secret. Bounded: the oldest are forgotten first.

use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};

/// How many deliveries are remembered (two keys each).
const KEEP: usize = 1024;

/// The memory.
#[derive(Default)]
pub(super) struct Seen {
    order: VecDeque<String>,
    keys: HashSet<String>,
}

impl Seen {
    /// Whether this delivery was taken before.
    pub(super) fn is_repeat(&self, id: Option<&str>, body: &str) -> bool {
        keys(id, body).iter().any(|k| self.keys.contains(k))
    }

    /// Remembers a delivery that was just verified.
    pub(super) fn remember(&mut self, id: Option<&str>, body: &str) {
        for k in keys(id, body) {
            if self.keys.insert(k.clone()) {
                self.order.push_back(k);
            }
        }
        while self.order.len() > KEEP * 2 {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
    }
}

fn keys(id: Option<&str>, body: &str) -> Vec<String> {
    let mut out = vec![format!(
        "body:{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    )];
    if let Some(id) = id.filter(|i| !i.trim().is_empty()) {
        out.push(format!("id:{}", id.trim()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_known_by_its_id_or_its_body_and_memory_is_bounded() {
        let mut s = Seen::default();
        assert!(!s.is_repeat(Some("a"), "{}"));
        s.remember(Some("a"), "{}");
        assert!(s.is_repeat(Some("a"), "{\"other\":1}"), "same id");
        assert!(
            s.is_repeat(Some("b"), "{}"),
            "same body, new id (the id is not signed)"
        );
        assert!(!s.is_repeat(Some("c"), "{\"x\":2}"));
        for i in 0..(KEEP + 10) {
            s.remember(Some(&format!("n{i}")), &format!("{{\"n\":{i}}}"));
        }
        assert!(!s.is_repeat(Some("a"), "{}"), "the oldest are forgotten");
        assert!(s.order.len() <= KEEP * 2 && s.keys.len() == s.order.len());
    }
}

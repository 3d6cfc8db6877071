//! Allocation leases: the per-user allocation quota and the `turn_allocations`
//! gauge, kept in one place so that they cannot drift apart.
//!
//! Lifecycle: the relay generator takes a [`Lease`] when the TURN server asks for a
//! relay socket (Allocate); the guarded relay socket holds it and gives it back when
//! the server closes the allocation (Refresh with lifetime 0, expiry, shutdown) or
//! drops the socket — whichever comes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use myvid_core::metrics::Metrics;

/// Open allocations per user, with a limit.
pub struct Quotas {
    max_per_user: usize,
    open: Mutex<HashMap<String, usize>>,
    metrics: Arc<Metrics>,
}

impl Quotas {
    /// At most `max_per_user` open allocations per TURN user.
    pub fn new(max_per_user: usize, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Quotas { max_per_user, open: Mutex::new(HashMap::new()), metrics })
    }

    /// One more allocation for `user`, or `None` (counted as refused) at the limit.
    pub fn lease(self: &Arc<Self>, user: &str) -> Option<Lease> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.to_owned()).or_default();
        if *count >= self.max_per_user {
            self.metrics.turn_allocations_refused.inc();
            return None;
        }
        *count += 1;
        self.metrics.turn_allocations.inc();
        Some(Lease { quotas: self.clone(), user: user.to_owned() })
    }

    /// Open allocations of `user`.
    pub fn open(&self, user: &str) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).get(user).copied().unwrap_or(0)
    }
}

/// One open allocation of one user; dropping it gives the slot back.
pub struct Lease {
    quotas: Arc<Quotas>,
    user: String,
}

impl Lease {
    /// The TURN user holding the allocation.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut open = self.quotas.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
        self.quotas.metrics.turn_allocations.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_per_user_and_come_back_on_drop() {
        let metrics = Arc::new(Metrics::default());
        let quotas = Quotas::new(2, metrics.clone());
        let a1 = quotas.lease("alice").unwrap();
        let a2 = quotas.lease("alice").unwrap();
        assert!(quotas.lease("alice").is_none(), "third allocation over the quota");
        let b1 = quotas.lease("bob").unwrap();
        assert_eq!((quotas.open("alice"), quotas.open("bob")), (2, 1));
        assert_eq!(metrics.turn_allocations.get(), 3);
        assert_eq!(metrics.turn_allocations_refused.get(), 1);
        drop(a1);
        assert_eq!(a2.user(), "alice");
        assert!(quotas.lease("alice").is_some(), "a slot came back (and goes again at once)");
        drop((a2, b1));
        assert_eq!((quotas.open("alice"), quotas.open("bob")), (0, 0));
        assert_eq!(metrics.turn_allocations.get(), 0);
    }
}

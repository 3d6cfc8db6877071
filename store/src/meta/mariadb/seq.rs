//! Video sequence numbers: newest-first order across every MyVid process.
//!
//! `seq` orders listings and pages them. AUTO_INCREMENT cannot provide it on Galera:
//! each node hands out its own interleaved series (1, 4, 7… on one node, 2, 5, 8… on
//! another), so a later row may get a smaller number. Instead a process takes the
//! current time in microseconds, shifted left by 10 bits, plus 10 random bits, and
//! never goes below its previous number: strictly increasing within a process, ordered
//! by wall clock across processes (to within their clock skew), and unique in practice
//! (a clash is a primary-key conflict, and the insert is retried with a new number).

use std::sync::atomic::{AtomicI64, Ordering};

static LAST: AtomicI64 = AtomicI64::new(0);

/// The next sequence number.
pub(super) fn next() -> i64 {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX >> 10));
    let candidate = (micros << 10) | (rand::random::<i64>() & 0x3ff);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = candidate.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_increase_and_follow_the_clock() {
        let a = super::next();
        let b = super::next();
        assert!(b > a);
        let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
        assert!((a >> 10) as u128 <= micros && micros - ((a >> 10) as u128) < 60_000_000);
    }
}

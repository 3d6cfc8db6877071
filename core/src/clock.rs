//! Time as an input. Services ask a [`Clock`] for "now" instead of reading the system
//! clock, so tests can move time (for example past a signed URL's expiry) without
//! sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of Unix time in seconds.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Self {
        Clock(Source::System)
    }

    /// A clock that stands still at `start` until moved with [`ManualClock`].
    pub fn manual(start: i64) -> (Clock, ManualClock) {
        let cell = Arc::new(AtomicI64::new(start));
        (Clock(Source::Manual(cell.clone())), ManualClock(cell))
    }

    /// Current Unix time in seconds.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Source::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Source::Manual(cell) => cell.load(Ordering::SeqCst),
        }
    }
}

/// The handle that moves a manual clock.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// The time it stands at.
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let (clock, handle) = Clock::manual(1_000);
        assert_eq!(clock.now(), 1_000);
        handle.advance(86_400);
        assert_eq!(clock.now(), 87_400);
        assert!(Clock::system().now() > 1_700_000_000);
    }
}

//! The per-allocation bandwidth cap: a token bucket over bytes. Time is an input
//! (`now`), so the arithmetic is tested without sleeping.

use std::time::{Duration, Instant};

/// A byte budget refilled at `bytes_per_sec`, holding at most one second's worth:
/// traffic may burst for up to a second (a keyframe), never average above the cap.
#[derive(Debug, Clone)]
pub struct ByteBucket {
    bytes_per_sec: u64,
    tokens: u64,
    last: Instant,
}

impl ByteBucket {
    /// A full bucket at `now`.
    pub fn new(bytes_per_sec: u64, now: Instant) -> Self {
        ByteBucket { bytes_per_sec, tokens: bytes_per_sec, last: now }
    }

    /// Takes `n` bytes at `now` if the budget holds them; `false` means drop the
    /// datagram (datagrams are never split).
    pub fn take(&mut self, n: usize, now: Instant) -> bool {
        self.refill(now);
        let n = n as u64;
        if n > self.tokens {
            return false;
        }
        self.tokens -= n;
        true
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        if elapsed >= Duration::from_secs(1) {
            self.tokens = self.bytes_per_sec;
            self.last = now;
            return;
        }
        // Whole bytes earned since `last`; `last` advances only by the time those
        // bytes took, so fractions are never lost between calls.
        let earned = u128::from(self.bytes_per_sec) * elapsed.as_nanos() / 1_000_000_000;
        if earned == 0 {
            return;
        }
        let earned = u64::try_from(earned).unwrap_or(u64::MAX);
        let spent_nanos = u128::from(earned) * 1_000_000_000 / u128::from(self.bytes_per_sec.max(1));
        self.last += Duration::from_nanos(u64::try_from(spent_nanos).unwrap_or(u64::MAX));
        self.tokens = self.tokens.saturating_add(earned).min(self.bytes_per_sec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = ByteBucket::new(1_000, start);
        assert!(bucket.take(600, start));
        assert!(bucket.take(400, start));
        assert!(!bucket.take(1, start), "the first second's budget is spent");
        let half = start + Duration::from_millis(500);
        assert!(bucket.take(500, half), "half a second earns half the rate");
        assert!(!bucket.take(1, half));
        assert!(!bucket.take(1_001, start + Duration::from_secs(10)), "never more than a second's worth");
        assert!(bucket.take(1_000, start + Duration::from_secs(10)));
    }

    #[test]
    fn small_steps_add_up() {
        let start = Instant::now();
        let mut bucket = ByteBucket::new(1_000, start);
        assert!(bucket.take(1_000, start));
        // 100 steps of 0.5 ms earn 0.5 bytes each: 50 bytes in all, none lost.
        for i in 1..=100 {
            bucket.take(0, start + Duration::from_micros(500 * i));
        }
        let end = start + Duration::from_millis(50);
        assert!(bucket.take(50, end));
        assert!(!bucket.take(1, end));
    }
}

//! A token bucket: `burst` messages at once, then one more every `refill_ms`.
//!
//! Whole tokens only, with the time of the last refill kept exactly, so that a
//! refill period is never lost to rounding: the bucket is full again exactly
//! `burst × refill_ms` after it was emptied.

/// One user's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenBucket {
    tokens: u64,
    /// When the next refill period started; meaningless while the bucket is full.
    since_ms: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn full(burst: u32) -> Self {
        TokenBucket { tokens: u64::from(burst), since_ms: 0 }
    }

    fn refill(&mut self, burst: u32, refill_ms: u64, now_ms: u64) {
        let burst = u64::from(burst);
        let refill_ms = refill_ms.max(1);
        if self.tokens >= burst {
            // Full: the refill clock starts with the next token taken.
            self.since_ms = now_ms;
            return;
        }
        let periods = now_ms.saturating_sub(self.since_ms) / refill_ms;
        if periods > 0 {
            self.tokens = (self.tokens + periods).min(burst);
            self.since_ms = if self.tokens == burst { now_ms } else { self.since_ms + periods * refill_ms };
        }
    }

    /// Takes a token at `now_ms`, or says in how many milliseconds the next one comes.
    pub(crate) fn take(&mut self, burst: u32, refill_ms: u64, now_ms: u64) -> Result<(), u64> {
        self.refill(burst, refill_ms, now_ms);
        if self.tokens > 0 {
            self.tokens -= 1;
            return Ok(());
        }
        let waited = now_ms.saturating_sub(self.since_ms);
        Err(refill_ms.max(1).saturating_sub(waited).max(1))
    }

    /// Whether the bucket has refilled completely by `now_ms` (then it is the same as a
    /// fresh one and need not be kept).
    pub(crate) fn is_full(&self, burst: u32, refill_ms: u64, now_ms: u64) -> bool {
        let mut probe = *self;
        probe.refill(burst, refill_ms, now_ms);
        probe.tokens >= u64::from(burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_token_per_period() {
        let mut bucket = TokenBucket::full(3);
        for _ in 0..3 {
            assert_eq!(bucket.take(3, 1_000, 10_000), Ok(()));
        }
        assert_eq!(bucket.take(3, 1_000, 10_000), Err(1_000));
        assert_eq!(bucket.take(3, 1_000, 10_400), Err(600));
        assert_eq!(bucket.take(3, 1_000, 11_000), Ok(()));
        assert_eq!(bucket.take(3, 1_000, 11_000), Err(1_000));
        assert!(!bucket.is_full(3, 1_000, 13_999));
        assert!(bucket.is_full(3, 1_000, 14_000));
    }

    #[test]
    fn partial_periods_are_not_lost() {
        let mut bucket = TokenBucket::full(2);
        assert_eq!(bucket.take(2, 1_000, 0), Ok(()));
        assert_eq!(bucket.take(2, 1_000, 0), Ok(()));
        // 1.5 periods: one token now, the next at 2,000 (not 2,500).
        assert_eq!(bucket.take(2, 1_000, 1_500), Ok(()));
        assert_eq!(bucket.take(2, 1_000, 1_500), Err(500));
        assert_eq!(bucket.take(2, 1_000, 2_000), Ok(()));
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let mut bucket = TokenBucket::full(1);
        assert_eq!(bucket.take(1, 1_000, 5_000), Ok(()));
        assert_eq!(bucket.take(1, 1_000, 1_000), Err(1_000));
    }
}

//! How long a failed job waits before its next attempt: exponential, capped, with a
//! little jitter so that jobs failing together (a store outage) do not retry together.

/// Exponential backoff with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt, in seconds.
    pub base_secs: i64,
    /// The longest wait, in seconds.
    pub max_secs: i64,
}

impl Default for Backoff {
    /// 30 s, doubling up to an hour: a store hiccup is retried soon, a broken input
    /// reaches its dead letter after five attempts in about eight minutes.
    fn default() -> Self {
        Backoff { base_secs: 30, max_secs: 3600 }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempts` (1 for the first), plus up to a
    /// quarter more for `jitter` in `[0, 1)`: `min(base · 2^(attempts − 1), max) · (1 + jitter / 4)`.
    pub fn delay_secs(&self, attempts: u32, jitter: f64) -> i64 {
        let doublings = attempts.saturating_sub(1).min(62);
        let exponential = self.base_secs.max(0).saturating_mul(1_i64 << doublings).min(self.max_secs.max(0));
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        // At most a quarter of an hour-scale value: far inside i64 and f64's exact range.
        exponential + (exponential as f64 * jitter / 4.0) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use proptest::prelude::*;

    #[test]
    fn doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff::default();
        let waits: Vec<i64> = (1..=9).map(|n| backoff.delay_secs(n, 0.0)).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff.delay_secs(1, 0.999), 37, "a quarter more at most");
    }

    proptest! {
        #[test]
        fn never_shorter_than_the_base_nor_longer_than_the_cap_and_a_quarter(
            base in 0_i64..10_000, extra in 0_i64..100_000, attempts in 0_u32..200, jitter in any::<f64>(),
        ) {
            let backoff = Backoff { base_secs: base, max_secs: base + extra };
            let wait = backoff.delay_secs(attempts, jitter);
            prop_assert!(wait >= base.min(base + extra));
            prop_assert!(wait <= (base + extra) + (base + extra) / 4);
        }
    }
}

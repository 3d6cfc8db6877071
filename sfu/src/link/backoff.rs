//! How long to wait before reconnecting to an endpoint: exponential, capped, with
//! jitter so that SFUs which lost the same endpoint do not all return at once.
//!
//! ```text
//!  attempt:   0      1      2      3    …   n
//!  base:      i     2i     4i     8i    …   min(i·2ⁿ, max)
//!  delay:     base · (½ + ½·jitter),  jitter ∈ [0, 1)
//! ```

use std::time::Duration;

/// Reconnect delays. `attempt` counts failures since the last successful registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Base delay of the first retry (default 500 ms: a restarting endpoint is usually
    /// back within a second or two).
    pub initial: Duration,
    /// Longest base delay (default 30 s: an endpoint that is down for long is retried
    /// twice a minute, which costs nothing and brings the SFU back soon after).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0 for the first), given `jitter` in
    /// `[0, 1)` (values outside are clamped). Half of the base delay is fixed and half
    /// random ("equal jitter"): never retrying too eagerly, yet spread out.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt);
        let base = self.initial.saturating_mul(factor).min(self.max);
        base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        let full: Vec<u128> = (0..6).map(|n| backoff.delay(n, 1.0).as_millis()).collect();
        assert_eq!(full, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay(u32::MAX, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_over_the_upper_half() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(0, 0.0), Duration::from_millis(250));
        assert_eq!(backoff.delay(0, 0.5), Duration::from_millis(375));
        assert_eq!(backoff.delay(0, -3.0), Duration::from_millis(250));
        assert_eq!(backoff.delay(0, 7.0), Duration::from_millis(500));
    }
}

//! The two clocks that end a run which goes on too long: an overall deadline, and a
//! stall limit that moves forward each time the output grows. Pure: the time is
//! passed in, so the rules are tested without waiting.

use std::time::Duration;

use tokio::time::Instant;

/// Which clock ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// The overall deadline passed.
    Timeout,
    /// The output did not grow for the stall limit.
    Stalled,
}

/// The deadlines of one run.
#[derive(Debug, Clone)]
pub(crate) struct Watchdog {
    /// When the run is over, whatever it is doing.
    deadline: Instant,
    /// How long the output may stay the same.
    stall: Duration,
    /// When the run is stalled unless the output grows before.
    stall_at: Instant,
    /// The furthest output time seen.
    furthest: Option<Duration>,
}

impl Watchdog {
    /// A watchdog for a run started at `now`.
    pub fn new(now: Instant, timeout: Duration, stall: Duration) -> Self {
        Watchdog { deadline: now + timeout, stall, stall_at: now + stall, furthest: None }
    }

    /// Notes that the output reached `out_time` at `now`: if that is further than
    /// before, the stall limit starts again.
    pub fn observe(&mut self, now: Instant, out_time: Duration) {
        if self.furthest.is_none_or(|furthest| out_time > furthest) {
            self.furthest = Some(out_time);
            self.stall_at = now + self.stall;
        }
    }

    /// When to look again.
    pub fn wake_at(&self) -> Instant {
        self.deadline.min(self.stall_at)
    }

    /// Which clock has run out at `now`, if any (the overall one first).
    pub fn expired(&self, now: Instant) -> Option<Expiry> {
        if now >= self.deadline {
            Some(Expiry::Timeout)
        } else if now >= self.stall_at {
            Some(Expiry::Stalled)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn growing_output_keeps_a_run_alive_until_the_deadline() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(t0, 100 * S, 10 * S);
        assert_eq!(dog.wake_at(), t0 + 10 * S);
        assert_eq!(dog.expired(t0 + 9 * S), None);
        for second in 1..100 {
            dog.observe(t0 + second * S, second * S / 2);
            assert_eq!(dog.expired(t0 + second * S), None);
        }
        assert_eq!(dog.wake_at(), t0 + 100 * S);
        assert_eq!(dog.expired(t0 + 100 * S), Some(Expiry::Timeout));
    }

    #[test]
    fn output_that_stops_growing_is_a_stall() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(t0, 100 * S, 10 * S);
        dog.observe(t0 + S, 2 * S);
        dog.observe(t0 + 5 * S, 2 * S);
        dog.observe(t0 + 8 * S, S);
        assert_eq!(dog.wake_at(), t0 + 11 * S);
        assert_eq!(dog.expired(t0 + 10 * S), None);
        assert_eq!(dog.expired(t0 + 11 * S), Some(Expiry::Stalled));
    }

    #[test]
    fn the_first_report_counts_even_at_zero_and_nothing_at_all_stalls() {
        let t0 = Instant::now();
        let mut dog = Watchdog::new(t0, 100 * S, 10 * S);
        assert_eq!(dog.expired(t0 + 10 * S), Some(Expiry::Stalled));
        dog.observe(t0 + 3 * S, Duration::ZERO);
        assert_eq!(dog.expired(t0 + 10 * S), None);
        assert_eq!(dog.expired(t0 + 13 * S), Some(Expiry::Stalled));
    }
}

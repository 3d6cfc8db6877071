//! [`Ticks`]: the background loops' clock — a tick every period (the first at once; a
//! late tick delays the next ones rather than bunching them) until a stop token fires.
//!
//! ```text
//!  let mut ticks = Ticks::new(PERIOD, stop);
//!  while ticks.next().await { one_pass().await; }
//! ```

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks every period until stopped (see the module docs).
pub struct Ticks {
    interval: Interval,
    stop: CancellationToken,
}

impl Ticks {
    /// Ticks every `period` until `stop` is cancelled.
    pub fn new(period: Duration, stop: CancellationToken) -> Ticks {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ticks { interval, stop }
    }

    /// Waits for the next tick: `true`, or `false` once stopped.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.interval.tick() => !self.stop.is_cancelled(),
            () = self.stop.cancelled() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_at_once_then_every_period_until_stopped() {
        let period = Duration::from_millis(50);
        let stop = CancellationToken::new();
        let mut ticks = Ticks::new(period, stop.clone());
        let start = tokio::time::Instant::now();
        assert!(ticks.next().await);
        assert!(start.elapsed() < period, "the first tick is at once");
        assert!(ticks.next().await);
        assert!(start.elapsed() >= period, "the second a period later");
        stop.cancel();
        assert!(!ticks.next().await, "stopped");
    }
}

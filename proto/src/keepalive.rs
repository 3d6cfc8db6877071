//! Keep-alive for signalling WebSockets, the same on both ends (endpoint relay and SFU
//! link): ping on a fixed period, give the socket up when the peer has been silent too
//! long.
//!
//! ```text
//!  every `every` ──▶ Due::Ping ──▶ send a ping (the peer's pong, or any frame, is `heard`)
//!  nothing heard for `idle` ──▶ Due::Silent ──▶ close the socket
//! ```

use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at, sleep_until};

/// The WebSocket library's own limit on one message (and one frame) on signalling
/// sockets. Well above [`crate::MAX_FRAME_BYTES`], so that a too-large signalling frame
/// reaches the application and is answered with a `frame_too_large` error frame
/// instead of the library dropping the connection; anything above this is abuse, and
/// does end it.
pub const WS_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// What a [`KeepAlive`] wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send a ping.
    Ping,
    /// Nothing heard for the idle timeout: close.
    Silent,
}

/// Pings a socket on a fixed period and notices when its peer has gone quiet. Reads
/// tokio's clock, so tests run it on paused time.
#[derive(Debug)]
pub struct KeepAlive {
    ping: Interval,
    idle: Duration,
    last_heard: Instant,
}

impl KeepAlive {
    /// Pings every `every`; silent after `idle` without a frame from the peer.
    pub fn new(every: Duration, idle: Duration) -> Self {
        let mut ping = interval_at(Instant::now() + every, every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        KeepAlive { ping, idle, last_heard: Instant::now() }
    }

    /// The peer sent something (any frame, pongs included).
    pub fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Waits for the next ping or for the silence limit. Cancel-safe.
    pub async fn due(&mut self) -> Due {
        tokio::select! {
            // Silence first: when both are due, a ping would not help any more.
            biased;
            () = sleep_until(self.last_heard + self.idle) => Due::Silent,
            _ = self.ping.tick() => Due::Ping,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pings_then_notices_silence() {
        let mut keep = KeepAlive::new(Duration::from_secs(20), Duration::from_secs(60));
        assert_eq!(keep.due().await, Due::Ping);
        keep.heard();
        assert_eq!(keep.due().await, Due::Ping);
        assert_eq!(keep.due().await, Due::Ping);
        // At 80 s the ping and the silence limit (60 s after the frame heard at 20 s)
        // fall together: silence wins.
        assert_eq!(keep.due().await, Due::Silent);
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_noticed_after_the_idle_timeout() {
        let start = Instant::now();
        let mut keep = KeepAlive::new(Duration::from_secs(20), Duration::from_secs(30));
        assert_eq!(keep.due().await, Due::Ping);
        keep.heard();
        assert_eq!(keep.due().await, Due::Ping);
        assert_eq!(keep.due().await, Due::Silent);
        assert_eq!(start.elapsed(), Duration::from_secs(50));
    }
}

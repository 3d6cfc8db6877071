//! A per-connection budget of frames of one kind per second (a fixed one-second window),
//! for the signalling arms that may not be flooded: chat frames, bit rate changes.

use std::time::Duration;

use tokio::time::Instant;

/// How many frames of one kind came in the current second.
#[derive(Debug, Default)]
pub(super) struct PerSecond {
    window_start: Option<Instant>,
    in_window: u32,
}

impl PerSecond {
    /// Counts one more frame; whether it is within `limit` for this second.
    pub(super) fn admit(&mut self, limit: u32) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.in_window = 0;
            }
        }
        self.in_window += 1;
        self.in_window <= limit
    }
}

//! Keyframe requests to the publisher, throttled per layer.
//!
//! Every joining viewer and every layer switch needs a keyframe, and a burst of
//! joins must not become a burst of PLIs (each keyframe costs the publisher several
//! times a delta frame's bits). At most one request per layer is sent per
//! [`MIN_INTERVAL`]; requests inside the interval are folded into one that goes out
//! when it ends, unless a keyframe arrives first.

use std::time::{Duration, Instant};

/// Shortest gap between two keyframe requests for one layer. 500 ms keeps a join's
/// worst-case wait near one round trip plus half a second while capping requests at
/// two per second per layer.
pub const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// Throttle state of one layer.
#[derive(Debug, Default, Clone)]
pub struct KeyframeThrottle {
    last_sent: Option<Instant>,
    pending: bool,
}

impl KeyframeThrottle {
    /// Asks for a keyframe at `now`. Returns true if a request should be sent now;
    /// otherwise one is remembered for [`KeyframeThrottle::poll_timeout`].
    pub fn request(&mut self, now: Instant) -> bool {
        match self.last_sent {
            Some(last) if now < last + MIN_INTERVAL => {
                self.pending = true;
                false
            }
            _ => {
                self.last_sent = Some(now);
                self.pending = false;
                true
            }
        }
    }

    /// A keyframe arrived: any pending request is satisfied.
    pub fn keyframe_seen(&mut self) {
        self.pending = false;
    }

    /// When a pending request becomes due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.pending { self.last_sent.map(|last| last + MIN_INTERVAL) } else { None }
    }

    /// Returns true if a pending request is due at `now` (and marks it sent).
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.poll_timeout().is_some_and(|due| now >= due) { self.request(now) } else { false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_fold_into_one_request_per_interval() {
        let t0 = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(t0));
        assert!(!throttle.request(t0 + Duration::from_millis(10)));
        assert!(!throttle.request(t0 + Duration::from_millis(20)));
        assert_eq!(throttle.poll_timeout(), Some(t0 + MIN_INTERVAL));
        assert!(!throttle.handle_timeout(t0 + Duration::from_millis(499)));
        assert!(throttle.handle_timeout(t0 + MIN_INTERVAL));
        assert_eq!(throttle.poll_timeout(), None);
        assert!(throttle.request(t0 + MIN_INTERVAL * 2));
    }

    #[test]
    fn a_keyframe_cancels_the_pending_request() {
        let t0 = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(t0));
        assert!(!throttle.request(t0 + Duration::from_millis(100)));
        throttle.keyframe_seen();
        assert_eq!(throttle.poll_timeout(), None);
        assert!(!throttle.handle_timeout(t0 + MIN_INTERVAL));
    }
}

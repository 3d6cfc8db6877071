//! The viewer count shown beside the chat, throttled.
//!
//! Every join and leave of a viewer changes the count; in a busy stream that is many
//! times a second, and each change would be a frame to every chat member. The count
//! is sent at most once per [`VIEWER_COUNT_INTERVAL_MS`], and only when it differs
//! from the last one sent; a change inside the interval goes out when it ends (the
//! latest value, however many changes came in between).

/// Shortest gap between two viewer counts sent to the chat. A second is as fast as a
/// person reads a changing number, and bounds the fan-out to one frame per member per
/// second however fast viewers come and go.
pub const VIEWER_COUNT_INTERVAL_MS: u64 = 1_000;

/// Throttle state of one room's viewer count.
#[derive(Debug, Default, Clone)]
pub(crate) struct ViewerCount {
    current: u32,
    sent: Option<u32>,
    last_sent_ms: Option<u64>,
}

impl ViewerCount {
    /// The latest count (what a newcomer's `chat_joined` says).
    pub(crate) fn current(&self) -> u32 {
        self.current
    }

    /// A newcomer was told [`Self::current`]. While a count is held back, that differs
    /// from what the others were last sent, so the next send must go out even if the
    /// count has come back to that value by then (a held-back count always has its
    /// timer running, so it will).
    pub(crate) fn told_newcomer(&mut self) {
        if self.sent != Some(self.current) {
            self.sent = None;
        }
    }

    /// A new count at `now_ms`: returns it if it should be sent now.
    pub(crate) fn update(&mut self, count: u32, now_ms: u64) -> Option<u32> {
        self.current = count;
        self.due(now_ms)
    }

    /// When a held-back count becomes due.
    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        if self.sent == Some(self.current) {
            return None;
        }
        self.last_sent_ms.map(|last| last.saturating_add(VIEWER_COUNT_INTERVAL_MS))
    }

    /// Returns the count if one is due at `now_ms` (and marks it sent).
    pub(crate) fn handle_timeout(&mut self, now_ms: u64) -> Option<u32> {
        self.due(now_ms)
    }

    fn due(&mut self, now_ms: u64) -> Option<u32> {
        if self.sent == Some(self.current) {
            return None;
        }
        if self.last_sent_ms.is_some_and(|last| now_ms < last.saturating_add(VIEWER_COUNT_INTERVAL_MS)) {
            return None;
        }
        self.sent = Some(self.current);
        self.last_sent_ms = Some(now_ms);
        Some(self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_inside_the_interval_fold_into_the_latest() {
        let mut count = ViewerCount::default();
        assert_eq!(count.update(1, 0), Some(1));
        assert_eq!(count.update(2, 100), None);
        assert_eq!(count.update(3, 200), None);
        assert_eq!(count.poll_timeout(), Some(1_000));
        assert_eq!(count.handle_timeout(999), None);
        assert_eq!(count.handle_timeout(1_000), Some(3));
        assert_eq!(count.poll_timeout(), None);
    }

    #[test]
    fn a_newcomer_told_a_held_back_count_hears_the_count_coming_back() {
        let mut count = ViewerCount::default();
        assert_eq!(count.update(2, 0), Some(2));
        assert_eq!(count.update(1, 100), None);
        // A member joins now and is told 1; the others still show 2.
        count.told_newcomer();
        assert_eq!(count.update(2, 200), None);
        assert_eq!(count.poll_timeout(), Some(1_000));
        assert_eq!(count.handle_timeout(1_000), Some(2), "the newcomer shows 1 until told 2");
        assert_eq!(count.poll_timeout(), None);
    }

    #[test]
    fn a_newcomer_told_the_count_everyone_has_changes_nothing() {
        let mut count = ViewerCount::default();
        assert_eq!(count.update(2, 0), Some(2));
        count.told_newcomer();
        assert_eq!(count.poll_timeout(), None);
        assert_eq!(count.update(2, 2_000), None);
    }

    #[test]
    fn an_unchanged_count_is_not_sent_again() {
        let mut count = ViewerCount::default();
        assert_eq!(count.update(4, 0), Some(4));
        assert_eq!(count.update(5, 10), None);
        assert_eq!(count.update(4, 20), None);
        // Back to what was sent: nothing is pending.
        assert_eq!(count.poll_timeout(), None);
        assert_eq!(count.handle_timeout(5_000), None);
        assert_eq!(count.update(4, 6_000), None);
        assert_eq!(count.update(6, 6_000), Some(6));
    }
}

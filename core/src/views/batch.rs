//! [`ViewBatch`]: the views an API process has seen and not yet counted in the store,
//! deduplicated in memory so that reloads never reach the database.
//!
//! Pure (time is an input), so its rules are tested without a clock:
//! - a viewer's repeated views of a video within the window are one;
//! - one address gets at most [`ANON_KEYS_PER_ADDRESS`] anonymous viewer ids per video
//!   per window (clearing the browser's storage to inflate a count stops there);
//! - at most `max_pending` views wait for a flush; beyond that new ones are dropped
//!   and counted as such, never blocking a request.

use std::collections::HashMap;
use std::net::IpAddr;

use myvid_store::meta::ViewMark;

/// Anonymous viewer ids one address may count per video per window.
pub const ANON_KEYS_PER_ADDRESS: usize = 3;

/// Most (video, viewer) pairs remembered for deduplication.
const MAX_SEEN: usize = 100_000;

/// The anonymous viewer ids one address brought to one video, with when.
type AnonymousIds = HashMap<(IpAddr, String), Vec<([u8; 16], i64)>>;

/// What happened to an offered view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// New: it waits for the next flush.
    Pending,
    /// This viewer was counted for this video within the window.
    Repeat,
    /// The address has used its anonymous ids for this video.
    TooManyIds,
    /// Too many views wait for a flush (the store is slow or down): dropped.
    Dropped,
}

/// The views of one API process between flushes (see the module docs).
#[derive(Debug)]
pub struct ViewBatch {
    window_secs: i64,
    max_pending: usize,
    /// When each (video, viewer) was last taken in.
    seen: HashMap<(String, [u8; 16]), i64>,
    /// The anonymous viewers each (address, video) brought in, with when.
    anonymous: AnonymousIds,
    pending: Vec<ViewMark>,
}

impl ViewBatch {
    /// An empty batch counting once per `window_secs`, holding at most `max_pending`.
    pub fn new(window_secs: i64, max_pending: usize) -> ViewBatch {
        ViewBatch { window_secs, max_pending, seen: HashMap::new(), anonymous: HashMap::new(), pending: Vec::new() }
    }

    /// Takes in a view of `video` by `viewer` (a keyed hash) at `now`. `anonymous_from`
    /// names the address of a viewer known only by an id it sent itself.
    pub fn offer(&mut self, video: &str, viewer: [u8; 16], anonymous_from: Option<IpAddr>, now: i64) -> Offered {
        let key = (video.to_owned(), viewer);
        if self.seen.get(&key).is_some_and(|at| now - at < self.window_secs) {
            return Offered::Repeat;
        }
        if let Some(address) = anonymous_from {
            let window = self.window_secs;
            let ids = self.anonymous.entry((address, video.to_owned())).or_default();
            ids.retain(|(_, at)| now - at < window);
            if !ids.iter().any(|(id, _)| *id == viewer) {
                if ids.len() >= ANON_KEYS_PER_ADDRESS {
                    return Offered::TooManyIds;
                }
                ids.push((viewer, now));
            }
        }
        if self.pending.len() >= self.max_pending {
            return Offered::Dropped;
        }
        self.remember(key, now);
        self.pending.push(ViewMark { video_id: video.to_owned(), viewer, at: now });
        Offered::Pending
    }

    fn remember(&mut self, key: (String, [u8; 16]), now: i64) {
        if self.seen.len() >= MAX_SEEN {
            let window = self.window_secs;
            self.seen.retain(|_, at| now - *at < window);
            self.anonymous.retain(|_, ids| ids.iter().any(|(_, at)| now - at < window));
            if self.seen.len() >= MAX_SEEN {
                // Still full of views from within the window: start over. The store
                // deduplicates too, so the worst case is a few more store writes.
                self.seen.clear();
            }
        }
        self.seen.insert(key, now);
    }

    /// Up to `max` views waiting, oldest first, taken out for a flush.
    pub fn take(&mut self, max: usize) -> Vec<ViewMark> {
        let n = max.min(self.pending.len());
        self.pending.drain(..n).collect()
    }

    /// Puts back views a flush could not count (the store was unavailable), ahead of
    /// newer ones, within the pending limit (the newest beyond it are dropped; returns
    /// how many).
    pub fn put_back(&mut self, mut marks: Vec<ViewMark>) -> usize {
        marks.append(&mut self.pending);
        let dropped = marks.len().saturating_sub(self.max_pending);
        marks.truncate(self.max_pending);
        self.pending = marks;
        dropped
    }

    /// Views waiting for a flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HOUR: i64 = 3600;

    fn viewer(n: u8) -> [u8; 16] {
        [n; 16]
    }

    #[test]
    fn a_viewer_counts_once_per_video_per_window() {
        let mut batch = ViewBatch::new(HOUR, 100);
        assert_eq!(batch.offer("v", viewer(1), None, 0), Offered::Pending);
        assert_eq!(batch.offer("v", viewer(1), None, 10), Offered::Repeat, "a reload");
        assert_eq!(batch.offer("w", viewer(1), None, 10), Offered::Pending, "another video");
        assert_eq!(batch.offer("v", viewer(2), None, 10), Offered::Pending, "another viewer");
        assert_eq!(batch.offer("v", viewer(1), None, HOUR - 1), Offered::Repeat);
        assert_eq!(batch.offer("v", viewer(1), None, HOUR), Offered::Pending, "an hour on");
        assert_eq!(batch.pending(), 4);
    }

    #[test]
    fn one_address_brings_at_most_three_anonymous_ids_per_video() {
        let address = IpAddr::from([192, 0, 2, 7]);
        let mut batch = ViewBatch::new(HOUR, 100);
        for n in 0..3 {
            assert_eq!(batch.offer("v", viewer(n), Some(address), 0), Offered::Pending);
        }
        assert_eq!(batch.offer("v", viewer(9), Some(address), 5), Offered::TooManyIds);
        assert_eq!(batch.offer("v", viewer(0), Some(address), 5), Offered::Repeat, "a known id is a repeat");
        assert_eq!(batch.offer("w", viewer(9), Some(address), 5), Offered::Pending, "another video");
        let other = IpAddr::from([192, 0, 2, 8]);
        assert_eq!(batch.offer("v", viewer(9), Some(other), 5), Offered::Pending, "another address");
        assert_eq!(batch.offer("v", viewer(10), Some(address), HOUR + 1), Offered::Pending, "a window later");
    }

    #[test]
    fn beyond_the_pending_limit_views_are_dropped_and_a_failed_flush_is_kept() {
        let mut batch = ViewBatch::new(HOUR, 3);
        for n in 0..3 {
            assert_eq!(batch.offer("v", viewer(n), None, 0), Offered::Pending);
        }
        assert_eq!(batch.offer("v", viewer(3), None, 0), Offered::Dropped);
        let taken = batch.take(2);
        assert_eq!(taken.iter().map(|m| m.viewer[0]).collect::<Vec<_>>(), vec![0, 1], "oldest first");
        assert_eq!(batch.offer("v", viewer(4), None, 1), Offered::Pending);
        assert_eq!(batch.put_back(taken), 1, "the newest beyond the limit goes");
        let all: Vec<u8> = batch.take(10).iter().map(|m| m.viewer[0]).collect();
        assert_eq!(all, vec![0, 1, 2], "put back ahead of newer ones");
    }

    proptest! {
        /// Whatever the order of offers, each (video, viewer) is pending at most once
        /// per window, and the pending list never exceeds its limit.
        #[test]
        fn never_twice_per_window_never_over_the_limit(
            offers in proptest::collection::vec((0u8..4, 0u8..6, 0i64..(3 * HOUR)), 0..200),
            limit in 1usize..50,
        ) {
            let mut offers = offers;
            offers.sort_by_key(|o| o.2);
            let mut batch = ViewBatch::new(HOUR, limit);
            for (video, who, at) in &offers {
                batch.offer(&format!("v{video}"), viewer(*who), None, *at);
                prop_assert!(batch.pending() <= limit);
            }
            let marks = batch.take(usize::MAX);
            for (i, a) in marks.iter().enumerate() {
                for b in &marks[i + 1..] {
                    if a.video_id == b.video_id && a.viewer == b.viewer {
                        prop_assert!((b.at - a.at).abs() >= HOUR, "{a:?} and {b:?}");
                    }
                }
            }
        }
    }
}

//! [`Timeline`]: one track's RTP timestamps as milliseconds of the recording.
//!
//! RTP timestamps are 32-bit counters at the codec's clock rate (90 kHz video, 48 kHz
//! Opus) that start anywhere and wrap. The recorder needs each frame's time from the start
//! of the recording, never going back. The forwarder's rewriter already keeps timestamps
//! continuous across simulcast layer switches; what can still happen is a publisher that
//! resumes (a new RTP timeline) — a jump of more than [`MAX_JUMP_MS`] either way. Such a
//! jump is taken as a discontinuity: the timeline goes on [`RESUME_GAP_MS`] after the last
//! frame, so the recording has no hole or overlap where the publisher paused.
//!
//! ```text
//!  anchor (track's first packet, ms after the recording started)
//!    rtp 3_000_000 ──▶ 1_200 ms,  rtp 3_002_970 (+33 ms) ──▶ 1_233 ms,  … wrap … continues
//!    jump > 10 s ──▶ last + 20 ms (discontinuity)
//! ```

/// A timestamp jump larger than this (either way) is a new timeline, not elapsed time.
pub const MAX_JUMP_MS: u64 = 10_000;
/// Where a new timeline goes on after a discontinuity: this long after the last frame.
pub const RESUME_GAP_MS: u64 = 20;

/// A frame's place on the recording's time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Milliseconds since the recording started; never less than the previous stamp's.
    pub ms: u64,
    /// The track jumped to a new timeline here (the publisher resumed, or garbage).
    pub discontinuity: bool,
}

/// The timeline of one track (see the module docs).
#[derive(Debug, Clone)]
pub struct Timeline {
    clock_rate: u64,
    /// Where the track starts on the recording's axis.
    anchor_ms: u64,
    /// The extended RTP timestamp that maps to `base_ms`, and the last one seen.
    base_ts: u64,
    base_ms: u64,
    last_ts: Option<u64>,
    last_ms: u64,
}

impl Timeline {
    /// A track at `clock_rate` Hz (at least 1) whose first packet arrived `anchor_ms` after
    /// the recording started.
    pub fn new(clock_rate: u32, anchor_ms: u64) -> Timeline {
        Timeline {
            clock_rate: u64::from(clock_rate.max(1)),
            anchor_ms,
            base_ts: 0,
            base_ms: anchor_ms,
            last_ts: None,
            last_ms: anchor_ms,
        }
    }

    /// The stamp of a frame with RTP timestamp `rtp_ts` (frames in arrival order).
    pub fn stamp(&mut self, rtp_ts: u32) -> Stamp {
        let Some(last_ts) = self.last_ts else {
            let ext = (1u64 << 32) + u64::from(rtp_ts);
            self.base_ts = ext;
            self.base_ms = self.anchor_ms;
            self.last_ts = Some(ext);
            return Stamp { ms: self.anchor_ms, discontinuity: false };
        };
        // Extend relative to the last timestamp: the nearer of the two wrap candidates.
        let delta = i64::from(rtp_ts.wrapping_sub(u32::try_from(last_ts & 0xffff_ffff).unwrap_or(0)).cast_signed());
        let ext = last_ts.saturating_add_signed(delta);
        let jump_ms = delta.unsigned_abs() * 1000 / self.clock_rate;
        if jump_ms > MAX_JUMP_MS {
            self.base_ts = ext;
            self.base_ms = self.last_ms + RESUME_GAP_MS;
            self.last_ts = Some(ext);
            self.last_ms = self.base_ms;
            return Stamp { ms: self.last_ms, discontinuity: true };
        }
        self.last_ts = Some(ext.max(last_ts));
        let since_base = ext.saturating_sub(self.base_ts);
        let ms = self.base_ms + since_base * 1000 / self.clock_rate;
        // A frame stamped before the last (reordered audio, a bad timestamp) keeps the last time.
        self.last_ms = self.last_ms.max(ms);
        Stamp { ms: self.last_ms, discontinuity: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_at_90_khz_maps_to_milliseconds_from_the_anchor() {
        let mut video = Timeline::new(90_000, 1_200);
        assert_eq!(video.stamp(3_000_000).ms, 1_200);
        assert_eq!(video.stamp(3_002_970).ms, 1_233);
        assert_eq!(video.stamp(3_090_000).ms, 2_200);
    }

    #[test]
    fn the_wrap_of_the_32_bit_counter_is_seamless() {
        let mut audio = Timeline::new(48_000, 0);
        let start = u32::MAX - 959; // 20 ms before the wrap
        assert_eq!(audio.stamp(start).ms, 0);
        assert_eq!(audio.stamp(start.wrapping_add(960)).ms, 20);
        assert_eq!(audio.stamp(start.wrapping_add(1_920)).ms, 40);
        assert_eq!(audio.stamp(start.wrapping_add(48_000)).ms, 1_000);
    }

    #[test]
    fn a_new_timeline_goes_on_just_after_the_last_frame() {
        let mut video = Timeline::new(90_000, 0);
        video.stamp(1_000);
        video.stamp(1_000 + 90_000 * 5); // 5 s
        let resumed = video.stamp(2_000_000_000);
        assert_eq!(resumed, Stamp { ms: 5_000 + RESUME_GAP_MS, discontinuity: true });
        let next = video.stamp(2_000_000_000 + 2_970);
        assert_eq!(next, Stamp { ms: 5_000 + RESUME_GAP_MS + 33, discontinuity: false });
        // a jump backwards far enough is a new timeline too
        assert!(video.stamp(5).discontinuity);
    }

    #[test]
    fn time_never_goes_back() {
        let mut audio = Timeline::new(48_000, 100);
        audio.stamp(10_000);
        assert_eq!(audio.stamp(10_000 + 4_800).ms, 200);
        assert_eq!(audio.stamp(10_000 + 960).ms, 200, "an older frame keeps the last time");
        assert_eq!(audio.stamp(10_000 + 9_600).ms, 300);
    }
}

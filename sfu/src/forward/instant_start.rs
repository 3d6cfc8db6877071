//! Instant start: a viewer joining a running stream is sent the layer's latest keyframe
//! and every packet after it from the packet cache, at once, so that its first frame
//! does not wait for the publisher to answer a keyframe request.
//!
//! ```text
//!  publisher packet ─▶ note: latest seq per layer; a keyframe's first packet and when it came
//!  join(now) ─▶ replay_from(layer): keyframe ≤ MAX_AGE old, ≤ MAX_PACKETS / MAX_BYTES since,
//!                                   every one still cached?
//!               ├─ yes ─▶ those packets through the joiner's own rewriter (numbers run on
//!               │         into the live packets), no keyframe request
//!               └─ no ──▶ request a keyframe, start on it (as before)
//! ```
//!
//! The keyframe must be fresh: the replayed frames carry their old RTP times, and a
//! browser plays from the first frame it gets, so a replay of half a second would leave
//! the viewer half a second behind live. The media plane keeps keyframes fresh where
//! joins happen: it asks for one when a viewer's session is created, so the keyframe
//! arrives while ICE and DTLS are still connecting and is replayed when they are done.

use std::time::{Duration, Instant};

use super::cache::PacketCache;
use super::packet::{Layer, MAX_LAYERS};
use super::seq::{seq_diff, seq_newer};

/// Oldest keyframe a joiner is started on: older, and it waits for a new one instead.
pub const MAX_AGE: Duration = Duration::from_millis(500);

/// Most packets replayed to one joiner (a keyframe of a 2.5 Mbit/s layer is ~30–60
/// packets; half a second of video after it ~100 more).
pub const MAX_PACKETS: usize = 200;

/// Most payload bytes replayed to one joiner.
pub const MAX_BYTES: usize = 256 * 1024;

/// Where each layer's latest keyframe starts and how far the layer has got.
#[derive(Debug, Default)]
pub(super) struct KeyframeMarks {
    /// Per layer: the first packet of the latest keyframe (sequence number, RTP time,
    /// arrival).
    keyframes: [Option<(u16, u32, Instant)>; MAX_LAYERS],
    /// Per layer: the newest sequence number seen.
    latest: [Option<u16>; MAX_LAYERS],
}

impl KeyframeMarks {
    /// Notes a video packet of `layer` (after it went into the cache).
    pub(super) fn note(&mut self, now: Instant, layer: Layer, seq: u16, timestamp: u32, keyframe: bool) {
        let l = usize::from(layer);
        if l >= MAX_LAYERS {
            return;
        }
        if self.latest[l].is_none_or(|latest| seq_newer(seq, latest)) {
            self.latest[l] = Some(seq);
        }
        // H.264 flags every packet of an IDR's start (SPS, PPS, slice): the keyframe
        // starts at the first packet of its frame (its RTP time).
        let same_frame = self.keyframes[l].is_some_and(|(_, ts, _)| ts == timestamp);
        if keyframe && !same_frame {
            self.keyframes[l] = Some((seq, timestamp, now));
        }
    }

    /// The sequence numbers to replay to a viewer joining `layer` now (from the latest
    /// keyframe's first packet to the newest packet), or `None` if that keyframe is too
    /// old, too far back, or not wholly in `cache`.
    pub(super) fn replay_from(&self, now: Instant, layer: Layer, cache: &PacketCache) -> Option<(u16, usize)> {
        let l = usize::from(layer);
        let (first, _, at) = (*self.keyframes.get(l)?)?;
        let latest = (*self.latest.get(l)?)?;
        if now.saturating_duration_since(at) > MAX_AGE {
            return None;
        }
        let count = usize::try_from(seq_diff(latest, first) + 1).ok().filter(|n| (1..=MAX_PACKETS).contains(n))?;
        let mut bytes = 0;
        for i in 0..count {
            let packet = cache.get(first.wrapping_add(u16::try_from(i).ok()?))?;
            bytes += packet.payload.len();
            if bytes > MAX_BYTES {
                return None;
            }
        }
        Some((first, count))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::forward::packet::{InPacket, MediaKind};

    fn packet(seq: u16, timestamp: u32, keyframe: bool, size: usize) -> InPacket {
        InPacket {
            kind: MediaKind::Video,
            layer: 0,
            seq,
            timestamp,
            marker: false,
            payload_type: 96,
            keyframe,
            payload: Bytes::from(vec![0; size]),
        }
    }

    fn feed(marks: &mut KeyframeMarks, cache: &mut PacketCache, now: Instant, p: &InPacket) {
        cache.insert(p);
        marks.note(now, p.layer, p.seq, p.timestamp, p.keyframe);
    }

    #[test]
    fn a_fresh_keyframe_is_replayed_with_everything_after_it_across_a_wrap() {
        let t0 = Instant::now();
        let (mut marks, mut cache) = (KeyframeMarks::default(), PacketCache::default());
        assert_eq!(marks.replay_from(t0, 0, &cache), None, "nothing seen yet");
        feed(&mut marks, &mut cache, t0, &packet(65_530, 0, false, 100));
        assert_eq!(marks.replay_from(t0, 0, &cache), None, "no keyframe yet");
        // A keyframe whose first two packets are both flagged (H.264: SPS, then IDR).
        feed(&mut marks, &mut cache, t0, &packet(65_534, 3_000, true, 100));
        feed(&mut marks, &mut cache, t0, &packet(65_535, 3_000, true, 100));
        for seq in 0..10 {
            feed(&mut marks, &mut cache, t0, &packet(seq, 6_000, false, 100));
        }
        assert_eq!(marks.replay_from(t0 + MAX_AGE, 0, &cache), Some((65_534, 12)));
        assert_eq!(marks.replay_from(t0 + MAX_AGE + Duration::from_millis(1), 0, &cache), None, "too old");
        assert_eq!(marks.replay_from(t0, 1, &cache), None, "another layer");
    }

    #[test]
    fn too_many_packets_too_many_bytes_or_a_hole_mean_no_replay() {
        let t0 = Instant::now();
        let (mut marks, mut cache) = (KeyframeMarks::default(), PacketCache::default());
        feed(&mut marks, &mut cache, t0, &packet(100, 0, true, 1_400));
        for seq in 101..(100 + MAX_PACKETS as u16) {
            feed(&mut marks, &mut cache, t0, &packet(seq, 3_000, false, 1_400));
        }
        assert_eq!(
            marks.replay_from(t0, 0, &cache),
            None,
            "{MAX_PACKETS} packets of 1,400 bytes are over {MAX_BYTES} bytes"
        );

        let (mut marks, mut cache) = (KeyframeMarks::default(), PacketCache::default());
        feed(&mut marks, &mut cache, t0, &packet(100, 0, true, 10));
        for seq in 101..=(100 + MAX_PACKETS as u16) {
            feed(&mut marks, &mut cache, t0, &packet(seq, 3_000, false, 10));
        }
        assert_eq!(marks.replay_from(t0, 0, &cache), None, "one packet over {MAX_PACKETS}");

        let (mut marks, mut cache) = (KeyframeMarks::default(), PacketCache::default());
        feed(&mut marks, &mut cache, t0, &packet(100, 0, true, 10));
        feed(&mut marks, &mut cache, t0, &packet(102, 3_000, false, 10));
        assert_eq!(marks.replay_from(t0, 0, &cache), None, "101 was lost: the replay would not decode");
        feed(&mut marks, &mut cache, t0, &packet(101, 0, false, 10));
        assert_eq!(marks.replay_from(t0, 0, &cache), Some((100, 3)), "the late packet fills the hole");
    }
}

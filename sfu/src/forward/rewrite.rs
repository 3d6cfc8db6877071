//! Per viewer, per media kind: which layer is forwarded, and the sequence number and
//! timestamp offsets that make the viewer see one continuous stream.
//!
//! Lifecycle of a video track:
//!
//! ```text
//!  waiting ──keyframe on target──▶ forwarding(layer L) ──target changes──▶
//!  forwarding(L) until a keyframe arrives on the new target ──▶ forwarding(new)
//! ```
//!
//! At each switch the offsets are chosen so that the first forwarded packet follows
//! the last one sent (sequence +1, timestamp advanced by the wall-clock gap), and the
//! switch is remembered as a [`Segment`] so that a NACK for an outgoing sequence
//! number can be mapped back to the publisher's packet.

use std::collections::VecDeque;
use std::time::Instant;

use super::packet::{InPacket, Layer, MediaKind};
use super::seq::{seq_diff, seq_newer};

/// Switches remembered for NACK mapping. A NACK older than eight switches (several
/// seconds) could not be answered from the cache anyway.
const SEGMENTS: usize = 8;

/// One stretch of output produced from one layer with constant offsets.
#[derive(Debug, Clone, Copy)]
struct Segment {
    layer: Layer,
    first_in_seq: u16,
    first_out_seq: u16,
    seq_offset: u16,
    ts_offset: u32,
}

/// Where an outgoing packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The publisher's layer.
    pub layer: Layer,
    /// The publisher's sequence number.
    pub seq: u16,
    /// Add to the publisher's timestamp to get the viewer's.
    pub ts_offset: u32,
}

/// Rewrite state of one outgoing track.
#[derive(Debug)]
pub struct TrackRewriter {
    kind: MediaKind,
    clock_rate: u32,
    target: Layer,
    segments: VecDeque<Segment>,
    last_out_seq: u16,
    last_out_ts: u32,
    last_sent_at: Option<Instant>,
}

impl TrackRewriter {
    /// A track of `kind` with RTP clock `clock_rate`, starting on layer `target`.
    pub fn new(kind: MediaKind, clock_rate: u32, target: Layer) -> Self {
        TrackRewriter {
            kind,
            clock_rate,
            target,
            segments: VecDeque::with_capacity(SEGMENTS),
            last_out_seq: 0,
            last_out_ts: 0,
            last_sent_at: None,
        }
    }

    /// The layer being forwarded, if any packet has been.
    pub fn current(&self) -> Option<Layer> {
        self.segments.back().map(|s| s.layer)
    }

    /// The layer this track should move to.
    pub fn target(&self) -> Layer {
        self.target
    }

    /// Asks for `layer`; the switch happens at its next keyframe (video) or at once
    /// (audio).
    pub fn set_target(&mut self, layer: Layer) {
        self.target = layer;
    }

    /// Whether the track waits for a keyframe (nothing sent yet, or a switch pending).
    pub fn wants_keyframe(&self) -> bool {
        self.kind == MediaKind::Video && self.current() != Some(self.target)
    }

    /// The viewer's sequence number and timestamp for `packet`, or `None` if this
    /// viewer does not get it (another layer, or waiting for a keyframe).
    pub fn rewrite(&mut self, now: Instant, packet: &InPacket) -> Option<(u16, u32)> {
        let current = self.current();
        if packet.layer == self.target && current != Some(self.target) {
            if self.kind == MediaKind::Video && !packet.keyframe {
                return None;
            }
            self.switch(now, packet);
        } else if Some(packet.layer) != current {
            return None;
        }
        let segment = *self.segments.back()?;
        if seq_diff(packet.seq, segment.first_in_seq) < 0 {
            // Older than the switch point: its number may already be used.
            return None;
        }
        let out_seq = packet.seq.wrapping_add(segment.seq_offset);
        let out_ts = packet.timestamp.wrapping_add(segment.ts_offset);
        if seq_newer(out_seq, self.last_out_seq) || self.last_sent_at.is_none() {
            self.last_out_seq = out_seq;
            self.last_out_ts = out_ts;
        }
        self.last_sent_at = Some(now);
        Some((out_seq, out_ts))
    }

    fn switch(&mut self, now: Instant, packet: &InPacket) {
        let (seq_offset, ts_offset) = match self.last_sent_at {
            // First packet ever: pass numbers through unchanged.
            None => (0, 0),
            Some(last) => {
                let gap = now.saturating_duration_since(last);
                let ticks = gap.as_micros() * u128::from(self.clock_rate) / 1_000_000;
                let ticks = u32::try_from(ticks).unwrap_or(u32::MAX).max(1);
                let out_seq = self.last_out_seq.wrapping_add(1);
                let out_ts = self.last_out_ts.wrapping_add(ticks);
                (out_seq.wrapping_sub(packet.seq), out_ts.wrapping_sub(packet.timestamp))
            }
        };
        if self.segments.len() == SEGMENTS {
            self.segments.pop_front();
        }
        self.segments.push_back(Segment {
            layer: packet.layer,
            first_in_seq: packet.seq,
            first_out_seq: packet.seq.wrapping_add(seq_offset),
            seq_offset,
            ts_offset,
        });
    }

    /// Maps an outgoing sequence number (from a viewer's NACK) back to the packet it
    /// was made from.
    pub fn origin(&self, out_seq: u16) -> Option<Origin> {
        let segment = self.segments.iter().rev().find(|s| !seq_newer(s.first_out_seq, out_seq))?;
        if seq_newer(out_seq, self.last_out_seq) {
            return None; // never sent
        }
        Some(Origin {
            layer: segment.layer,
            seq: out_seq.wrapping_sub(segment.seq_offset),
            ts_offset: segment.ts_offset,
        })
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    fn video(layer: Layer, seq: u16, timestamp: u32, keyframe: bool) -> InPacket {
        InPacket {
            kind: MediaKind::Video,
            layer,
            seq,
            timestamp,
            marker: false,
            payload_type: 96,
            keyframe,
            payload: Bytes::new(),
        }
    }

    #[test]
    fn waits_for_a_keyframe_then_passes_numbers_through() {
        let t0 = Instant::now();
        let mut track = TrackRewriter::new(MediaKind::Video, 90_000, 0);
        assert!(track.wants_keyframe());
        assert_eq!(track.rewrite(t0, &video(0, 10, 1000, false)), None);
        assert_eq!(track.rewrite(t0, &video(0, 11, 4000, true)), Some((11, 4000)));
        assert_eq!(track.rewrite(t0, &video(0, 12, 4000, false)), Some((12, 4000)));
        assert!(!track.wants_keyframe());
        assert_eq!(track.rewrite(t0, &video(1, 500, 9, true)), None, "other layer");
    }

    #[test]
    fn layer_switch_keeps_numbers_continuous_and_waits_for_a_keyframe() {
        let t0 = Instant::now();
        let mut track = TrackRewriter::new(MediaKind::Video, 90_000, 0);
        track.rewrite(t0, &video(0, 100, 10_000, true));
        track.rewrite(t0, &video(0, 101, 13_000, false));
        track.set_target(2);
        // Until layer 2 has a keyframe, layer 0 keeps flowing and layer 2 is dropped.
        assert_eq!(track.rewrite(t0, &video(2, 7_000, 500_000, false)), None);
        assert_eq!(track.rewrite(t0, &video(0, 102, 16_000, false)), Some((102, 16_000)));
        let later = t0 + Duration::from_millis(20);
        let (seq, ts) = track.rewrite(later, &video(2, 7_001, 503_000, true)).unwrap();
        assert_eq!(seq, 103, "continues right after the last packet sent");
        assert_eq!(ts, 16_000 + 1_800, "advanced by the 20 ms gap at 90 kHz");
        assert_eq!(track.rewrite(later, &video(2, 7_002, 506_000, false)), Some((104, 20_800)));
        assert_eq!(track.rewrite(later, &video(0, 103, 19_000, false)), None, "old layer is dropped");
        assert_eq!(track.rewrite(later, &video(2, 7_000, 503_000, false)), None, "older than the switch");
    }

    #[test]
    fn nacked_numbers_map_back_across_switches_and_wrap_around() {
        let t0 = Instant::now();
        let mut track = TrackRewriter::new(MediaKind::Video, 90_000, 0);
        track.rewrite(t0, &video(0, 65_534, 0, true));
        track.rewrite(t0, &video(0, 65_535, 0, false));
        track.rewrite(t0, &video(0, 0, 0, false));
        track.set_target(1);
        track.rewrite(t0, &video(1, 300, 50, true));
        assert_eq!(track.origin(65_535).map(|o| (o.layer, o.seq)), Some((0, 65_535)));
        assert_eq!(track.origin(0).map(|o| (o.layer, o.seq)), Some((0, 0)));
        assert_eq!(track.origin(1).map(|o| (o.layer, o.seq)), Some((1, 300)));
        assert_eq!(track.origin(2), None, "not sent yet");
    }

    #[test]
    fn audio_needs_no_keyframe() {
        let t0 = Instant::now();
        let mut track = TrackRewriter::new(MediaKind::Audio, 48_000, 0);
        let packet = InPacket { kind: MediaKind::Audio, ..video(0, 5, 960, false) };
        assert_eq!(track.rewrite(t0, &packet), Some((5, 960)));
        assert!(!track.wants_keyframe());
    }
}

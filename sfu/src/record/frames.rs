//! [`FrameAssembler`]: in-order RTP packets of one track into whole codec frames.
//!
//! The reorder ring hands over packets in sequence order, with markers where packets were
//! lost. A frame is the depacketized payloads from a partition head up to the packet with
//! the marker bit, all with one RTP timestamp. A loss inside a frame drops that frame; a
//! loss in a video track also drops every frame up to the next keyframe (the decoder
//! would have no reference), and asks for one ([`FrameAssembler::wants_keyframe`]).

use bytes::{Bytes, BytesMut};
use rtc::rtp::packetizer::Depacketizer;

/// One RTP packet as the recorder gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecPacket {
    /// RTP timestamp.
    pub timestamp: u32,
    /// The marker bit: the last packet of a frame (video).
    pub marker: bool,
    /// Whether this packet starts a keyframe (the forwarder already knows).
    pub keyframe: bool,
    /// The RTP payload.
    pub payload: Bytes,
}

/// A whole frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// A keyframe (always true for audio).
    pub keyframe: bool,
    /// The codec's frame.
    pub data: Bytes,
}

/// The frame being put together.
struct Partial {
    timestamp: u32,
    keyframe: bool,
    data: BytesMut,
}

/// Assembles the frames of one track (see the module docs).
pub struct FrameAssembler<D> {
    depacketizer: D,
    /// Video: frames need the marker and depend on earlier ones. Audio: every packet is a frame.
    video: bool,
    partial: Option<Partial>,
    /// After a loss: drop video frames until a keyframe.
    waiting_for_keyframe: bool,
    /// The timestamp of the frame a loss broke (its remaining packets are not counted again).
    broken: Option<u32>,
    dropped_frames: u64,
}

impl<D: Depacketizer> FrameAssembler<D> {
    /// An assembler for a video track (frames end at the marker bit, a loss waits for a
    /// keyframe) or an audio one (one packet, one frame). A video track starts waiting
    /// for a keyframe.
    pub fn new(depacketizer: D, video: bool) -> FrameAssembler<D> {
        FrameAssembler {
            depacketizer,
            video,
            partial: None,
            waiting_for_keyframe: video,
            broken: None,
            dropped_frames: 0,
        }
    }

    /// Whether the track needs a keyframe from the publisher (after a loss, or at start).
    pub fn wants_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Frames given up (broken by a loss, or waiting for a keyframe).
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Packets were lost here: the frame in progress is broken.
    pub fn lost(&mut self) {
        if let Some(partial) = self.partial.take() {
            self.dropped_frames += 1;
            self.broken = Some(partial.timestamp);
        }
        if self.video {
            self.waiting_for_keyframe = true;
        }
    }

    /// Takes the next packet; returns the frame it completed, if any.
    pub fn push(&mut self, packet: &RecPacket) -> Option<AssembledFrame> {
        if !self.video {
            let data = self.depacketizer.depacketize(&packet.payload).ok()?;
            return Some(AssembledFrame { timestamp: packet.timestamp, keyframe: true, data });
        }
        if self.partial.as_ref().is_some_and(|p| p.timestamp != packet.timestamp) {
            // A new timestamp without the last frame's marker: that frame is incomplete.
            self.lost();
        }
        if self.partial.is_none() {
            if !self.depacketizer.is_partition_head(&packet.payload) {
                // The middle of a frame whose start is gone (counted once, at its end).
                let counted = self.broken == Some(packet.timestamp);
                self.dropped_frames += u64::from(packet.marker && !counted);
                return None;
            }
            self.partial =
                Some(Partial { timestamp: packet.timestamp, keyframe: packet.keyframe, data: BytesMut::new() });
        }
        let Ok(piece) = self.depacketizer.depacketize(&packet.payload) else {
            self.lost();
            return None;
        };
        let partial = self.partial.as_mut()?;
        // H.264 may open a keyframe with an SEI or the parameter sets: any packet that
        // starts the IDR picture makes the frame a keyframe.
        partial.keyframe |= packet.keyframe;
        partial.data.extend_from_slice(&piece);
        if !self.depacketizer.is_partition_tail(packet.marker, &packet.payload) {
            return None;
        }
        let frame = self.partial.take()?;
        if self.waiting_for_keyframe && !frame.keyframe {
            self.dropped_frames += 1;
            return None;
        }
        self.waiting_for_keyframe = false;
        Some(AssembledFrame { timestamp: frame.timestamp, keyframe: frame.keyframe, data: frame.data.freeze() })
    }
}

#[cfg(test)]
mod tests {
    use rtc::rtp::codec::vp8::{Vp8Packet, Vp8Payloader};
    use rtc::rtp::packetizer::Payloader;

    use super::*;

    /// Fake VP8 frames (the depacketizer does not look inside): a keyframe every 10th.
    fn frames() -> Vec<(u32, bool, Bytes)> {
        (0..30u32)
            .map(|i| {
                let keyframe = i % 10 == 0;
                // bit 0 of the first byte is 0 on a VP8 keyframe
                let first = if keyframe { 0x10 } else { 0x11 };
                let body: Vec<u8> = std::iter::once(first).chain((0..3000u32).map(|b| (b * 7 + i) as u8)).collect();
                (i * 3000, keyframe, Bytes::from(body))
            })
            .collect()
    }

    fn packets(frames: &[(u32, bool, Bytes)]) -> Vec<RecPacket> {
        let mut payloader = Vp8Payloader::default();
        frames
            .iter()
            .flat_map(|(ts, keyframe, data)| {
                let payloads = payloader.payload(1200, data).unwrap();
                let last = payloads.len() - 1;
                payloads.into_iter().enumerate().map(move |(i, payload)| RecPacket {
                    timestamp: *ts,
                    marker: i == last,
                    keyframe: *keyframe && i == 0,
                    payload,
                })
            })
            .collect()
    }

    #[test]
    fn packets_in_order_give_back_every_frame() {
        let frames = frames();
        let mut assembler = FrameAssembler::new(Vp8Packet::default(), true);
        let out: Vec<_> = packets(&frames).iter().filter_map(|p| assembler.push(p)).collect();
        assert_eq!(out.len(), 30);
        for (got, (ts, keyframe, data)) in out.iter().zip(&frames) {
            assert_eq!((got.timestamp, got.keyframe, &got.data), (*ts, *keyframe, data));
        }
        assert_eq!(assembler.dropped_frames(), 0);
    }

    #[test]
    fn a_loss_drops_frames_until_the_next_keyframe() {
        let frames = frames();
        let packets = packets(&frames);
        let mut assembler = FrameAssembler::new(Vp8Packet::default(), true);
        let mut out = Vec::new();
        // lose the second packet of frame 3
        let lost_at = packets.iter().position(|p| p.timestamp == 3 * 3000).unwrap() + 1;
        for (i, packet) in packets.iter().enumerate() {
            if i == lost_at {
                assembler.lost();
                assert!(assembler.wants_keyframe());
                continue;
            }
            out.extend(assembler.push(packet));
        }
        let got: Vec<u32> = out.iter().map(|f| f.timestamp / 3000).collect();
        let expected: Vec<u32> = (0..3).chain(10..30).collect();
        assert_eq!(got, expected, "frames 3..9 depend on the broken one");
        assert_eq!(assembler.dropped_frames(), 7);
        assert!(!assembler.wants_keyframe());
        for frame in &out {
            assert_eq!(frame.data, frames[(frame.timestamp / 3000) as usize].2);
        }
    }
}

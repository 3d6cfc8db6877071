//! The packets that go in and out of the forwarding core.
//!
//! The core never parses or builds RTP bytes: the WebRTC layer hands it the header
//! fields it needs plus the payload (shared, reference-counted: forwarding to a
//! thousand viewers copies no media), and gets back, per viewer, the rewritten header
//! fields to send with that same payload.

use bytes::Bytes;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio (one layer, no keyframes).
    Audio,
    /// Video (up to three simulcast layers).
    Video,
}

/// A simulcast layer: 0 is the lowest resolution. Streams without simulcast use 0.
pub type Layer = u8;

/// Most simulcast layers a stream may have (client-js publishes up to three).
pub const MAX_LAYERS: usize = 3;

/// One RTP packet from the publisher, as the core needs it.
#[derive(Debug, Clone)]
pub struct InPacket {
    /// Audio or video.
    pub kind: MediaKind,
    /// Which simulcast layer it belongs to (0 without simulcast, and for audio).
    pub layer: Layer,
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit (last packet of a video frame).
    pub marker: bool,
    /// RTP payload type as negotiated with the publisher.
    pub payload_type: u8,
    /// Whether this packet starts a keyframe (see `crate::codec::keyframe`).
    pub keyframe: bool,
    /// The RTP payload, shared by every copy sent.
    pub payload: Bytes,
}

/// What to send to one viewer: the rewritten header fields plus the shared payload.
#[derive(Debug, Clone, Copy)]
pub struct Forward<'a> {
    /// Audio or video.
    pub kind: MediaKind,
    /// The viewer's own sequence number for this packet.
    pub seq: u16,
    /// The viewer's own timestamp for this packet.
    pub timestamp: u32,
    /// Marker bit, unchanged.
    pub marker: bool,
    /// Publisher's payload type (the WebRTC layer maps it to the viewer's).
    pub payload_type: u8,
    /// The payload, unchanged.
    pub payload: &'a Bytes,
    /// True when this answers a NACK (send on the RTX stream where negotiated).
    pub retransmission: bool,
}

impl<'a> Forward<'a> {
    /// `packet` with a viewer's sequence number and timestamp, as a fresh send.
    pub fn of(packet: &'a InPacket, seq: u16, timestamp: u32) -> Self {
        Forward {
            kind: packet.kind,
            seq,
            timestamp,
            marker: packet.marker,
            payload_type: packet.payload_type,
            payload: &packet.payload,
            retransmission: false,
        }
    }
}

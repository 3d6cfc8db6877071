//! Sends a viewer's retransmissions as RTX (RFC 4588) where the viewer negotiated it.
//!
//! Viewers' NACKs are answered by the SFU from the stream's packet cache (one cache per
//! stream, not a send history per viewer), and the answer is written on the viewer's
//! sender like any packet, with the sequence number the viewer asked for. This
//! interceptor, on the viewer leg's write path where rtc's own NACK responder would sit,
//! tells such a packet from a fresh one — the forwarding core's per-viewer sequence
//! numbers only ever grow, so a packet not newer than the last one sent on its SSRC is a
//! retransmission — and, if the viewer's answer accepted RTX for the stream, rewraps it:
//! RTX SSRC and payload type, its own sequence numbers, the original sequence number in
//! front of the payload. Without RTX the packet goes out as it is (RFC 4585 plain
//! retransmission). Either way it is tagged [`Attribute::Retransmission`] for whatever
//! counts bytes below.
//!
//! ```text
//!  SFU ─write_rtp─▶ … ─▶ Retransmit (slot of the NACK responder) ─▶ pacer/TWCC … ─▶ SRTP ─▶ wire
//!                           seq not newer than last sent? ─▶ RTX (or as is), tagged
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtp;
use rtc::sansio::Protocol;

/// One outgoing media stream's state (a viewer leg has two: video and audio).
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    ssrc: u32,
    /// `(ssrc, payload type)` of its RTX stream, if negotiated.
    rtx: Option<(u32, u8)>,
    /// Highest sequence number sent so far.
    highest: Option<u16>,
    /// Next RTX sequence number.
    rtx_seq: u16,
    /// Retransmissions sent (RTX or plain).
    retransmitted: u64,
}

/// The interceptor (one per viewer peer connection).
#[derive(Default)]
pub struct Retransmit {
    streams: Vec<Outgoing>,
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl Retransmit {
    /// Retransmissions sent on the stream whose SSRC is `ssrc`.
    #[cfg(test)]
    fn retransmitted(&self, ssrc: u32) -> u64 {
        self.streams.iter().find(|s| s.ssrc == ssrc).map_or(0, |s| s.retransmitted)
    }

    /// The packet to send for `packet`: itself when fresh, else a retransmission.
    fn process(&mut self, packet: rtp::Packet) -> (rtp::Packet, bool) {
        let Some(stream) = self.streams.iter_mut().find(|s| s.ssrc == packet.header.ssrc) else {
            return (packet, false);
        };
        let seq = packet.header.sequence_number;
        let fresh = stream.highest.is_none_or(|highest| seq != highest && seq.wrapping_sub(highest) < 0x8000);
        if fresh {
            stream.highest = Some(seq);
            return (packet, false);
        }
        stream.retransmitted += 1;
        let Some((rtx_ssrc, rtx_pt)) = stream.rtx else { return (packet, true) };
        let mut payload = BytesMut::with_capacity(2 + packet.payload.len());
        payload.put_u16(seq);
        payload.put_slice(&packet.payload);
        let header = rtp::header::Header {
            version: 2,
            marker: packet.header.marker,
            payload_type: rtx_pt,
            sequence_number: stream.rtx_seq,
            timestamp: packet.header.timestamp,
            ssrc: rtx_ssrc,
            ..Default::default()
        };
        stream.rtx_seq = stream.rtx_seq.wrapping_add(1);
        (rtp::Packet { header, payload: payload.freeze() }, true)
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for Retransmit {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.reads.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }

    fn handle_write(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtp(packet) = &mut msg.message.packet {
            let (out, retransmission) = self.process(std::mem::take(packet));
            *packet = out;
            if retransmission {
                msg.message.add(Attribute::Retransmission);
            }
        }
        self.writes.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
}

impl Interceptor for Retransmit {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        let rtx = info.ssrc_rtx.zip(info.payload_type_rtx);
        self.streams.retain(|s| s.ssrc != info.ssrc);
        self.streams.push(Outgoing { ssrc: info.ssrc, rtx, highest: None, rtx_seq: 0, retransmitted: 0 });
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.streams.retain(|s| s.ssrc != info.ssrc);
    }

    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn packet(ssrc: u32, seq: u16) -> rtp::Packet {
        let header = rtp::header::Header {
            version: 2,
            payload_type: 96,
            sequence_number: seq,
            timestamp: 3000,
            ssrc,
            ..Default::default()
        };
        rtp::Packet { header, payload: Bytes::from_static(&[1, 2, 3]) }
    }

    fn bound(rtx: Option<(u32, u8)>) -> Retransmit {
        let mut interceptor = Retransmit::default();
        interceptor.bind_local_stream(&StreamInfo {
            ssrc: 10,
            ssrc_rtx: rtx.map(|r| r.0),
            payload_type_rtx: rtx.map(|r| r.1),
            ..Default::default()
        });
        interceptor
    }

    #[test]
    fn fresh_packets_pass_and_old_ones_become_rtx() {
        let mut interceptor = bound(Some((20, 97)));
        for seq in [65_534u16, 65_535, 0, 1] {
            let (out, again) = interceptor.process(packet(10, seq));
            assert!(!again, "{seq} is fresh (across the wrap)");
            assert_eq!(out.header.ssrc, 10);
        }
        let (out, again) = interceptor.process(packet(10, 65_535));
        assert!(again);
        assert_eq!((out.header.ssrc, out.header.payload_type, out.header.sequence_number), (20, 97, 0));
        assert_eq!((out.header.version, out.header.timestamp), (2, 3000));
        assert_eq!(&out.payload[..], &[0xFF, 0xFF, 1, 2, 3], "original sequence number first");
        let (out, _) = interceptor.process(packet(10, 1));
        assert_eq!(out.header.sequence_number, 1, "RTX numbers its own packets");
        assert_eq!(interceptor.retransmitted(10), 2);
        let (out, again) = interceptor.process(packet(10, 2));
        assert!(!again && out.header.ssrc == 10, "fresh again");
    }

    #[test]
    fn without_rtx_a_retransmission_goes_out_as_it_is() {
        let mut interceptor = bound(None);
        interceptor.process(packet(10, 5));
        let (out, again) = interceptor.process(packet(10, 4));
        assert!(again);
        assert_eq!((out.header.ssrc, out.header.sequence_number, &out.payload[..]), (10, 4, &[1u8, 2, 3][..]));
    }

    #[test]
    fn unknown_streams_are_untouched() {
        let mut interceptor = bound(Some((20, 97)));
        interceptor.process(packet(11, 5));
        let (out, again) = interceptor.process(packet(11, 4));
        assert!(!again && out.header.ssrc == 11);
    }
}

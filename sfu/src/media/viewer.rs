//! A viewer's leg: its two send-only tracks and how a forwarded packet is written on them.
//!
//! rtc's sender validates a packet but rewrites nothing, so every packet is built here
//! with the viewer's own SSRC, the payload type the viewer negotiated for the publisher's
//! codec, the sequence number and timestamp the forwarding core chose, and no header
//! extensions (the publisher's extension ids mean nothing on this leg; rtc adds the ones
//! this leg negotiated). The payload is shared, not copied.

use bytes::Bytes;
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodecParameters;

use crate::codec::Codec;
use crate::forward::{Forward, MediaKind, ViewerId};

use super::event::SessionId;

/// One outgoing track.
#[derive(Debug, Clone)]
pub struct OutTrack {
    /// Its sender on the viewer's peer connection.
    pub sender: RTCRtpSenderId,
    /// The SSRC the viewer knows it by.
    pub ssrc: u32,
    /// Publisher payload type → this viewer's payload type for the same codec (filled in
    /// from the viewer's answer; a handful of entries).
    pub payload_types: Vec<(u8, u8)>,
}

impl OutTrack {
    /// A track whose payload types are not negotiated yet.
    pub fn new(sender: RTCRtpSenderId, ssrc: u32) -> Self {
        OutTrack { sender, ssrc, payload_types: Vec::new() }
    }

    /// Maps every publisher codec to the viewer's payload type for the same codec.
    /// `publisher` lists the publisher's (payload type, codec); `negotiated` is what the
    /// viewer's answer accepted on this track. Codecs the viewer lacks stay unmapped:
    /// their packets are not sent.
    pub fn map_payload_types(&mut self, publisher: &[(u8, Codec)], negotiated: &[RTCRtpCodecParameters]) {
        self.payload_types = publisher
            .iter()
            .filter_map(|&(pt, codec)| {
                negotiated
                    .iter()
                    .find(|c| Codec::from_mime_name(&c.rtp_codec.mime_type) == Some(codec))
                    .map(|c| (pt, c.payload_type))
            })
            .collect();
    }

    fn payload_type(&self, publisher_pt: u8) -> Option<u8> {
        self.payload_types.iter().find(|(from, _)| *from == publisher_pt).map(|(_, to)| *to)
    }
}

/// A viewer's state.
#[derive(Debug)]
pub struct ViewerLeg {
    /// The publisher session whose stream it watches.
    pub publisher: SessionId,
    /// Video track.
    pub video: OutTrack,
    /// Audio track.
    pub audio: OutTrack,
    /// Its handle in the stream's forwarding core, once connected.
    pub forwarding: Option<ViewerId>,
    /// Whether its answer has been applied.
    pub answered: bool,
    /// The viewer's own cap on what it receives (bit/s), applied once it connects.
    pub max_bitrate: Option<u64>,
}

impl ViewerLeg {
    /// The sender and packet for one forwarded packet, or `None` if the viewer has no
    /// payload type for the publisher's codec.
    pub fn packet(&self, forward: &Forward<'_>) -> Option<(RTCRtpSenderId, rtp::Packet)> {
        let track = match forward.kind {
            MediaKind::Video => &self.video,
            MediaKind::Audio => &self.audio,
        };
        let payload_type = track.payload_type(forward.payload_type)?;
        let header = rtp::header::Header {
            version: 2,
            marker: forward.marker,
            payload_type,
            sequence_number: forward.seq,
            timestamp: forward.timestamp,
            ssrc: track.ssrc,
            ..Default::default()
        };
        let payload: Bytes = forward.payload.clone();
        Some((track.sender, rtp::Packet { header, payload }))
    }
}

#[cfg(test)]
mod tests {
    use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;

    use super::*;

    fn negotiated(mime: &str, pt: u8) -> RTCRtpCodecParameters {
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec { mime_type: mime.to_owned(), ..Default::default() },
            payload_type: pt,
        }
    }

    #[test]
    fn builds_packets_with_the_viewers_ssrc_and_payload_type() {
        let mut video = OutTrack::new(RTCRtpSenderId::default(), 0xAAAA);
        video.map_payload_types(
            &[(96, Codec::Vp8), (102, Codec::H264), (111, Codec::Opus)],
            &[negotiated("video/H264", 125), negotiated("video/VP8", 120)],
        );
        assert_eq!(video.payload_types, vec![(96, 120), (102, 125)]);
        let mut audio = OutTrack::new(RTCRtpSenderId::default(), 0xBBBB);
        audio.map_payload_types(&[(111, Codec::Opus)], &[negotiated("audio/opus", 109)]);
        let leg =
            ViewerLeg { publisher: SessionId(1), video, audio, forwarding: None, answered: true, max_bitrate: None };
        let payload = Bytes::from_static(&[0x10, 0, 0]);
        let forward = Forward {
            kind: MediaKind::Video,
            seq: 7,
            timestamp: 9,
            marker: true,
            payload_type: 96,
            payload: &payload,
            retransmission: false,
        };
        let (_, packet) = leg.packet(&forward).unwrap();
        assert_eq!((packet.header.ssrc, packet.header.payload_type), (0xAAAA, 120));
        assert_eq!((packet.header.sequence_number, packet.header.timestamp, packet.header.marker), (7, 9, true));
        assert!(!packet.header.extension && packet.header.extensions.is_empty());
        let audio = Forward { kind: MediaKind::Audio, payload_type: 111, ..forward };
        assert_eq!(leg.packet(&audio).unwrap().1.header.payload_type, 109);
        let unknown = Forward { payload_type: 45, ..forward };
        assert!(leg.packet(&unknown).is_none(), "a codec the viewer lacks is not sent");
    }
}

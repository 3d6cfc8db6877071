//! Packets through the plane: a publisher's RTP through its stream's forwarding core to
//! every viewer that gets it, viewers' RTCP (keyframe requests, estimates, NACKs) back
//! into the stream, and the stream's keyframe requests out to the publisher. Also where a
//! connected viewer joins its stream's forwarding, and a publisher's sources open.

use std::time::Instant;

use rtc::peer_connection::event::RTCTrackEventInit;
use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tracing::{debug, info};

use super::{MediaPlane, Role, Session, SessionEvent, SessionId, StreamState, mark};
use crate::codec::keyframe::starts_keyframe;
use crate::forward::{InPacket, Layer, MediaKind, Output};
use crate::media::error::MediaError;
use crate::media::publisher::KeyframeRequest;
use crate::record::{TapItem, TapPacket};

/// How long after a viewer's connection is up it is added to its stream (when instant
/// start is on). The cached keyframe then goes out at once, and a client whose SRTP is
/// not yet set up the instant its DTLS handshake ends would drop it: `rtc`, and the
/// `webrtc` crate on it, take the handshake's end when they next poll, after the
/// datagrams of the same read. A browser needs no wait; 20 ms is far below a frame's
/// interval and well above a client's poll.
pub const JOIN_DELAY: std::time::Duration = std::time::Duration::from_millis(20);

/// Sequence numbers answered per RTCP compound packet from a viewer: a viewer cannot
/// make one datagram of NACKs cost more than this many retransmissions (a real
/// viewer's NACKs name a few packets; 17 per NACK pair is the format's limit).
const MAX_NACKED_PER_FEEDBACK: usize = 64;

impl MediaPlane {
    pub(super) fn on_connected(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        if session.connected {
            return;
        }
        session.connected = true;
        Self::notify(&mut self.events, id, SessionEvent::Connected);
        if !matches!(session.role, Role::Viewer(_)) {
            info!(session = %id, stream = %session.stream_id, "publisher connected");
            return;
        }
        if self.config.instant_start {
            session.join_at = Some(self.now + JOIN_DELAY);
        } else {
            self.join_stream(id);
        }
    }

    /// A connected viewer's [`JOIN_DELAY`] is up (or it has none): it is added to its
    /// stream's forwarding, started at once on a fresh cached keyframe where there is
    /// one (instant start).
    pub(super) fn join_stream(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        session.join_at = None;
        let Session { pc, role, stream_id, .. } = session;
        let Role::Viewer(leg) = role else { return };
        if leg.forwarding.is_some() {
            return;
        }
        let publisher = leg.publisher;
        let Some(stream) = self.streams.get_mut(&publisher) else { return };
        let (now, stats) = (self.now, &mut self.stats);
        let mut replayed = 0u64;
        let viewer = if self.config.instant_start {
            stream.forward.join(now, |_, out| {
                let written =
                    leg.packet(&out).and_then(|(sender, packet)| pc.rtp_sender(sender)?.write_rtp(now, packet).ok());
                if written.is_some() {
                    stats.rtp_forwarded += 1;
                    replayed += 1;
                }
            })
        } else {
            stream.forward.add_viewer(now)
        };
        self.stats.instant_starts += u64::from(replayed > 0);
        let index = viewer.index() as usize;
        if stream.forwarding.len() <= index {
            stream.forwarding.resize(index + 1, None);
        }
        stream.forwarding[index] = Some(id);
        leg.forwarding = Some(viewer);
        if leg.max_bitrate.is_some() {
            stream.forward.handle_viewer_cap(self.now, viewer, leg.max_bitrate);
        }
        info!(session = %id, stream = %stream_id, replayed, "viewer connected");
        if replayed > 0 {
            mark(&mut self.dirty, id, session);
        }
        self.drain_stream_outputs(publisher);
        self.notify_viewer_count(publisher);
    }

    pub(super) fn on_track_open(&mut self, id: SessionId, init: &RTCTrackEventInit) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        let Some(receiver) = session.pc.rtp_receiver(init.receiver_id) else { return };
        let kind = match receiver.track().kind() {
            RtpCodecKind::Audio => MediaKind::Audio,
            RtpCodecKind::Video => MediaKind::Video,
            _ => return,
        };
        let Role::Publisher(leg) = &mut session.role else { return };
        let layer = leg.open(init.ssrc, init.receiver_id, kind, init.rid.as_deref());
        info!(session = %id, ssrc = init.ssrc, rid = ?init.rid, ?kind, ?layer, "publisher source");
    }

    /// A viewer's own cap on what it receives (see [`crate::media::Command::SetMaxBitrate`]).
    pub fn set_max_bitrate(&mut self, now: Instant, id: SessionId, bps: Option<u64>) -> Result<(), MediaError> {
        self.now = now;
        let session = self.sessions.get_mut(&id).ok_or(MediaError::UnknownSession)?;
        let Role::Viewer(leg) = &mut session.role else {
            return Err(MediaError::WrongState("only a viewer has a bit rate cap"));
        };
        leg.max_bitrate = bps;
        let (publisher, forwarding) = (leg.publisher, leg.forwarding);
        if let (Some(viewer), Some(stream)) = (forwarding, self.streams.get_mut(&publisher)) {
            stream.forward.handle_viewer_cap(now, viewer, bps);
            self.drain_stream_outputs(publisher);
        }
        Ok(())
    }

    /// A publisher's RTP packet: through the stream's forwarding core to every viewer
    /// that gets it.
    pub(super) fn on_publisher_rtp(&mut self, id: SessionId, packet: rtp::Packet) {
        let Some(session) = self.sessions.get(&id) else { return };
        let Role::Publisher(leg) = &session.role else { return };
        let Some(source) = leg.source(packet.header.ssrc).copied() else { return };
        let Some(stream) = self.streams.get_mut(&id) else { return };
        self.stats.rtp_in += 1;
        let codec = stream.codecs.codecs.iter().find(|(pt, _)| *pt == packet.header.payload_type).map(|(_, c)| *c);
        let keyframe = source.kind == MediaKind::Video && codec.is_some_and(|c| starts_keyframe(c, &packet.payload));
        let input = InPacket {
            kind: source.kind,
            layer: source.layer,
            seq: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            marker: packet.header.marker,
            payload_type: packet.header.payload_type,
            keyframe,
            payload: packet.payload,
        };
        let StreamState { forward, forwarding, recording, .. } = stream;
        let (sessions, dirty, stats, now) = (&mut self.sessions, &mut self.dirty, &mut self.stats, self.now);
        forward.handle_publisher_rtp(now, &input, |viewer, out| {
            let Some(Some(viewer_id)) = forwarding.get(viewer.index() as usize).copied() else { return };
            let Some(session) = sessions.get_mut(&viewer_id) else { return };
            let Role::Viewer(leg) = &session.role else { return };
            let written = leg.packet(&out).and_then(|(sender, packet)| {
                let mut sender = session.pc.rtp_sender(sender)?;
                sender.write_rtp(now, packet).map_err(|err| debug!(session = %viewer_id, %err, "write_rtp")).ok()
            });
            if written.is_some() {
                stats.rtp_forwarded += 1;
            } else {
                stats.forward_errors += 1;
            }
            mark(dirty, viewer_id, session);
        });
        if let Some(recording) = recording
            && (source.kind == MediaKind::Audio || codec == recording.video)
            && let Some((seq, timestamp)) = forward.record(now, &input)
        {
            if recording.tap.offer(TapItem::Packet(TapPacket::forwarded(&input, seq, timestamp, now))) {
                stats.recorded += 1;
            } else {
                stats.recording_dropped += 1;
            }
        }
        self.drain_stream_outputs(id);
    }

    /// A viewer's keyframe requests, bandwidth estimates and NACKs, into its stream.
    pub(super) fn on_viewer_rtcp(&mut self, id: SessionId, packets: &[Box<dyn rtc::rtcp::Packet>]) {
        let Some(Session { role: Role::Viewer(leg), .. }) = self.sessions.get(&id) else { return };
        let (Some(viewer), publisher, video_ssrc) = (leg.forwarding, leg.publisher, leg.video.ssrc) else { return };
        let Some(stream) = self.streams.get_mut(&publisher) else { return };
        let mut lost = std::mem::take(&mut self.scratch_seqs);
        for packet in packets {
            let any = packet.as_any();
            if any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>() {
                self.stats.viewer_keyframe_requests += 1;
                stream.forward.handle_viewer_pli(self.now, viewer);
            } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                self.stats.viewer_estimates += 1;
                // REMB carries a float of bits per second; anything odd counts as nothing.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let bps = if remb.bitrate.is_finite() && remb.bitrate > 0.0 { remb.bitrate as u64 } else { 0 };
                stream.forward.handle_viewer_estimate(self.now, viewer, bps);
            } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>()
                && nack.media_ssrc == video_ssrc
            {
                self.stats.viewer_nacks += 1;
                let room = MAX_NACKED_PER_FEEDBACK.saturating_sub(lost.len());
                lost.extend(nack.nacks.iter().flat_map(|pair| pair.into_iter()).take(room));
            }
        }
        if !lost.is_empty() {
            let Some(session) = self.sessions.get_mut(&id) else { return };
            let Role::Viewer(leg) = &session.role else { return };
            let (stats, now) = (&mut self.stats, self.now);
            stream.forward.handle_viewer_nack(viewer, &lost, |_, out| {
                let written = leg
                    .packet(&out)
                    .and_then(|(sender, packet)| session.pc.rtp_sender(sender)?.write_rtp(now, packet).ok());
                if written.is_some() {
                    stats.retransmissions += 1;
                }
            });
            mark(&mut self.dirty, id, session);
            lost.clear();
        }
        self.scratch_seqs = lost;
        self.drain_stream_outputs(publisher);
    }

    /// Carries out what a stream asked for: keyframe requests to its publisher.
    pub(super) fn drain_stream_outputs(&mut self, publisher: SessionId) {
        let Some(stream) = self.streams.get_mut(&publisher) else { return };
        while let Some(output) = stream.forward.poll_output() {
            let Output::RequestKeyframe { layer } = output;
            let Some(session) = self.sessions.get_mut(&publisher) else { return };
            if request_keyframe(session, layer, self.now) {
                self.stats.keyframe_requests += 1;
                mark(&mut self.dirty, publisher, session);
            }
        }
    }

    pub(super) fn notify_viewer_count(&mut self, publisher: SessionId) {
        let Some(stream) = self.streams.get(&publisher) else { return };
        let count = u32::try_from(stream.forward.viewer_count()).unwrap_or(u32::MAX);
        if self.sessions.contains_key(&publisher) {
            Self::notify(&mut self.events, publisher, SessionEvent::ViewerCount(count));
        }
    }
}

/// Sends a PLI (or a FIR, if that is what the publisher negotiated) for `layer` to the
/// publisher. Returns whether one was written.
fn request_keyframe(session: &mut Session, layer: Layer, now: Instant) -> bool {
    let Role::Publisher(leg) = &mut session.role else { return false };
    let Some(target) = leg.keyframe_target(layer) else { return false };
    let request: Box<dyn rtc::rtcp::Packet> = match leg.keyframe_request {
        KeyframeRequest::Pli => Box::new(PictureLossIndication { sender_ssrc: 0, media_ssrc: target.ssrc }),
        KeyframeRequest::Fir => Box::new(FullIntraRequest {
            sender_ssrc: 0,
            // RFC 5104 §4.3.1.2: the media source field is unused (0); the entry names it.
            media_ssrc: 0,
            fir: vec![FirEntry { ssrc: target.ssrc, sequence_number: leg.next_fir_seq() }],
        }),
    };
    let Some(mut receiver) = session.pc.rtp_receiver(target.receiver) else { return false };
    match receiver.write_rtcp(now, vec![request]) {
        Ok(()) => true,
        Err(err) => {
            debug!(%err, "keyframe request not sent");
            false
        }
    }
}

/// Whether a datagram is RTP (RFC 7983 §7: first byte 128 ..= 191 is RTP or RTCP; RFC
/// 5761 §4: RTCP's packet types 192 ..= 223 sit where RTP has its marker and payload type).
pub(super) fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [128..=191, second, ..] if !(192..=223).contains(second))
}

#[cfg(test)]
mod tests {
    use super::is_rtp;

    #[test]
    pub(super) fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 96, 0, 1]), "VP8 RTP");
        assert!(is_rtp(&[0x80, 0x80 | 96, 0, 1]), "with the marker bit");
        assert!(!is_rtp(&[0x80, 200, 0, 6]), "RTCP sender report");
        assert!(!is_rtp(&[0x81, 205, 0, 3]), "RTCP NACK");
        assert!(!is_rtp(&[0x00, 0x01, 0, 0]), "STUN binding request");
        assert!(!is_rtp(&[22, 0xfe, 0xfd]), "DTLS handshake");
        assert!(!is_rtp(&[0x80]), "too short");
    }
}

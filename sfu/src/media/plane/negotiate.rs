//! SDP and ICE for the plane's sessions: a publisher's offer answered, a viewer offered
//! to (then its answer taken) or answered (WHEP), trickled candidates, and the new
//! session registered with its stream and the demux.

use std::time::Instant;

use myvid_proto::MAX_SDP_BYTES;
use myvid_proto::signal::Candidate;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tracing::{debug, info, warn};

use super::{MediaPlane, Recording, Role, Session, SessionId, StreamState, mark};
use crate::codec::Codec;
use crate::forward::{Stream, StreamConfig};
use crate::media::codecs::{PublisherCodecs, add_send_track};
use crate::media::error::{MediaError, bad_sdp};
use crate::media::peer::{self, Leg};
use crate::media::publisher::PublisherLeg;
use crate::media::viewer::{OutTrack, ViewerLeg};
use crate::record::{RecordTap, TapItem, TapTracks};

/// A new session and the SDP for its client: an answer to the client's offer
/// ([`MediaPlane::publish`], [`MediaPlane::view_with_offer`]) or our offer
/// ([`MediaPlane::view`]), with the server's ICE candidate in it (no server-side trickle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The new media session.
    pub session: SessionId,
    /// The SDP to send to the client.
    pub sdp: String,
}

impl MediaPlane {
    pub(super) fn new_id(&mut self) -> SessionId {
        let id = SessionId(self.next_id);
        self.next_id += 1;
        id
    }

    pub(super) fn check_capacity(&self) -> Result<(), MediaError> {
        if self.sessions.len() >= self.config.max_sessions { Err(MediaError::Full) } else { Ok(()) }
    }

    /// A publisher's offer for `stream_id`: its session and our answer. Refused with
    /// [`MediaError::AlreadyPublishing`] while the stream has a publisher.
    pub fn publish(
        &mut self,
        now: Instant,
        stream_id: String,
        offer_sdp: String,
        record: Option<RecordTap>,
    ) -> Result<Negotiated, MediaError> {
        if offer_sdp.len() > MAX_SDP_BYTES {
            return Err(MediaError::SdpTooLarge(offer_sdp.len()));
        }
        if self.live.contains_key(&stream_id) {
            return Err(MediaError::AlreadyPublishing(stream_id));
        }
        self.check_capacity()?;
        self.now = now;
        let (ufrag, mut pc) = peer::build(Leg::Publisher, now).map_err(internal)?;
        let answer_sdp = answer_offer(&mut pc, offer_sdp, self.announce, now)?;
        let codecs = PublisherCodecs::negotiated(&mut pc);
        let keyframe_request = codecs.keyframe_request;
        if codecs.codecs.is_empty() {
            return Err(MediaError::BadSdp("the offer has no VP8, H.264 or Opus media to receive".into()));
        }
        let id = self.new_id();
        self.demux.add_session(id, ufrag.clone());
        self.live.insert(stream_id.clone(), id);
        let mut forward = Stream::new(StreamConfig::default());
        let recording = record.map(|tap| {
            let video = codecs.video.as_ref().and_then(|c| Codec::from_mime_name(&c.mime_type));
            let audio = codecs.audio.is_some();
            tap.offer(TapItem::Tracks(TapTracks { video, audio }));
            forward.add_recorder(now);
            Recording { tap, video }
        });
        self.streams
            .insert(id, StreamState { forward, codecs, forwarding: Vec::new(), members: Vec::new(), recording });
        info!(session = %id, stream = %stream_id, ?keyframe_request, "publisher session created");
        self.insert(id, pc, ufrag, stream_id, Role::Publisher(PublisherLeg::new(keyframe_request)));
        Ok(Negotiated { session: id, sdp: answer_sdp })
    }

    /// A viewer of `stream_id`, the server offering send-only video and audio: its session
    /// and our offer (answered through [`MediaPlane::viewer_answer`]). Refused with
    /// [`MediaError::NotLive`] when the stream has no publisher here.
    pub fn view(&mut self, now: Instant, stream_id: String) -> Result<Negotiated, MediaError> {
        let Some(&publisher) = self.live.get(&stream_id) else {
            return Err(MediaError::NotLive(stream_id));
        };
        self.check_capacity()?;
        self.now = now;
        let (ufrag, mut pc) = peer::build(Leg::Viewer, now).map_err(internal)?;
        let (video, audio) = self.add_send_tracks(&mut pc, publisher)?;
        let offer = pc.create_offer(None).map_err(internal)?;
        pc.set_local_description(now, offer).map_err(internal)?;
        peer::add_host_candidate(&mut pc, self.announce).map_err(internal)?;
        let offer_sdp = pc.local_description().ok_or(MediaError::Internal)?.sdp;
        let leg = ViewerLeg { publisher, video, audio, forwarding: None, answered: false, max_bitrate: None };
        let session = self.add_viewer(pc, ufrag, stream_id, leg);
        Ok(Negotiated { session, sdp: offer_sdp })
    }

    /// A viewer that brings its own offer (WHEP): our two send-only tracks are added
    /// first, so that the offer's receive-only video and audio m-lines take them, and the
    /// answer is send-only. Its payload types are mapped at once, as `viewer_answer` does
    /// for the server-offer path; from here on the two kinds of viewer are the same.
    pub fn view_with_offer(
        &mut self,
        now: Instant,
        stream_id: String,
        offer_sdp: String,
    ) -> Result<Negotiated, MediaError> {
        if offer_sdp.len() > MAX_SDP_BYTES {
            return Err(MediaError::SdpTooLarge(offer_sdp.len()));
        }
        let Some(&publisher) = self.live.get(&stream_id) else {
            return Err(MediaError::NotLive(stream_id));
        };
        self.check_capacity()?;
        self.now = now;
        let (ufrag, mut pc) = peer::build(Leg::Viewer, now).map_err(internal)?;
        let (mut video, mut audio) = self.add_send_tracks(&mut pc, publisher)?;
        let answer_sdp = answer_offer(&mut pc, offer_sdp, self.announce, now)?;
        let publisher_codecs = self.streams.get(&publisher).map(|s| s.codecs.codecs.as_slice()).unwrap_or_default();
        for track in [&mut video, &mut audio] {
            if let Some(mut sender) = pc.rtp_sender(track.sender) {
                track.map_payload_types(publisher_codecs, &sender.get_parameters().rtp_parameters.codecs);
            }
        }
        if video.payload_types.is_empty() && audio.payload_types.is_empty() {
            return Err(MediaError::BadSdp(
                "the offer receives none of the stream's codecs (send a recvonly offer with VP8, H.264 or Opus)".into(),
            ));
        }
        if video.payload_types.is_empty() {
            warn!(stream = %stream_id, "the viewer's offer accepts none of the publisher's video codecs");
        }
        let leg = ViewerLeg { publisher, video, audio, forwarding: None, answered: true, max_bitrate: None };
        let session = self.add_viewer(pc, ufrag, stream_id, leg);
        Ok(Negotiated { session, sdp: answer_sdp })
    }

    /// A viewer's video and audio send tracks, naming the publisher's codecs.
    pub(super) fn add_send_tracks(
        &self,
        pc: &mut RTCPeerConnection,
        publisher: SessionId,
    ) -> Result<(OutTrack, OutTrack), MediaError> {
        let codecs = self.streams.get(&publisher).map(|s| &s.codecs);
        let codec = |kind| codecs.and_then(|c| c.for_kind(kind));
        let video = add_send_track(pc, RtpCodecKind::Video, codec(RtpCodecKind::Video))?;
        let audio = add_send_track(pc, RtpCodecKind::Audio, codec(RtpCodecKind::Audio))?;
        Ok((video, audio))
    }

    /// Registers a new viewer session with its stream and the demux.
    pub(super) fn add_viewer(
        &mut self,
        pc: RTCPeerConnection,
        ufrag: String,
        stream_id: String,
        leg: ViewerLeg,
    ) -> SessionId {
        let id = self.new_id();
        self.demux.add_session(id, ufrag.clone());
        let publisher = leg.publisher;
        if let Some(stream) = self.streams.get_mut(&publisher) {
            stream.members.push(id);
            if self.config.instant_start {
                // Ask for a keyframe now, so a fresh one is cached when the viewer connects.
                stream.forward.expect_viewer(self.now);
            }
        }
        debug!(session = %id, stream = %stream_id, answered = leg.answered, "viewer session created");
        self.insert(id, pc, ufrag, stream_id, Role::Viewer(leg));
        self.drain_stream_outputs(publisher);
        id
    }

    pub(super) fn insert(
        &mut self,
        id: SessionId,
        pc: RTCPeerConnection,
        ufrag: String,
        stream_id: String,
        role: Role,
    ) {
        let mut session = Session {
            pc,
            ufrag,
            stream_id,
            role,
            connected: false,
            connect_by: self.now + self.config.connect_timeout,
            join_at: None,
            timeout: None,
            dirty: false,
            candidates: 0,
        };
        mark(&mut self.dirty, id, &mut session);
        self.sessions.insert(id, session);
    }

    /// A viewer's answer to the offer [`MediaPlane::view`] made.
    pub fn viewer_answer(&mut self, now: Instant, id: SessionId, answer_sdp: String) -> Result<(), MediaError> {
        self.now = now;
        if answer_sdp.len() > MAX_SDP_BYTES {
            return Err(MediaError::SdpTooLarge(answer_sdp.len()));
        }
        let session = self.sessions.get_mut(&id).ok_or(MediaError::UnknownSession)?;
        let Role::Viewer(leg) = &mut session.role else {
            return Err(MediaError::WrongState("an answer is only expected from a viewer"));
        };
        if leg.answered {
            return Err(MediaError::WrongState("this viewer has answered already"));
        }
        let answer = RTCSessionDescription::answer(answer_sdp).map_err(bad_sdp)?;
        session.pc.set_remote_description(self.now, answer).map_err(bad_sdp)?;
        leg.answered = true;
        let publisher_codecs = self.streams.get(&leg.publisher).map(|s| s.codecs.codecs.as_slice()).unwrap_or_default();
        for track in [&mut leg.video, &mut leg.audio] {
            if let Some(mut sender) = session.pc.rtp_sender(track.sender) {
                track.map_payload_types(publisher_codecs, &sender.get_parameters().rtp_parameters.codecs);
            }
        }
        if leg.video.payload_types.is_empty() {
            warn!(session = %id, "the viewer accepted none of the publisher's video codecs");
        }
        mark(&mut self.dirty, id, session);
        Ok(())
    }

    /// A client's trickled ICE candidate (an empty one ends its candidates).
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        id: SessionId,
        candidate: Candidate,
    ) -> Result<(), MediaError> {
        self.now = now;
        let session = self.sessions.get_mut(&id).ok_or(MediaError::UnknownSession)?;
        if candidate.candidate.is_empty() {
            return Ok(()); // end of candidates: nothing to do for an ICE-lite server
        }
        if session.candidates >= self.config.max_candidates {
            return Err(MediaError::TooManyCandidates(self.config.max_candidates));
        }
        if !candidate.candidate.starts_with("candidate:") {
            return Err(MediaError::BadCandidate("expected a `candidate:` line".into()));
        }
        session.candidates += 1;
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            ..Default::default()
        };
        // As an ICE-lite server we answer the client's checks and never send our own, so a
        // candidate rtc cannot use (an mDNS `.local` name, TCP) changes nothing: log it
        // rather than fail the client.
        if let Err(err) = session.pc.add_remote_candidate(init) {
            debug!(session = %id, %err, "remote candidate ignored");
        }
        mark(&mut self.dirty, id, session);
        Ok(())
    }
}

/// Applies a client's offer to `pc` and returns our answer, with our host candidate
/// (`announce`) in it.
fn answer_offer(
    pc: &mut RTCPeerConnection,
    offer_sdp: String,
    announce: std::net::SocketAddr,
    now: Instant,
) -> Result<String, MediaError> {
    let offer = RTCSessionDescription::offer(offer_sdp).map_err(bad_sdp)?;
    pc.set_remote_description(now, offer).map_err(bad_sdp)?;
    peer::add_host_candidate(pc, announce).map_err(internal)?;
    let answer = pc.create_answer(None).map_err(bad_sdp)?;
    pc.set_local_description(now, answer).map_err(bad_sdp)?;
    Ok(pc.local_description().ok_or(MediaError::Internal)?.sdp)
}

/// Logs a stack failure that is not the client's fault and hides it from the client.
fn internal(err: impl std::fmt::Display) -> MediaError {
    warn!(%err, "WebRTC stack error");
    MediaError::Internal
}

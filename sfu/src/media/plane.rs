//! [`MediaPlane`]: every peer connection and every forwarding [`Stream`] of one media
//! task, as a state machine without I/O. It takes datagrams, commands and timeouts with
//! the current time, and hands back datagrams to send and when to wake up — the shape of
//! rtc's own peer connection, one level up. [`super::run`] drives it from a socket.
//!
//! ```text
//!  handle_datagram(now, from, bytes) ─▶ demux ─▶ pc.handle_read ─▶ mark session dirty
//!  handle_command(now, cmd)          ─▶ publish / view / view with offer / answer / candidate / close
//!  handle_timeout(now)               ─▶ due pcs, streams, connect deadlines
//!                                         │
//!  poll_transmit() ─▶ flush: for each dirty session (FIFO, each once per pass):
//!      events  ─▶ connected / failed / closed / new SSRC (simulcast layer)
//!      reads   ─▶ publisher RTP ─▶ Stream::handle_publisher_rtp ─▶ viewers' write_rtp
//!                  (each viewer written to becomes dirty: its pc encrypts on its turn)
//!              ─▶ viewer PLI/FIR/REMB ─▶ Stream ─▶ Output::RequestKeyframe ─▶ PLI to publisher
//!      writes  ─▶ outgoing datagrams (and the peer address is remembered for demux)
//!  poll_timeout() ─▶ earliest of every pc's timer, every stream's, connect deadlines
//! ```
//!
//! Ownership: sessions live in one map keyed by [`SessionId`]; a stream is keyed by its
//! publisher's session id (so a publisher's packets find their stream without a string
//! lookup) and names its viewers. A session's lifecycle:
//!
//! ```text
//!  publisher: publish ─▶ connecting ─▶ connected ─▶ closed | failed ─▶ its viewers: StreamEnded
//!  viewer:    view ─▶ (answer) | view with offer ─▶ connecting ─▶ connected: added to the Stream ─▶ closed | failed
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use myvid_proto::MAX_SDP_BYTES;
use myvid_proto::signal::Candidate;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent, RTCTrackEventInit};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtcp::payload_feedbacks::full_intra_request::{FirEntry, FullIntraRequest};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::codecs::{PublisherCodecs, add_send_track};
use super::command::{Command, MediaStats, Publication, ViewAnswer, ViewOffer};
use super::config::MediaConfig;
use super::demux::Demux;
use super::error::{MediaError, bad_sdp};
use super::event::{EventReceiver, SessionEvent, SessionId};
use super::peer::{self, Leg};
use super::publisher::{KeyframeRequest, PublisherLeg};
use super::viewer::{OutTrack, ViewerLeg};
use crate::codec::Codec;
use crate::codec::keyframe::starts_keyframe;
use crate::forward::{InPacket, Layer, MediaKind, Output, Stream, StreamConfig};
use crate::record::{RecordTap, TapItem, TapPacket, TapTracks};

/// Sequence numbers answered per RTCP compound packet from a viewer: a viewer cannot
/// make one datagram of NACKs cost more than this many retransmissions (a real
/// viewer's NACKs name a few packets; 17 per NACK pair is the format's limit).
const MAX_NACKED_PER_FEEDBACK: usize = 64;

/// One datagram to send.
#[derive(Debug)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// The bytes.
    pub payload: BytesMut,
}

/// What a session is.
enum Role {
    Publisher(PublisherLeg),
    Viewer(ViewerLeg),
}

/// One peer connection and its bookkeeping.
struct Session {
    pc: RTCPeerConnection,
    ufrag: String,
    stream_id: String,
    role: Role,
    events: mpsc::UnboundedSender<SessionEvent>,
    connected: bool,
    /// Dropped as failed if not connected by then.
    connect_by: Instant,
    /// The pc's own next timeout, as of its last flush.
    timeout: Option<Instant>,
    /// Queued in `MediaPlane::dirty`.
    dirty: bool,
    candidates: usize,
}

impl Session {
    fn notify(&self, event: SessionEvent) {
        // The owner may be gone already; nothing to do then.
        let _ = self.events.send(event);
    }
}

/// One publisher's stream.
struct StreamState {
    forward: Stream,
    /// The publisher's negotiated codecs.
    codecs: PublisherCodecs,
    /// Connected viewers' sessions, indexed by `ViewerId::index`.
    forwarding: Vec<Option<SessionId>>,
    /// Every viewer session of the stream, connected or not (to end them with it).
    members: Vec<SessionId>,
    /// The stream's recorder, if it is recorded.
    recording: Option<Recording>,
}

/// A recorded stream's tap, and the one video codec the recording takes.
struct Recording {
    tap: RecordTap,
    video: Option<Codec>,
}

/// Why a session is removed: decides the event its owner gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// The owner asked (no event).
    Closed,
    /// Its connection failed, was closed by the peer, or never came up.
    Failed,
    /// Its stream ended (viewers).
    StreamEnded,
}

/// The media plane of one task. See the module docs.
pub struct MediaPlane {
    config: MediaConfig,
    /// The announced address: our host candidate, and the local address rtc's ICE agent
    /// matches incoming datagrams against.
    announce: SocketAddr,
    now: Instant,
    sessions: HashMap<SessionId, Session>,
    streams: HashMap<SessionId, StreamState>,
    live: HashMap<String, SessionId>,
    demux: Demux,
    next_id: u64,
    dirty: VecDeque<SessionId>,
    transmits: VecDeque<Transmit>,
    stats: MediaStats,
    scratch_events: Vec<RTCPeerConnectionEvent>,
    scratch_reads: Vec<RTCMessage>,
    scratch_ids: Vec<SessionId>,
    scratch_seqs: Vec<u16>,
}

/// Marks a session to be flushed (once, however often it is marked before its turn).
fn mark(dirty: &mut VecDeque<SessionId>, id: SessionId, session: &mut Session) {
    if !session.dirty {
        session.dirty = true;
        dirty.push_back(id);
    }
}

impl MediaPlane {
    /// An empty plane announcing `announce` (see [`MediaConfig::announce_addr`]).
    pub fn new(config: MediaConfig, announce: SocketAddr, now: Instant) -> Self {
        MediaPlane {
            config,
            announce,
            now,
            sessions: HashMap::new(),
            streams: HashMap::new(),
            live: HashMap::new(),
            demux: Demux::default(),
            next_id: 1,
            dirty: VecDeque::new(),
            transmits: VecDeque::new(),
            stats: MediaStats::default(),
            scratch_events: Vec::new(),
            scratch_reads: Vec::new(),
            scratch_ids: Vec::new(),
            scratch_seqs: Vec::new(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> MediaStats {
        MediaStats { sessions: self.sessions.len() as u64, streams: self.streams.len() as u64, ..self.stats }
    }

    /// A datagram arrived on the shared socket.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: BytesMut) {
        self.now = now;
        self.stats.datagrams_in += 1;
        let Some(id) = self.demux.route(from, &datagram) else {
            debug!(%from, bytes = datagram.len(), "datagram from an unknown address dropped");
            return;
        };
        let Some(session) = self.sessions.get_mut(&id) else { return };
        if self.config.simulated_publisher_loss_percent > 0
            && matches!(session.role, Role::Publisher(_))
            && is_rtp(&datagram)
            && rand::random_range(0..100u8) < self.config.simulated_publisher_loss_percent
        {
            self.stats.simulated_losses += 1;
            return;
        }
        let transport = TransportContext {
            local_addr: self.announce,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        if let Err(err) = session.pc.handle_read(TaggedBytesMut { now, transport, message: datagram }) {
            debug!(session = %id, %err, "datagram refused");
        }
        mark(&mut self.dirty, id, session);
    }

    /// Serves one command (replies through its oneshot).
    pub fn handle_command(&mut self, now: Instant, command: Command) {
        self.now = now;
        match command {
            Command::Publish { stream_id, offer_sdp, record, reply } => {
                let _ = reply.send(self.publish(stream_id, offer_sdp, record));
            }
            Command::View { stream_id, reply } => {
                let _ = reply.send(self.view(stream_id));
            }
            Command::ViewWithOffer { stream_id, offer_sdp, reply } => {
                let _ = reply.send(self.view_with_offer(stream_id, offer_sdp));
            }
            Command::ViewerAnswer { session, answer_sdp, reply } => {
                let _ = reply.send(self.viewer_answer(session, answer_sdp));
            }
            Command::AddRemoteCandidate { session, candidate, reply } => {
                let _ = reply.send(self.add_remote_candidate(session, candidate));
            }
            Command::Close { session, reply } => {
                let result =
                    if self.remove(session, Removal::Closed) { Ok(()) } else { Err(MediaError::UnknownSession) };
                let _ = reply.send(result);
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let mut due = std::mem::take(&mut self.scratch_ids);
        due.extend(self.sessions.iter().filter(|(_, s)| s.timeout.is_some_and(|t| t <= now)).map(|(id, _)| *id));
        for id in due.drain(..) {
            if let Some(session) = self.sessions.get_mut(&id) {
                if let Err(err) = session.pc.handle_timeout(now) {
                    debug!(session = %id, %err, "timeout handling failed");
                }
                // Recomputed at its flush; until then it must not look due again.
                session.timeout = None;
                mark(&mut self.dirty, id, session);
            }
        }
        due.extend(self.sessions.iter().filter(|(_, s)| !s.connected && s.connect_by <= now).map(|(id, _)| *id));
        // Oldest first (ids grow with creation, and so do deadlines): a publisher that
        // expires together with its viewers ends its stream, and they hear `StreamEnded`.
        due.sort_unstable();
        for id in due.drain(..) {
            if self.sessions.contains_key(&id) {
                info!(session = %id, "not connected in time");
                self.remove(id, Removal::Failed);
            }
        }
        due.extend(
            self.streams.iter().filter(|(_, s)| s.forward.poll_timeout().is_some_and(|t| t <= now)).map(|(id, _)| *id),
        );
        for id in due.drain(..) {
            if let Some(stream) = self.streams.get_mut(&id) {
                stream.forward.handle_timeout(now);
                if stream.recording.as_ref().is_some_and(|r| r.tap.take_keyframe_request()) {
                    stream.forward.handle_recorder_keyframe_request(now);
                }
            }
            self.drain_stream_outputs(id);
        }
        self.scratch_ids = due;
    }

    /// The next datagram to send. Flushes every session touched since the last call
    /// first, so that one batch of input becomes one batch of output.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.transmits.is_empty() {
            self.flush();
        }
        let transmit = self.transmits.pop_front();
        if transmit.is_some() {
            self.stats.datagrams_out += 1;
        }
        transmit
    }

    /// When [`MediaPlane::handle_timeout`] should next run.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.flush();
        let sessions =
            self.sessions.values().flat_map(|s| [s.timeout, (!s.connected).then_some(s.connect_by)]).flatten();
        let streams = self.streams.values().filter_map(|s| s.forward.poll_timeout());
        sessions.chain(streams).min()
    }

    /// Closes every session, publishers first (so their viewers hear
    /// [`SessionEvent::StreamEnded`]); publishers' owners get no event, their channels
    /// just close. Used when the media task stops.
    pub fn close_all(&mut self, now: Instant) {
        self.now = now;
        let mut publishers: Vec<SessionId> = self.streams.keys().copied().collect();
        publishers.sort_unstable();
        for id in publishers {
            self.remove(id, Removal::Closed);
        }
        let rest: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in rest {
            self.remove(id, Removal::Closed);
        }
    }

    fn flush(&mut self) {
        while let Some(id) = self.dirty.pop_front() {
            self.process(id);
        }
    }

    /// One session's turn: its events, its reads, then its writes and next timeout.
    fn process(&mut self, id: SessionId) {
        let mut events = std::mem::take(&mut self.scratch_events);
        let mut reads = std::mem::take(&mut self.scratch_reads);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.dirty = false;
            while let Some(event) = session.pc.poll_event() {
                events.push(event);
            }
            while let Some(message) = session.pc.poll_read() {
                reads.push(message.message);
            }
        }
        for event in events.drain(..) {
            self.on_event(id, event);
        }
        for message in reads.drain(..) {
            match message {
                RTCMessage::RtpPacket(_, packet) => self.on_publisher_rtp(id, packet),
                RTCMessage::RtcpPacket(_, packets) => self.on_viewer_rtcp(id, &packets),
                _ => {}
            }
        }
        self.scratch_events = events;
        self.scratch_reads = reads;
        if let Some(session) = self.sessions.get_mut(&id) {
            while let Some(out) = session.pc.poll_write() {
                self.demux.learn(out.transport.peer_addr, id);
                self.transmits.push_back(Transmit { to: out.transport.peer_addr, payload: out.message });
            }
            session.timeout = session.pc.poll_timeout();
        }
    }

    fn on_event(&mut self, id: SessionId, event: RTCPeerConnectionEvent) {
        match event {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                debug!(session = %id, %state, "connection state");
                match state {
                    RTCPeerConnectionState::Connected => self.on_connected(id),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        info!(session = %id, %state, "session ended by its connection");
                        self.remove(id, Removal::Failed);
                    }
                    _ => {}
                }
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => self.on_track_open(id, &init),
            _ => {}
        }
    }

    fn on_connected(&mut self, id: SessionId) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        if session.connected {
            return;
        }
        session.connected = true;
        session.notify(SessionEvent::Connected);
        let Role::Viewer(leg) = &mut session.role else {
            info!(session = %id, stream = %session.stream_id, "publisher connected");
            return;
        };
        let publisher = leg.publisher;
        let Some(stream) = self.streams.get_mut(&publisher) else { return };
        let viewer = stream.forward.add_viewer(self.now);
        let index = viewer.index() as usize;
        if stream.forwarding.len() <= index {
            stream.forwarding.resize(index + 1, None);
        }
        stream.forwarding[index] = Some(id);
        leg.forwarding = Some(viewer);
        info!(session = %id, stream = %session.stream_id, "viewer connected");
        self.drain_stream_outputs(publisher);
        self.notify_viewer_count(publisher);
    }

    fn on_track_open(&mut self, id: SessionId, init: &RTCTrackEventInit) {
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

    /// A publisher's RTP packet: through the stream's forwarding core to every viewer
    /// that gets it.
    fn on_publisher_rtp(&mut self, id: SessionId, packet: rtp::Packet) {
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
    fn on_viewer_rtcp(&mut self, id: SessionId, packets: &[Box<dyn rtc::rtcp::Packet>]) {
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
    fn drain_stream_outputs(&mut self, publisher: SessionId) {
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

    fn notify_viewer_count(&mut self, publisher: SessionId) {
        let Some(stream) = self.streams.get(&publisher) else { return };
        let count = u32::try_from(stream.forward.viewer_count()).unwrap_or(u32::MAX);
        if let Some(session) = self.sessions.get(&publisher) {
            session.notify(SessionEvent::ViewerCount(count));
        }
    }

    fn new_id(&mut self) -> SessionId {
        let id = SessionId(self.next_id);
        self.next_id += 1;
        id
    }

    fn check_capacity(&self) -> Result<(), MediaError> {
        if self.sessions.len() >= self.config.max_sessions { Err(MediaError::Full) } else { Ok(()) }
    }

    fn publish(
        &mut self,
        stream_id: String,
        offer_sdp: String,
        record: Option<RecordTap>,
    ) -> Result<Publication, MediaError> {
        if offer_sdp.len() > MAX_SDP_BYTES {
            return Err(MediaError::SdpTooLarge(offer_sdp.len()));
        }
        if self.live.contains_key(&stream_id) {
            return Err(MediaError::AlreadyPublishing(stream_id));
        }
        self.check_capacity()?;
        let now = self.now;
        let (ufrag, mut pc) = peer::build(Leg::Publisher, now).map_err(internal)?;
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(bad_sdp)?;
        pc.set_remote_description(now, offer).map_err(bad_sdp)?;
        peer::add_host_candidate(&mut pc, self.announce).map_err(internal)?;
        let answer = pc.create_answer(None).map_err(bad_sdp)?;
        pc.set_local_description(now, answer).map_err(bad_sdp)?;
        let answer_sdp = pc.local_description().ok_or(MediaError::Internal)?.sdp;
        let codecs = PublisherCodecs::negotiated(&mut pc);
        let keyframe_request = codecs.keyframe_request;
        if codecs.codecs.is_empty() {
            return Err(MediaError::BadSdp("the offer has no VP8, H.264 or Opus media to receive".into()));
        }
        let id = self.new_id();
        let (events, receiver) = mpsc::unbounded_channel();
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
        self.insert(id, pc, ufrag, stream_id, Role::Publisher(PublisherLeg::new(keyframe_request)), events);
        Ok(Publication { session: id, answer_sdp, events: receiver })
    }

    fn view(&mut self, stream_id: String) -> Result<ViewOffer, MediaError> {
        let Some(&publisher) = self.live.get(&stream_id) else {
            return Err(MediaError::NotLive(stream_id));
        };
        self.check_capacity()?;
        let now = self.now;
        let (ufrag, mut pc) = peer::build(Leg::Viewer, now).map_err(internal)?;
        let (video, audio) = self.add_send_tracks(&mut pc, publisher)?;
        let offer = pc.create_offer(None).map_err(internal)?;
        pc.set_local_description(now, offer).map_err(internal)?;
        peer::add_host_candidate(&mut pc, self.announce).map_err(internal)?;
        let offer_sdp = pc.local_description().ok_or(MediaError::Internal)?.sdp;
        let leg = ViewerLeg { publisher, video, audio, forwarding: None, answered: false };
        let (session, events) = self.add_viewer(pc, ufrag, stream_id, leg);
        Ok(ViewOffer { session, offer_sdp, events })
    }

    /// A viewer that brings its own offer (WHEP): our two send-only tracks are added
    /// first, so that the offer's receive-only video and audio m-lines take them, and the
    /// answer is send-only. Its payload types are mapped at once, as `viewer_answer` does
    /// for the server-offer path; from here on the two kinds of viewer are the same.
    fn view_with_offer(&mut self, stream_id: String, offer_sdp: String) -> Result<ViewAnswer, MediaError> {
        if offer_sdp.len() > MAX_SDP_BYTES {
            return Err(MediaError::SdpTooLarge(offer_sdp.len()));
        }
        let Some(&publisher) = self.live.get(&stream_id) else {
            return Err(MediaError::NotLive(stream_id));
        };
        self.check_capacity()?;
        let now = self.now;
        let (ufrag, mut pc) = peer::build(Leg::Viewer, now).map_err(internal)?;
        let (mut video, mut audio) = self.add_send_tracks(&mut pc, publisher)?;
        let offer = RTCSessionDescription::offer(offer_sdp).map_err(bad_sdp)?;
        pc.set_remote_description(now, offer).map_err(bad_sdp)?;
        peer::add_host_candidate(&mut pc, self.announce).map_err(internal)?;
        let answer = pc.create_answer(None).map_err(bad_sdp)?;
        pc.set_local_description(now, answer).map_err(bad_sdp)?;
        let answer_sdp = pc.local_description().ok_or(MediaError::Internal)?.sdp;
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
        let leg = ViewerLeg { publisher, video, audio, forwarding: None, answered: true };
        let (session, events) = self.add_viewer(pc, ufrag, stream_id, leg);
        Ok(ViewAnswer { session, answer_sdp, events })
    }

    /// A viewer's video and audio send tracks, naming the publisher's codecs.
    fn add_send_tracks(
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
    fn add_viewer(
        &mut self,
        pc: RTCPeerConnection,
        ufrag: String,
        stream_id: String,
        leg: ViewerLeg,
    ) -> (SessionId, EventReceiver) {
        let id = self.new_id();
        let (events, receiver) = mpsc::unbounded_channel();
        self.demux.add_session(id, ufrag.clone());
        if let Some(stream) = self.streams.get_mut(&leg.publisher) {
            stream.members.push(id);
        }
        debug!(session = %id, stream = %stream_id, answered = leg.answered, "viewer session created");
        self.insert(id, pc, ufrag, stream_id, Role::Viewer(leg), events);
        (id, receiver)
    }

    fn insert(
        &mut self,
        id: SessionId,
        pc: RTCPeerConnection,
        ufrag: String,
        stream_id: String,
        role: Role,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) {
        let mut session = Session {
            pc,
            ufrag,
            stream_id,
            role,
            events,
            connected: false,
            connect_by: self.now + self.config.connect_timeout,
            timeout: None,
            dirty: false,
            candidates: 0,
        };
        mark(&mut self.dirty, id, &mut session);
        self.sessions.insert(id, session);
    }

    fn viewer_answer(&mut self, id: SessionId, answer_sdp: String) -> Result<(), MediaError> {
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

    fn add_remote_candidate(&mut self, id: SessionId, candidate: Candidate) -> Result<(), MediaError> {
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

    /// Removes a session (if it exists) and everything that depends on it; its owner
    /// gets the event `why` implies. Returns whether it existed.
    fn remove(&mut self, id: SessionId, why: Removal) -> bool {
        let Some(session) = self.close_session(id, why) else { return false };
        match session.role {
            Role::Publisher(_) => {
                if self.live.get(&session.stream_id) == Some(&id) {
                    self.live.remove(&session.stream_id);
                }
                if let Some(stream) = self.streams.remove(&id) {
                    info!(session = %id, stream = %session.stream_id, viewers = stream.members.len(), "stream ended");
                    for viewer in stream.members {
                        self.close_session(viewer, Removal::StreamEnded);
                    }
                }
            }
            Role::Viewer(leg) => {
                if let Some(stream) = self.streams.get_mut(&leg.publisher) {
                    stream.members.retain(|m| *m != id);
                    if let Some(viewer) = leg.forwarding {
                        stream.forward.remove_viewer(viewer);
                        if let Some(slot) = stream.forwarding.get_mut(viewer.index() as usize) {
                            *slot = None;
                        }
                        self.notify_viewer_count(leg.publisher);
                    }
                }
            }
        }
        true
    }

    /// Takes a session out, tells its owner, closes its pc (queueing DTLS close_notify
    /// so the client learns at once) and forgets its addresses.
    fn close_session(&mut self, id: SessionId, why: Removal) -> Option<Session> {
        let mut session = self.sessions.remove(&id)?;
        match why {
            Removal::Closed => {}
            Removal::Failed => session.notify(SessionEvent::Failed),
            Removal::StreamEnded => session.notify(SessionEvent::StreamEnded),
        }
        if let Err(err) = session.pc.close() {
            debug!(session = %id, %err, "close");
        }
        while let Some(out) = session.pc.poll_write() {
            self.transmits.push_back(Transmit { to: out.transport.peer_addr, payload: out.message });
        }
        self.demux.remove_session(id, &session.ufrag);
        debug!(session = %id, ?why, "session removed");
        Some(session)
    }
}

/// Logs a stack failure that is not the client's fault and hides it from the client.
fn internal(err: impl std::fmt::Display) -> MediaError {
    warn!(%err, "WebRTC stack error");
    MediaError::Internal
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
fn is_rtp(datagram: &[u8]) -> bool {
    matches!(datagram, [128..=191, second, ..] if !(192..=223).contains(second))
}

#[cfg(test)]
mod rtp_tests {
    use super::is_rtp;

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 96, 0, 1]), "VP8 RTP");
        assert!(is_rtp(&[0x80, 0x80 | 96, 0, 1]), "with the marker bit");
        assert!(!is_rtp(&[0x80, 200, 0, 6]), "RTCP sender report");
        assert!(!is_rtp(&[0x81, 205, 0, 3]), "RTCP NACK");
        assert!(!is_rtp(&[0x00, 0x01, 0, 0]), "STUN binding request");
        assert!(!is_rtp(&[22, 0xfe, 0xfd]), "DTLS handshake");
        assert!(!is_rtp(&[0x80]), "too short");
    }
}

#[cfg(test)]
mod properties;

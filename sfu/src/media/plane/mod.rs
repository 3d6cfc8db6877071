//! [`MediaPlane`]: every peer connection and every forwarding [`Stream`] of one media
//! task, as a state machine without I/O. It takes datagrams, requests and timeouts with
//! the current time, and hands back datagrams to send, events for sessions' owners and
//! when to wake up — the shape of rtc's own peer connection, one level up. It sends on no
//! channel: [`super::run`] drives it from a socket and delivers its events, and tests
//! drive it on virtual time.
//!
//! ```text
//!  handle_datagram(now, from, bytes) ─▶ demux ─▶ pc.handle_read ─▶ mark session dirty
//!  publish / view / view_with_offer / viewer_answer / add_remote_candidate / close (now, …)
//!  handle_timeout(now)               ─▶ due pcs, viewers' joins, connect deadlines, streams
//!                                         │
//!  poll_transmit() ─▶ flush: for each dirty session (FIFO, each once per pass):
//!      events  ─▶ connected / failed / closed / new SSRC (simulcast layer)
//!      reads   ─▶ publisher RTP ─▶ Stream::handle_publisher_rtp ─▶ viewers' write_rtp
//!                  (each viewer written to becomes dirty: its pc encrypts on its turn)
//!              ─▶ viewer PLI/FIR/REMB ─▶ Stream ─▶ Output::RequestKeyframe ─▶ PLI to publisher
//!      writes  ─▶ outgoing datagrams (and the peer address is remembered for demux)
//!  poll_event()   ─▶ Session(id, Connected | ViewerCount | Failed | StreamEnded) │ Gone(id)
//!  poll_timeout() ─▶ earliest of every pc's timer, join, connect deadline, every stream's
//! ```
//!
//! The jobs, one file each: `negotiate` (SDP: publish, view, answers, candidates),
//! `route` (packets: publisher RTP to viewers, viewers' RTCP back, keyframe requests),
//! `sessions` (removal and what it takes with it); this file holds the tables, the
//! flush loop and the timers.
//!
//! Ownership: sessions live in one map keyed by [`SessionId`]; a stream is keyed by its
//! publisher's session id (so a publisher's packets find their stream without a string
//! lookup) and names its viewers. A session's lifecycle:
//!
//! ```text
//!  publisher: publish ─▶ connecting ─▶ connected ─▶ closed | failed ─▶ its viewers: StreamEnded
//!  viewer:    view ─▶ (answer) | view with offer ─▶ connecting ─▶ connected ─(JOIN_DELAY)─▶ added to the Stream ─▶ closed | failed
//! ```

mod negotiate;
mod route;
mod sessions;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tracing::{debug, info};

pub use self::negotiate::Negotiated;
pub use self::route::JOIN_DELAY;
use super::codecs::PublisherCodecs;
use super::command::MediaStats;
use super::config::MediaConfig;
use super::demux::Demux;
use super::event::{PlaneEvent, SessionEvent, SessionId};
use super::publisher::PublisherLeg;
use super::viewer::ViewerLeg;
use crate::codec::Codec;
use crate::forward::Stream;
use crate::record::RecordTap;

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
    connected: bool,
    /// Dropped as failed if not connected by then.
    connect_by: Instant,
    /// A connected viewer is added to its stream then (see [`JOIN_DELAY`]).
    join_at: Option<Instant>,
    /// The pc's own next timeout, as of its last flush.
    timeout: Option<Instant>,
    /// Queued in `MediaPlane::dirty`.
    dirty: bool,
    candidates: usize,
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
    /// Events for sessions' owners, oldest first.
    events: VecDeque<PlaneEvent>,
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
            events: VecDeque::new(),
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
            && route::is_rtp(&datagram)
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
        due.extend(self.sessions.iter().filter(|(_, s)| s.join_at.is_some_and(|t| t <= now)).map(|(id, _)| *id));
        for id in due.drain(..) {
            self.join_stream(id);
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

    /// The next event for a session's owner, oldest first. Flushes first, like
    /// [`MediaPlane::poll_transmit`].
    pub fn poll_event(&mut self) -> Option<PlaneEvent> {
        if self.events.is_empty() {
            self.flush();
        }
        self.events.pop_front()
    }

    /// When [`MediaPlane::handle_timeout`] should next run.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.flush();
        let sessions = self
            .sessions
            .values()
            .flat_map(|s| [s.timeout, (!s.connected).then_some(s.connect_by), s.join_at])
            .flatten();
        let streams = self.streams.values().filter_map(|s| s.forward.poll_timeout());
        sessions.chain(streams).min()
    }

    /// Queues `event` for the owner of session `id`.
    fn notify(events: &mut VecDeque<PlaneEvent>, id: SessionId, event: SessionEvent) {
        events.push_back(PlaneEvent::Session(id, event));
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
}

#[cfg(test)]
mod properties;

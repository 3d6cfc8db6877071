//! A network on virtual time for the media plane, in the spirit of quinn's test `Pair`:
//! one [`MediaPlane`], client peer connections built with sans-I/O `rtc` (full ICE,
//! controlling, real DTLS and SRTP), datagrams carried in memory with a fixed one-way
//! delay and optional loss, and a clock that moves only when the next thing is due. No
//! socket, no task, no sleep: a test of seconds of media runs in milliseconds, and the
//! same steps give the same result.
//!
//! ```text
//!  Net::step ─▶ collect: plane.poll_transmit / each client's poll_write ─▶ in flight (now + delay, unless dropped)
//!            ├▶ collect: plane.poll_event ─▶ Net::events; clients' reads and states
//!            └▶ now = earliest of (next arrival, plane timeout, client timeouts) ─▶ deliver / handle_timeout
//! ```

#![allow(dead_code, missing_docs)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use myvid_sfu::media::feedback::{FEEDBACK_SLOT, KeyframeAndEstimate};
use myvid_sfu::media::{MediaConfig, MediaPlane, PlaneEvent, SessionEvent, SessionId};
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_VP8, MediaEngine};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

/// The SFU's address on the virtual network.
pub const SFU: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 3478);

/// One-way delay of every datagram, unless [`Net::delay`] is changed.
pub const DELAY: Duration = Duration::from_millis(5);

/// Steps without the clock moving before [`Net::step`] calls it a spin (a timer that
/// is due and never handled).
const MAX_STILL_STEPS: u32 = 100_000;

/// A client on the network.
pub type ClientId = usize;

/// One datagram in flight.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

impl Datagram {
    /// The RTP sequence number, if this is an RTP packet (its header is not encrypted
    /// by SRTP).
    pub fn rtp_seq(&self) -> Option<u16> {
        match self.bytes.as_slice() {
            [128..=191, pt, a, b, ..] if !(192..=223).contains(pt) => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The RTP payload type (marker bit cleared), if this is RTP.
    pub fn rtp_payload_type(&self) -> Option<u8> {
        match self.bytes.as_slice() {
            [128..=191, pt, ..] if !(192..=223).contains(pt) => Some(pt & 0x7f),
            _ => None,
        }
    }
}

/// What a client is for.
pub enum Kind {
    /// Sends VP8 on `ssrc` through `sender`; `answered` keyframe requests were taken by
    /// [`Net::take_keyframe_request`].
    Publisher { sender: RTCRtpSenderId, ssrc: u32, payload_type: u8, seq: u16, frame: u32, answered: usize },
    /// Receives.
    Viewer,
}

/// A client peer connection and what it has seen.
pub struct Client {
    pub pc: RTCPeerConnection,
    pub addr: SocketAddr,
    pub kind: Kind,
    /// The SFU's session for this client.
    pub session: SessionId,
    pub connected_at: Option<Instant>,
    pub state: RTCPeerConnectionState,
    /// RTP packets the application read, in order of arrival (if [`Net::keep_media`]).
    pub rtp: Vec<rtc::rtp::Packet>,
    /// RTP packets the application read.
    pub rtp_read: u64,
    /// When the first video packet was read.
    pub first_video_at: Option<Instant>,
    /// RTCP packets the application read (what the feedback interceptor lets through:
    /// PLI, FIR, REMB, NACK).
    pub rtcp: Vec<Box<dyn rtc::rtcp::Packet>>,
    /// Tracks opened: receiver and SSRC.
    pub tracks: Vec<(RTCRtpReceiverId, u32, RtpCodecKind)>,
}

impl Client {
    /// Keyframe requests (PLI or FIR) read so far.
    pub fn keyframe_requests(&self) -> usize {
        use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
        use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
        self.rtcp
            .iter()
            .filter(|p| p.as_any().is::<PictureLossIndication>() || p.as_any().is::<FullIntraRequest>())
            .count()
    }

    /// Video packets read (VP8 payload type), in order.
    pub fn video(&self) -> impl Iterator<Item = &rtc::rtp::Packet> {
        self.rtp.iter().filter(|p| p.payload.len() >= PAYLOAD_MIN)
    }
}

/// Smallest synthetic video payload (audio and padding are shorter).
const PAYLOAD_MIN: usize = 100;

/// The network: the plane, its clients, and what is in flight.
pub struct Net {
    pub now: Instant,
    pub plane: MediaPlane,
    pub clients: Vec<Client>,
    /// Every event the plane gave, in order.
    pub events: Vec<PlaneEvent>,
    /// Datagrams in flight, by arrival time then sending order.
    in_flight: BinaryHeap<Reverse<(Instant, u64, Datagram)>>,
    sent: u64,
    /// One-way delay of every datagram from now on.
    pub delay: Duration,
    /// Decides whether a datagram is lost (`true`: dropped).
    pub loss: Box<dyn FnMut(&Datagram) -> bool>,
    /// Datagrams the loss rule dropped.
    pub dropped: Vec<Datagram>,
    /// Each client's index by address.
    by_addr: HashMap<SocketAddr, ClientId>,
    /// Whether clients keep the RTP packets they read ([`Client::rtp`]); a bench of many
    /// viewers only counts them.
    pub keep_media: bool,
    /// Called with `true` before the net calls into the plane and `false` after, so a
    /// bench can count what the SFU alone does (allocations, instructions).
    pub meter: fn(bool),
}

impl Net {
    /// A network with an empty plane and default settings.
    pub fn new() -> Net {
        Net::with_config(MediaConfig::default())
    }

    pub fn with_config(config: MediaConfig) -> Net {
        let now = Instant::now();
        Net {
            now,
            plane: MediaPlane::new(config, SFU, now),
            clients: Vec::new(),
            events: Vec::new(),
            in_flight: BinaryHeap::new(),
            sent: 0,
            delay: DELAY,
            loss: Box::new(|_| false),
            dropped: Vec::new(),
            by_addr: HashMap::new(),
            keep_media: true,
            meter: |_| {},
        }
    }

    fn next_addr(&self) -> SocketAddr {
        let n = self.clients.len();
        let high = u8::try_from(1 + n / 250).expect("at most 63,000 clients");
        SocketAddr::from(([10, 0, high, (n % 250 + 1) as u8], 5000))
    }

    /// A publisher of `stream` sending VP8 on `ssrc`, its offer answered by the plane.
    pub fn publisher(&mut self, stream: &str, ssrc: u32) -> ClientId {
        let addr = self.next_addr();
        let mut pc = client_pc(self.now);
        let track = MediaStreamTrack::new(
            "net".into(),
            "video".into(),
            "video".into(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec: RTCRtpCodec { mime_type: MIME_TYPE_VP8.into(), clock_rate: 90_000, ..Default::default() },
                ..Default::default()
            }],
        );
        let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() };
        let transceiver = pc.add_transceiver_from_track(track, Some(init)).expect("track");
        let offer = offer(&mut pc, addr, self.now);
        let answer = self.plane.publish(self.now, stream.into(), offer, None).expect("publish accepted");
        pc.set_remote_description(self.now, RTCSessionDescription::answer(answer.sdp).unwrap()).unwrap();
        let sender = pc.rtp_transceiver(transceiver).and_then(|t| t.sender()).expect("sender");
        let payload_type = pc
            .rtp_sender(sender)
            .and_then(|mut s| s.get_parameters().rtp_parameters.codecs.first().map(|c| c.payload_type))
            .expect("a negotiated codec");
        let kind = Kind::Publisher { sender, ssrc, payload_type, seq: 1_000, frame: 0, answered: 0 };
        self.add(pc, addr, kind, answer.session)
    }

    /// A WHEP-style viewer of `stream` (it offers receive-only video and audio).
    pub fn viewer(&mut self, stream: &str) -> ClientId {
        let addr = self.next_addr();
        let mut pc = client_pc(self.now);
        let recvonly =
            || RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() };
        pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(recvonly())).unwrap();
        pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(recvonly())).unwrap();
        let offer = offer(&mut pc, addr, self.now);
        let answer = self.plane.view_with_offer(self.now, stream.into(), offer).expect("view accepted");
        pc.set_remote_description(self.now, RTCSessionDescription::answer(answer.sdp).unwrap()).unwrap();
        self.add(pc, addr, Kind::Viewer, answer.session)
    }

    fn add(&mut self, pc: RTCPeerConnection, addr: SocketAddr, kind: Kind, session: SessionId) -> ClientId {
        self.by_addr.insert(addr, self.clients.len());
        self.clients.push(Client {
            pc,
            addr,
            kind,
            session,
            connected_at: None,
            state: RTCPeerConnectionState::New,
            rtp: Vec::new(),
            rtp_read: 0,
            first_video_at: None,
            rtcp: Vec::new(),
            tracks: Vec::new(),
        });
        self.clients.len() - 1
    }

    /// One frame of VP8 from `publisher`: `packets` packets of `size` bytes, the first
    /// of them starting a keyframe if `keyframe`. Sent at once (the next step carries it).
    pub fn send_frame(&mut self, publisher: ClientId, keyframe: bool, packets: usize, size: usize) {
        let now = self.now;
        let client = &mut self.clients[publisher];
        let Kind::Publisher { sender, ssrc, payload_type, seq, frame, .. } = &mut client.kind else {
            panic!("client {publisher} is not a publisher")
        };
        let timestamp = frame.wrapping_mul(3_000);
        for i in 0..packets {
            let header = rtc::rtp::header::Header {
                version: 2,
                marker: i + 1 == packets,
                payload_type: *payload_type,
                sequence_number: *seq,
                timestamp,
                ssrc: *ssrc,
                ..Default::default()
            };
            let payload = vp8_payload(*frame as u16 & 0x7FFF, i == 0, keyframe, size, *seq);
            client
                .pc
                .rtp_sender(*sender)
                .expect("sender")
                .write_rtp(now, rtc::rtp::Packet { header, payload })
                .unwrap();
            *seq = seq.wrapping_add(1);
        }
        *frame = frame.wrapping_add(1);
    }

    /// Whether `publisher` read a keyframe request it has not answered yet (as a
    /// browser's encoder would, it then sends a keyframe); marks them answered.
    pub fn take_keyframe_request(&mut self, publisher: ClientId) -> bool {
        let requests = self.clients[publisher].keyframe_requests();
        let Kind::Publisher { answered, .. } = &mut self.clients[publisher].kind else { return false };
        let asked = requests > *answered;
        *answered = requests;
        asked
    }

    /// Sends RTCP from `client`'s first opened video track's receiver (a viewer's
    /// feedback: PLI, NACK, REMB).
    pub fn send_feedback(&mut self, client: ClientId, packets: Vec<Box<dyn rtc::rtcp::Packet>>) {
        let now = self.now;
        let c = &mut self.clients[client];
        let (receiver, _, _) =
            *c.tracks.iter().find(|(_, _, kind)| *kind == RtpCodecKind::Video).expect("a video track open");
        c.pc.rtp_receiver(receiver).expect("receiver").write_rtcp(now, packets).unwrap();
    }

    /// Moves everything queued into flight and the plane's events into [`Net::events`].
    fn collect(&mut self) {
        let mut transmits = Vec::new();
        (self.meter)(true);
        while let Some(transmit) = self.plane.poll_transmit() {
            transmits.push(transmit);
        }
        while let Some(event) = self.plane.poll_event() {
            self.events.push(event);
        }
        (self.meter)(false);
        for transmit in transmits {
            self.launch(Datagram { from: SFU, to: transmit.to, bytes: transmit.payload.to_vec() });
        }
        for i in 0..self.clients.len() {
            self.drain_client(i);
        }
    }

    fn drain_client(&mut self, i: ClientId) {
        let (now, keep_media) = (self.now, self.keep_media);
        let mut out = Vec::new();
        let client = &mut self.clients[i];
        while let Some(message) = client.pc.poll_read() {
            match message.message {
                RTCMessage::RtpPacket(_, packet) => {
                    client.rtp_read += 1;
                    if packet.payload.len() >= PAYLOAD_MIN && client.first_video_at.is_none() {
                        client.first_video_at = Some(now);
                    }
                    if keep_media {
                        client.rtp.push(packet);
                    }
                }
                RTCMessage::RtcpPacket(_, packets) => client.rtcp.extend(packets),
                _ => {}
            }
        }
        while let Some(event) = client.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    client.state = state;
                    if state == RTCPeerConnectionState::Connected && client.connected_at.is_none() {
                        client.connected_at = Some(now);
                    }
                }
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    let kind = client.pc.rtp_receiver(init.receiver_id).map(|r| r.track().kind());
                    if let Some(kind) = kind {
                        client.tracks.push((init.receiver_id, init.ssrc, kind));
                    }
                }
                _ => {}
            }
        }
        while let Some(write) = client.pc.poll_write() {
            out.push(Datagram { from: client.addr, to: write.transport.peer_addr, bytes: write.message.to_vec() });
        }
        for datagram in out {
            self.launch(datagram);
        }
    }

    fn launch(&mut self, datagram: Datagram) {
        if (self.loss)(&datagram) {
            self.dropped.push(datagram);
            return;
        }
        self.sent += 1;
        self.in_flight.push(Reverse((self.now + self.delay, self.sent, datagram)));
    }

    /// When the next thing happens: an arrival or a timer.
    fn next_due(&mut self) -> Option<Instant> {
        let arrival = self.in_flight.peek().map(|Reverse((at, _, _))| *at);
        (self.meter)(true);
        let plane = self.plane.poll_timeout();
        (self.meter)(false);
        let clients = self.clients.iter_mut().filter_map(|c| c.pc.poll_timeout()).min();
        [arrival, plane, clients].into_iter().flatten().min()
    }

    /// Runs everything due up to `until` (virtual time); the clock ends at `until`.
    pub fn run_until(&mut self, until: Instant) {
        let mut still = 0;
        loop {
            self.collect();
            let Some(next) = self.next_due().filter(|t| *t <= until) else { break };
            if next <= self.now {
                still += 1;
                assert!(still < MAX_STILL_STEPS, "the clock stands still: a timer is due and never handled");
            } else {
                still = 0;
                self.now = next;
            }
            self.deliver_due();
            self.fire_timers();
        }
        self.now = self.now.max(until);
        self.collect();
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Runs until `done` holds, for at most `limit` of virtual time; panics naming `what`
    /// if it never does.
    pub fn run_until_true(&mut self, what: &str, limit: Duration, done: impl Fn(&Net) -> bool) {
        let end = self.now + limit;
        while !done(self) {
            assert!(self.now < end, "{what}: not within {limit:?} of virtual time");
            let step_end = (self.now + Duration::from_millis(1)).min(end);
            self.run_until(step_end);
        }
    }

    fn deliver_due(&mut self) {
        while let Some(Reverse((at, _, _))) = self.in_flight.peek() {
            if *at > self.now {
                break;
            }
            let Some(Reverse((_, _, datagram))) = self.in_flight.pop() else { break };
            let bytes = BytesMut::from(&datagram.bytes[..]);
            if datagram.to == SFU {
                (self.meter)(true);
                self.plane.handle_datagram(self.now, datagram.from, bytes);
                (self.meter)(false);
            } else if let Some(client) = self.by_addr.get(&datagram.to).map(|i| &mut self.clients[*i]) {
                let transport = TransportContext {
                    local_addr: client.addr,
                    peer_addr: datagram.from,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                };
                // Every datagram due now is read before the client is polled (as `rtc`'s
                // own event loops may do): the plane must not count on a client having
                // taken in the end of its DTLS handshake before the next datagram.
                let _ = client.pc.handle_read(TaggedBytesMut { now: self.now, transport, message: bytes });
            }
        }
    }

    fn fire_timers(&mut self) {
        (self.meter)(true);
        if self.plane.poll_timeout().is_some_and(|t| t <= self.now) {
            self.plane.handle_timeout(self.now);
        }
        (self.meter)(false);
        for client in &mut self.clients {
            if client.pc.poll_timeout().is_some_and(|t| t <= self.now) {
                let _ = client.pc.handle_timeout(self.now);
            }
        }
    }

    /// Runs until every client is connected (at most 5 s of virtual time).
    pub fn connect_all(&mut self) {
        self.run_until_true("every client connects", Duration::from_secs(5), |net| {
            net.clients.iter().all(|c| c.connected_at.is_some())
        });
    }

    /// The session events the plane gave for `session`, in order.
    pub fn events_of(&self, session: SessionId) -> Vec<SessionEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PlaneEvent::Session(id, event) if *id == session => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether the plane said `session` is gone.
    pub fn gone(&self, session: SessionId) -> bool {
        self.events.contains(&PlaneEvent::Gone(session))
    }
}

/// A client pc as a browser would have it: default codecs and interceptors (NACK
/// generator and responder, reports, TWCC), plus the SFU's feedback interceptor so the
/// test reads PLI/FIR/REMB/NACK as the application.
fn client_pc(now: Instant) -> RTCPeerConnection {
    let mut engine = MediaEngine::default();
    engine.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut engine).unwrap();
    let registry = registry.with(Slot::from(FEEDBACK_SLOT), KeyframeAndEstimate::default());
    RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .build(now)
        .expect("client pc")
}

/// The pc's offer with its one host candidate at `addr` in it (no trickle).
fn offer(pc: &mut RTCPeerConnection, addr: SocketAddr, now: Instant) -> String {
    let offer = pc.create_offer(None).unwrap();
    pc.set_local_description(now, offer).unwrap();
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()
    .unwrap();
    pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json().unwrap()).unwrap();
    pc.add_local_candidate(RTCIceCandidateInit::default()).unwrap();
    pc.local_description().expect("local description").sdp
}

/// A synthetic VP8 payload of `size` bytes (RFC 7741 descriptor, frame tag on a frame's
/// first packet) whose last two bytes carry `tag` (the publisher's sequence number), so
/// a test can match what a viewer got to what was sent.
pub fn vp8_payload(picture_id: u16, first: bool, keyframe: bool, size: usize, tag: u16) -> Bytes {
    let mut bytes = myvid_sfu::codec::synthetic::vp8_payload(picture_id, first, keyframe, size.max(32), 0xA5);
    let n = bytes.len();
    bytes[n - 2..].copy_from_slice(&tag.to_be_bytes());
    Bytes::from(bytes)
}

/// The tag [`vp8_payload`] put in a payload.
pub fn tag_of(payload: &[u8]) -> u16 {
    let n = payload.len();
    u16::from_be_bytes([payload[n - 2], payload[n - 1]])
}

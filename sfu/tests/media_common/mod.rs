//! Test clients for the media plane: a publisher and viewers built with the async `webrtc`
//! crate, talking to [`Signalling::serve`] through channels of JSON text frames exactly as
//! a browser's WebSocket would, and exchanging real media over loopback UDP.

#![allow(dead_code, missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use myvid_proto::signal::{Candidate, ClientMessage, ServerMessage};
use myvid_proto::{parse, to_frame};
use myvid_sfu::codec::Codec;
use myvid_sfu::codec::keyframe::starts_keyframe;
use myvid_sfu::drain::Drain;
use myvid_sfu::media::feedback::{FEEDBACK_SLOT, KeyframeAndEstimate};
use myvid_sfu::media::{self, MediaConfig, MediaHandle};
use myvid_sfu::session::{LiveChange, Signalling};
use rtc::interceptor::Slot;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{NackPair, TransportLayerNack};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, Registry, register_default_interceptors,
};

/// The token the harness accepts.
pub const GOOD_TOKEN: &str = "good-token";

/// Longest wait for anything in these tests: loopback connects in well under a second.
pub const WAIT: Duration = Duration::from_secs(5);

/// The media task and the signalling in front of it.
pub struct Harness {
    pub media: MediaHandle,
    pub signalling: Arc<Signalling>,
    pub live_changes: Arc<Mutex<Vec<LiveChange>>>,
    /// The SFU's drain: its `run` refuses new sessions and stops the media plane when over.
    pub drain: Drain,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(MediaConfig::default()).await
    }

    pub async fn start_with(config: MediaConfig) -> Harness {
        Harness::start_with_grace(config, myvid_sfu::session::DEFAULT_RESUME_GRACE).await
    }

    /// A harness whose lost connections' media sessions wait `grace` for `resume`.
    pub async fn start_with_grace(config: MediaConfig, grace: Duration) -> Harness {
        let stop = tokio_util::sync::CancellationToken::new();
        let server = media::spawn_with_shutdown(config, stop.clone()).await.expect("media plane starts");
        let drain = Drain::new(stop);
        let live_changes = Arc::new(Mutex::new(Vec::new()));
        let changes = live_changes.clone();
        let signalling = Signalling::new(
            server.handle.clone(),
            Box::new(|_stream, token| if token == GOOD_TOKEN { Ok(()) } else { Err("wrong token".into()) }),
        )
        .with_live_hook(Box::new(move |change| changes.lock().unwrap().push(change)))
        .with_resume_grace(grace)
        .with_drain(drain.clone());
        Harness { media: server.handle, signalling: Arc::new(signalling), live_changes, drain }
    }

    /// A client connection to `stream_id`, served by `Signalling::serve` on its own task.
    pub fn connect(&self, stream_id: &str) -> Client {
        let (to_server, mut from_client) = mpsc::channel::<String>(64);
        let (session_tx, incoming) = mpsc::channel(64);
        let (outgoing, from_server) = mpsc::channel(64);
        let signalling = self.signalling.clone();
        let stream_id = stream_id.to_owned();
        let served = tokio::spawn(async move { signalling.serve(stream_id, incoming, outgoing).await });
        // The "socket": forwards frames until cut, as an endpoint dying would cut it.
        let cut = tokio_util::sync::CancellationToken::new();
        let cutting = cut.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    frame = from_client.recv() => {
                        let Some(frame) = frame else { break };
                        if session_tx.send(frame).await.is_err() {
                            break;
                        }
                    }
                    () = cutting.cancelled() => break,
                }
            }
        });
        Client { to_server, from_server, served: Some(served), cut }
    }
}

/// One signalling connection, as a browser's WebSocket would see it.
pub struct Client {
    pub to_server: mpsc::Sender<String>,
    pub from_server: mpsc::Receiver<String>,
    pub served: Option<tokio::task::JoinHandle<()>>,
    cut: tokio_util::sync::CancellationToken,
}

impl Client {
    /// Cuts the connection without a `bye`, as when its endpoint dies, and waits for
    /// the server side to notice.
    pub async fn cut(&mut self) {
        self.cut.cancel();
        self.from_server.close();
        self.finished().await;
    }

    pub async fn send(&self, message: &ClientMessage) {
        self.send_raw(&to_frame(message)).await;
    }

    pub async fn send_raw(&self, frame: &str) {
        self.to_server.send(frame.to_owned()).await.expect("session is running");
    }

    /// The next frame from the server.
    pub async fn recv(&mut self) -> ServerMessage {
        let frame = timeout(WAIT, self.from_server.recv()).await.expect("a frame in time").expect("session open");
        parse(&frame).expect("server frames parse")
    }

    /// Frames until one matches `want` (the skipped ones are returned too).
    pub async fn recv_until(
        &mut self,
        mut want: impl FnMut(&ServerMessage) -> bool,
    ) -> (ServerMessage, Vec<ServerMessage>) {
        let mut skipped = Vec::new();
        loop {
            let message = self.recv().await;
            if want(&message) {
                return (message, skipped);
            }
            skipped.push(message);
        }
    }

    /// Waits for the server side of this connection to finish.
    pub async fn finished(&mut self) {
        if let Some(served) = self.served.take() {
            timeout(WAIT, served).await.expect("session ends in time").expect("session task ok");
        }
    }
}

/// Forwards a client pc's trickled candidates to the server as `candidate` frames once
/// `start` is called (a browser sends them after its offer or answer).
struct Handler {
    candidates: mpsc::UnboundedSender<Candidate>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(Candidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            });
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// A real publisher offer (sendonly VP8 video and Opus audio) from a client pc that is
/// never connected, for tests of signalling alone. The pc is returned to keep it alive.
pub async fn publisher_offer() -> (String, Arc<dyn PeerConnection>) {
    let pc = client_pc().await;
    let sendonly =
        || Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() });
    let video = local_track(RtpCodecKind::Video, MIME_TYPE_VP8, 90_000, 0, 0x5000);
    let audio = local_track(RtpCodecKind::Audio, MIME_TYPE_OPUS, 48_000, 2, 0x5001);
    pc.pc.add_transceiver_from_track(video as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
    pc.pc.add_transceiver_from_track(audio as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
    let offer = pc.pc.create_offer(None).await.unwrap();
    pc.pc.set_local_description(offer.clone()).await.unwrap();
    (offer.sdp, pc.pc)
}

/// A viewer's pc with receive-only video and audio, and its offer (WHEP style).
async fn recvonly_offer() -> (ClientPc, String) {
    let pc = client_pc().await;
    let recvonly =
        || Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() });
    pc.pc.add_transceiver_from_kind(RtpCodecKind::Video, recvonly()).await.unwrap();
    pc.pc.add_transceiver_from_kind(RtpCodecKind::Audio, recvonly()).await.unwrap();
    let offer = pc.pc.create_offer(None).await.unwrap();
    pc.pc.set_local_description(offer.clone()).await.unwrap();
    (pc, offer.sdp)
}

/// A real WHEP-style viewer offer from a pc that is never connected (kept alive by the
/// returned handle), for tests of signalling alone.
pub async fn viewer_offer() -> (String, Arc<dyn PeerConnection>) {
    let (pc, offer) = recvonly_offer().await;
    (offer, pc.pc)
}

struct ClientPc {
    pc: Arc<dyn PeerConnection>,
    candidates: mpsc::UnboundedReceiver<Candidate>,
    state: watch::Receiver<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

async fn client_pc() -> ClientPc {
    let mut engine = MediaEngine::default();
    engine.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut engine).unwrap();
    client_pc_with(engine, registry).await
}

/// A client whose only video codec is VP8 with `ccm fir` and `nack` feedback, but no
/// `nack pli`: the SFU must ask it for keyframes with FIR.
async fn client_pc_fir_only() -> ClientPc {
    use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodecParameters};
    let mut engine = MediaEngine::default();
    let fb = |typ: &str, parameter: &str| RTCPFeedback { typ: typ.into(), parameter: parameter.into() };
    let codec = |mime: &str, clock_rate, channels, pt, rtcp_feedback| RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec { mime_type: mime.into(), clock_rate, channels, rtcp_feedback, ..Default::default() },
        payload_type: pt,
    };
    engine.register_codec(codec(MIME_TYPE_OPUS, 48_000, 2, 111, vec![]), RtpCodecKind::Audio).unwrap();
    let video = codec(MIME_TYPE_VP8, 90_000, 0, 96, vec![fb("ccm", "fir"), fb("nack", "")]);
    engine.register_codec(video, RtpCodecKind::Video).unwrap();
    // Not rtc's default interceptors: their NACK set-up adds `nack pli` to every codec.
    client_pc_with(engine, Registry::new()).await
}

async fn client_pc_with(engine: MediaEngine, registry: Registry) -> ClientPc {
    // Let PLIs reach the test (the publisher counts them), as a browser's encoder sees them.
    let registry = registry.with(Slot::from(FEEDBACK_SLOT), KeyframeAndEstimate::default());
    let (candidates_tx, candidates) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let (tracks_tx, tracks) = mpsc::unbounded_channel();
    let handler = Handler { candidates: candidates_tx, state: state_tx, tracks: tracks_tx };
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .expect("client pc");
    ClientPc { pc: Arc::new(pc), candidates, state, tracks }
}

impl ClientPc {
    /// Sends every candidate gathered so far and later ones as `candidate` frames.
    fn trickle(&mut self, to_server: mpsc::Sender<String>) {
        let mut candidates = std::mem::replace(&mut self.candidates, mpsc::unbounded_channel().1);
        tokio::spawn(async move {
            while let Some(candidate) = candidates.recv().await {
                if to_server.send(to_frame(&ClientMessage::Candidate(candidate))).await.is_err() {
                    break;
                }
            }
        });
    }

    async fn connected(&mut self) {
        timeout(WAIT, self.state.wait_for(|s| *s == RTCPeerConnectionState::Connected))
            .await
            .expect("connected in time")
            .expect("pc alive");
    }
}

fn local_track(kind: RtpCodecKind, mime: &str, clock_rate: u32, channels: u16, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let name = if kind == RtpCodecKind::Video { "video" } else { "audio" };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "publisher".into(),
        name.into(),
        name.into(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec: RTCRtpCodec { mime_type: mime.into(), clock_rate, channels, ..Default::default() },
            ..Default::default()
        }],
    )))
}

/// Video: 30 fps, a keyframe every 30th frame (and on every PLI, like a browser's encoder);
/// keyframes are 8 packets, delta frames 2, each payload ~1,000 bytes.
pub const FPS: u64 = 30;
pub const GOP: u32 = 30;
const KEYFRAME_PACKETS: usize = 8;
const DELTA_PACKETS: usize = 2;
const PAYLOAD_BYTES: usize = 1000;

/// Video packets a viewer has received at least `at_least` after its first keyframe
/// (frames never come faster than [`FPS`]).
pub fn video_packets_after(at_least: Duration) -> usize {
    let frames = (at_least.as_micros() * u128::from(FPS)).div_ceil(1_000_000) as usize;
    KEYFRAME_PACKETS + DELTA_PACKETS * frames
}

/// One video packet's payload (RFC 7741): a descriptor with a 15-bit PictureID, then, on
/// a frame's first packet, the VP8 frame tag (and for keyframes the start code and size).
pub fn vp8_payload(picture_id: u16, first: bool, keyframe: bool) -> Bytes {
    vp8_payload_sized(picture_id, first, keyframe, PAYLOAD_BYTES, 0xA5)
}

/// [`vp8_payload`] of `size` bytes, padded with `fill` (tests tell layers apart by it).
pub fn vp8_payload_sized(picture_id: u16, first: bool, keyframe: bool, size: usize, fill: u8) -> Bytes {
    Bytes::from(myvid_sfu::codec::synthetic::vp8_payload(picture_id, first, keyframe, size, fill))
}

/// One video encoding a publisher sends.
#[derive(Debug, Clone, Copy)]
pub struct LayerSpec {
    /// Its simulcast rid (`None`: no simulcast).
    pub rid: Option<&'static str>,
    pub ssrc: u32,
    /// Payload bytes per packet (sets the layer's bitrate).
    pub payload: usize,
    /// Fill byte of its payloads, to tell layers apart at the viewer.
    pub fill: u8,
}

/// A broadcaster.
pub struct TestPublisher {
    pub client: Client,
    pc: ClientPc,
    pub video_ssrc: u32,
    pub plis: Arc<AtomicU32>,
    pub firs: Arc<AtomicU32>,
    pub frames: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
}

impl TestPublisher {
    /// Publishes `stream_id` with one video encoding of ~1,000-byte packets.
    pub async fn start(harness: &Harness, stream_id: &str, video_ssrc: u32) -> TestPublisher {
        let layer = LayerSpec { rid: None, ssrc: video_ssrc, payload: PAYLOAD_BYTES, fill: 0xA5 };
        TestPublisher::start_layers(harness, stream_id, &[layer]).await
    }

    /// Publishes `stream_id`: the `publish` frame with a real offer, the answer applied,
    /// candidates trickled, connected, media flowing. Several layers make a simulcast
    /// track (rid-based, one m-line); audio uses the first layer's SSRC + 1000.
    pub async fn start_layers(harness: &Harness, stream_id: &str, layers: &[LayerSpec]) -> TestPublisher {
        TestPublisher::start_with(harness, stream_id, layers, client_pc().await).await
    }

    /// Publishes one layer from a client that negotiates FIR but not PLI.
    pub async fn start_fir_only(harness: &Harness, stream_id: &str, video_ssrc: u32) -> TestPublisher {
        let layer = LayerSpec { rid: None, ssrc: video_ssrc, payload: PAYLOAD_BYTES, fill: 0xA5 };
        TestPublisher::start_with(harness, stream_id, &[layer], client_pc_fir_only().await).await
    }

    async fn start_with(harness: &Harness, stream_id: &str, layers: &[LayerSpec], mut pc: ClientPc) -> TestPublisher {
        let mut client = harness.connect(stream_id);
        let codings = layers
            .iter()
            .map(|layer| RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    rid: layer.rid.unwrap_or_default().to_owned(),
                    ssrc: Some(layer.ssrc),
                    ..Default::default()
                },
                codec: RTCRtpCodec { mime_type: MIME_TYPE_VP8.into(), clock_rate: 90_000, ..Default::default() },
                ..Default::default()
            })
            .collect();
        let video = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "publisher".into(),
            "video".into(),
            "video".into(),
            RtpCodecKind::Video,
            codings,
        )));
        let audio_ssrc = layers[0].ssrc + 1000;
        let audio = local_track(RtpCodecKind::Audio, MIME_TYPE_OPUS, 48_000, 2, audio_ssrc);
        let sendonly =
            || Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() });
        let video_transceiver =
            pc.pc.add_transceiver_from_track(video.clone() as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
        let audio_transceiver =
            pc.pc.add_transceiver_from_track(audio.clone() as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
        let offer = pc.pc.create_offer(None).await.unwrap();
        pc.pc.set_local_description(offer.clone()).await.unwrap();
        client.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer.sdp }).await;
        let ServerMessage::Answer { sdp } = client.recv().await else { panic!("expected an answer") };
        pc.pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.unwrap();
        pc.trickle(client.to_server.clone());
        pc.connected().await;

        let parameters = |transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>| async move {
            let sender = transceiver.sender().await.unwrap().unwrap();
            sender.get_parameters().await.unwrap().rtp_parameters
        };
        let video_parameters = parameters(video_transceiver.clone()).await;
        let video_pt = video_parameters.codecs[0].payload_type;
        let audio_pt = parameters(audio_transceiver).await.codecs[0].payload_type;
        // Rid-based simulcast: the sender must put mid and rid on every packet itself.
        let extension =
            |uri: &str| video_parameters.header_extensions.iter().find(|h| h.uri == uri).map(|h| h.id as u8);
        let mid_id = extension("urn:ietf:params:rtp-hdrext:sdes:mid");
        let rid_id = extension("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
        let mid = video_transceiver.mid().await.unwrap().unwrap_or_default();
        let simulcast = layers.len() > 1;

        let plis = Arc::new(AtomicU32::new(0));
        let firs = Arc::new(AtomicU32::new(0));
        let force_keyframe: Arc<Vec<AtomicBool>> = Arc::new(layers.iter().map(|_| AtomicBool::new(false)).collect());
        let frames = Arc::new(AtomicU32::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        {
            // Keyframe requests, as the browser's encoder would get them (per layer SSRC).
            let (video, plis, firs, force_keyframe) =
                (video.clone(), plis.clone(), firs.clone(), force_keyframe.clone());
            let ssrcs: Vec<u32> = layers.iter().map(|l| l.ssrc).collect();
            tokio::spawn(async move {
                let force = |ssrc: u32| {
                    if let Some(i) = ssrcs.iter().position(|s| *s == ssrc) {
                        force_keyframe[i].store(true, Ordering::SeqCst);
                    }
                };
                while let Some(event) = video.poll().await {
                    let TrackLocalEvent::OnRtcpPacket(packets) = event else { continue };
                    for packet in packets {
                        if let Some(pli) = packet.as_any().downcast_ref::<PictureLossIndication>() {
                            plis.fetch_add(1, Ordering::SeqCst);
                            force(pli.media_ssrc);
                        } else if let Some(fir) = packet.as_any().downcast_ref::<FullIntraRequest>() {
                            firs.fetch_add(1, Ordering::SeqCst);
                            fir.fir.iter().for_each(|entry| force(entry.ssrc));
                        }
                    }
                }
            });
        }
        {
            let (frames, stop, layers) = (frames.clone(), stop.clone(), layers.to_vec());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / FPS));
                // Never catch up in a burst: n frames always span at least n frame intervals,
                // so packet counts measure elapsed time from below.
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut seqs: Vec<u16> = (0..layers.len()).map(|i| 40_000u16.wrapping_add(i as u16 * 9_000)).collect();
                let (mut audio_seq, mut timestamp, mut frame) = (7u16, 1_000u32, 0u32);
                while !stop.load(Ordering::SeqCst) {
                    tick.tick().await;
                    for (l, layer) in layers.iter().enumerate() {
                        let keyframe = frame % GOP == 0 || force_keyframe[l].swap(false, Ordering::SeqCst);
                        let count = if keyframe { KEYFRAME_PACKETS } else { DELTA_PACKETS };
                        for i in 0..count {
                            let mut header = rtc::rtp::header::Header {
                                version: 2,
                                marker: i + 1 == count,
                                payload_type: video_pt,
                                sequence_number: seqs[l],
                                timestamp,
                                ssrc: layer.ssrc,
                                ..Default::default()
                            };
                            if simulcast {
                                if let Some(id) = mid_id {
                                    header.set_extension(id, Bytes::from(mid.clone())).unwrap();
                                }
                                if let (Some(id), Some(rid)) = (rid_id, layer.rid) {
                                    header.set_extension(id, Bytes::from(rid)).unwrap();
                                }
                            }
                            let payload = vp8_payload_sized(frame as u16, i == 0, keyframe, layer.payload, layer.fill);
                            if video.write_rtp(rtc::rtp::Packet { header, payload }).await.is_err() {
                                return;
                            }
                            seqs[l] = seqs[l].wrapping_add(1);
                        }
                    }
                    // Opus-like audio: two ~16 ms packets per video frame interval.
                    for _ in 0..2 {
                        let header = rtc::rtp::header::Header {
                            version: 2,
                            payload_type: audio_pt,
                            sequence_number: audio_seq,
                            timestamp: u32::from(audio_seq).wrapping_mul(960),
                            ssrc: audio_ssrc,
                            ..Default::default()
                        };
                        let payload = Bytes::from_static(&[0x78; 80]);
                        if audio.write_rtp(rtc::rtp::Packet { header, payload }).await.is_err() {
                            return;
                        }
                        audio_seq = audio_seq.wrapping_add(1);
                    }
                    timestamp = timestamp.wrapping_add(90_000 / FPS as u32);
                    frame += 1;
                    frames.store(frame, Ordering::SeqCst);
                }
            });
        }
        TestPublisher { client, pc, video_ssrc: layers[0].ssrc, plis, firs, frames, stop }
    }

    pub fn plis(&self) -> u32 {
        self.plis.load(Ordering::SeqCst)
    }

    pub fn firs(&self) -> u32 {
        self.firs.load(Ordering::SeqCst)
    }

    /// Says `bye` and closes the pc, as a browser leaving the page would.
    pub async fn leave(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.client.send(&ClientMessage::Bye { reason: "done".into() }).await;
        self.client.finished().await;
        let _ = self.pc.pc.close().await;
    }
}

/// One video packet a viewer received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoPacket {
    pub ssrc: u32,
    pub seq: u16,
    /// Starts a keyframe.
    pub keyframe: bool,
    /// The payload's last byte (the publisher's fill byte).
    pub tag: u8,
}

/// What a viewer received, in arrival order.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub video: Vec<VideoPacket>,
    /// (ssrc, sequence number)
    pub audio: Vec<(u32, u16)>,
}

impl Received {
    /// Video packets from the first keyframe on.
    pub fn video_from_first_keyframe(&self) -> &[VideoPacket] {
        let start = self.video.iter().position(|p| p.keyframe).unwrap_or(self.video.len());
        &self.video[start..]
    }
}

/// A viewer.
pub struct TestViewer {
    pub client: Client,
    /// The server's SDP (its offer, or its answer to a WHEP-style offer).
    pub server_sdp: String,
    pc: ClientPc,
    pub received: Arc<Mutex<Received>>,
    video_count: watch::Receiver<usize>,
    video_track: Arc<Mutex<Option<Arc<dyn TrackRemote>>>>,
}

impl TestViewer {
    /// `join`, the server's offer applied, the answer sent, candidates trickled, connected.
    pub async fn join(harness: &Harness, stream_id: &str) -> TestViewer {
        let mut client = harness.connect(stream_id);
        let mut pc = client_pc().await;
        client.send(&ClientMessage::Join {}).await;
        let ServerMessage::Offer { sdp } = client.recv().await else { panic!("expected an offer") };
        pc.pc.set_remote_description(RTCSessionDescription::offer(sdp.clone()).unwrap()).await.unwrap();
        let answer = pc.pc.create_answer(None).await.unwrap();
        pc.pc.set_local_description(answer.clone()).await.unwrap();
        client.send(&ClientMessage::Answer { sdp: answer.sdp }).await;
        pc.trickle(client.to_server.clone());
        TestViewer::receive(client, pc, sdp).await
    }

    /// `view` with the viewer's own receive-only offer (WHEP style), the server's answer
    /// applied, candidates trickled, connected.
    pub async fn view_with_offer(harness: &Harness, stream_id: &str) -> TestViewer {
        let mut client = harness.connect(stream_id);
        let (pc, offer) = recvonly_offer().await;
        client.send(&ClientMessage::View { sdp: offer }).await;
        let ServerMessage::Answer { sdp } = client.recv().await else { panic!("expected an answer") };
        assert!(sdp.contains("a=ice-lite") && sdp.contains("a=candidate:") && sdp.contains("a=sendonly"), "{sdp}");
        pc.pc.set_remote_description(RTCSessionDescription::answer(sdp.clone()).unwrap()).await.unwrap();
        let mut pc = pc;
        pc.trickle(client.to_server.clone());
        TestViewer::receive(client, pc, sdp).await
    }

    /// Records what arrives on `pc`'s tracks, once connected.
    async fn receive(client: Client, mut pc: ClientPc, server_sdp: String) -> TestViewer {
        let received = Arc::new(Mutex::new(Received::default()));
        let (count_tx, video_count) = watch::channel(0usize);
        let count_tx = Arc::new(count_tx);
        let mut tracks = std::mem::replace(&mut pc.tracks, mpsc::unbounded_channel().1);
        let video_track = Arc::new(Mutex::new(None));
        {
            let (received, video_track) = (received.clone(), video_track.clone());
            tokio::spawn(async move {
                while let Some(track) = tracks.recv().await {
                    let (received, count_tx) = (received.clone(), count_tx.clone());
                    let video = track.kind().await == RtpCodecKind::Video;
                    if video {
                        *video_track.lock().unwrap() = Some(track.clone());
                    }
                    tokio::spawn(async move {
                        while let Some(event) = track.poll().await {
                            let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
                            let h = &packet.header;
                            let mut received = received.lock().unwrap();
                            if video {
                                received.video.push(VideoPacket {
                                    ssrc: h.ssrc,
                                    seq: h.sequence_number,
                                    keyframe: starts_keyframe(Codec::Vp8, &packet.payload),
                                    tag: packet.payload.last().copied().unwrap_or_default(),
                                });
                                let count = received.video_from_first_keyframe().len();
                                // Never touch the watch while holding the lock: its waiters
                                // take the lock inside the watch's own.
                                drop(received);
                                count_tx.send_replace(count);
                            } else {
                                received.audio.push((h.ssrc, h.sequence_number));
                            }
                        }
                    });
                }
            });
        }
        pc.connected().await;
        TestViewer { client, server_sdp, pc, received, video_count, video_track }
    }

    /// Waits until what was received satisfies `done`.
    pub async fn wait_until(&mut self, what: &str, done: impl Fn(&Received) -> bool) {
        let (count, received) = (&mut self.video_count, &self.received);
        let waited = timeout(WAIT, count.wait_for(|_| done(&received.lock().unwrap()))).await.map(|r| r.is_ok());
        assert_eq!(waited, Ok(true), "{what} in time");
    }

    /// Sends a REMB bandwidth estimate for the video track, as Chrome does.
    pub async fn send_estimate(&self, bps: f32) {
        let track = self.video_track.lock().unwrap().clone().expect("a video track");
        let ssrc = self.snapshot().video.first().expect("video received").ssrc;
        let remb = ReceiverEstimatedMaximumBitrate { sender_ssrc: 1, bitrate: bps, ssrcs: vec![ssrc] };
        track.write_rtcp(vec![Box::new(remb)]).await.expect("REMB sent");
    }

    /// Sends a generic NACK for video sequence number `seq`, as a receiver that lost it.
    pub async fn send_nack(&self, seq: u16) {
        let track = self.video_track.lock().unwrap().clone().expect("a video track");
        let ssrc = self.snapshot().video.first().expect("video received").ssrc;
        let nack = TransportLayerNack { sender_ssrc: 1, media_ssrc: ssrc, nacks: vec![NackPair::new(seq)] };
        track.write_rtcp(vec![Box::new(nack)]).await.expect("NACK sent");
    }

    /// Waits until at least `n` video packets arrived from the first keyframe on, and
    /// some audio: with instant start, a joiner gets up to half a second of video at
    /// once, before the first live audio packet.
    pub async fn wait_video(&mut self, n: usize) {
        let waited = timeout(WAIT, self.video_count.wait_for(|c| *c >= n)).await.map(|r| r.is_ok());
        assert_eq!(waited, Ok(true), "{n} video packets in time (got {})", *self.video_count.borrow());
        self.wait_until("audio", |r| !r.audio.is_empty()).await;
    }

    pub fn video_count(&self) -> usize {
        *self.video_count.borrow()
    }

    pub fn snapshot(&self) -> Received {
        self.received.lock().unwrap().clone()
    }

    /// Says `bye` and closes the pc.
    pub async fn leave(mut self) -> Received {
        self.client.send(&ClientMessage::Bye { reason: "done".into() }).await;
        self.client.finished().await;
        let _ = self.pc.pc.close().await;
        self.snapshot()
    }

    pub async fn close_pc(&self) {
        let _ = self.pc.pc.close().await;
    }
}

/// Asserts the viewer's video: the first packet starts a keyframe, one SSRC (not the
/// publisher's), and strictly consecutive sequence numbers. Returns (video, audio) counts.
pub fn assert_continuous(name: &str, received: &Received, publisher_ssrc: u32) -> (usize, usize) {
    let video = &received.video;
    assert!(!video.is_empty(), "{name}: no video");
    assert!(video[0].keyframe, "{name}: the first video packet must start a keyframe");
    let ssrc = video[0].ssrc;
    assert_ne!(ssrc, publisher_ssrc, "{name}: the viewer has its own SSRC");
    for pair in video.windows(2) {
        assert_eq!(pair[1].ssrc, ssrc, "{name}: one SSRC");
        assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "{name}: consecutive sequence numbers");
    }
    assert!(!received.audio.is_empty(), "{name}: no audio");
    let audio_ssrc = received.audio[0].0;
    assert!(received.audio.iter().all(|a| a.0 == audio_ssrc), "{name}: one audio SSRC");
    (video.len(), received.audio.len())
}

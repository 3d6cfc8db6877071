//! WHIP and WHEP clients for the tests, built on the async `webrtc` crate: a broadcaster
//! that sends synthetic VP8 (and Opus-like audio) RTP, and a viewer that records what it
//! receives. They signal over plain HTTP, as OBS or a WHEP player would.

#![allow(dead_code, missing_docs)]

pub mod stream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use myvid_sfu::codec::Codec;
use myvid_sfu::codec::keyframe::starts_keyframe;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry, register_default_interceptors,
};

/// Longest wait for any one thing: loopback connects in well under a second.
pub const WAIT: Duration = Duration::from_secs(10);

struct Handler {
    state: watch::Sender<RTCPeerConnectionState>,
    gathering: watch::Sender<RTCIceGatheringState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        let _ = self.gathering.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// A client peer connection on loopback, with its state as watches.
pub struct ClientPc {
    pub pc: Arc<dyn PeerConnection>,
    pub state: watch::Receiver<RTCPeerConnectionState>,
    gathering: watch::Receiver<RTCIceGatheringState>,
    tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

impl ClientPc {
    pub async fn new() -> ClientPc {
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().unwrap();
        let registry = register_default_interceptors(Registry::new(), &mut engine).unwrap();
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (gathering_tx, gathering) = watch::channel(RTCIceGatheringState::New);
        let (tracks_tx, tracks) = mpsc::unbounded_channel();
        let handler = Handler { state: state_tx, gathering: gathering_tx, tracks: tracks_tx };
        let pc = PeerConnectionBuilder::new()
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(handler))
            .with_udp_addrs(vec!["127.0.0.1:0"])
            .build()
            .await
            .expect("client pc");
        ClientPc { pc: Arc::new(pc), state, gathering, tracks }
    }

    /// The offer with every candidate in it (WHIP/WHEP clients do not trickle here).
    pub async fn complete_offer(&mut self) -> String {
        let offer = self.pc.create_offer(None).await.unwrap();
        self.pc.set_local_description(offer).await.unwrap();
        timeout(WAIT, self.gathering.wait_for(|s| *s == RTCIceGatheringState::Complete))
            .await
            .expect("candidates gathered in time")
            .expect("pc alive");
        self.pc.local_description().await.expect("a local description").sdp
    }

    pub async fn apply_answer(&self, sdp: String) {
        self.pc.set_remote_description(RTCSessionDescription::answer(sdp).unwrap()).await.unwrap();
    }

    pub async fn connected(&mut self) {
        timeout(WAIT, self.state.wait_for(|s| *s == RTCPeerConnectionState::Connected))
            .await
            .expect("connected in time")
            .expect("pc alive");
    }

    /// Waits until the connection is no longer up (the server ended it).
    pub async fn ended(&mut self) -> RTCPeerConnectionState {
        let ended = |s: &RTCPeerConnectionState| {
            matches!(
                s,
                RTCPeerConnectionState::Closed | RTCPeerConnectionState::Failed | RTCPeerConnectionState::Disconnected
            )
        };
        *timeout(WAIT, self.state.wait_for(ended)).await.expect("ended in time").expect("pc alive")
    }
}

fn local_track(kind: RtpCodecKind, mime: &str, clock_rate: u32, channels: u16, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let name = if kind == RtpCodecKind::Video { "video" } else { "audio" };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "whip".into(),
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

/// Video frames per second, and a keyframe every this many frames (and on every PLI).
const FPS: u64 = 30;
const GOP: u32 = 15;
/// Packets in a keyframe and in a delta frame.
const KEYFRAME_PACKETS: usize = 6;
const DELTA_PACKETS: usize = 2;

/// One VP8 RTP payload (RFC 7741): descriptor with a 15-bit PictureID; on a frame's first
/// packet the frame tag (keyframes: start code and 640×360 too); padded to 800 bytes.
fn vp8_payload(picture_id: u16, first: bool, keyframe: bool) -> Bytes {
    Bytes::from(myvid_sfu::codec::synthetic::vp8_payload(picture_id, first, keyframe, 800, 0x5A))
}

/// A broadcaster's pc (send-only VP8 and Opus) and its complete offer.
pub struct Broadcaster {
    pub pc: ClientPc,
    video: Arc<TrackLocalStaticRTP>,
    audio: Arc<TrackLocalStaticRTP>,
    video_transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
    audio_transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>,
    video_ssrc: u32,
    stop: Arc<AtomicBool>,
}

impl Broadcaster {
    pub async fn new(video_ssrc: u32) -> (Broadcaster, String) {
        let mut pc = ClientPc::new().await;
        let video = local_track(RtpCodecKind::Video, MIME_TYPE_VP8, 90_000, 0, video_ssrc);
        let audio = local_track(RtpCodecKind::Audio, MIME_TYPE_OPUS, 48_000, 2, video_ssrc + 1);
        let sendonly =
            || Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() });
        let video_transceiver =
            pc.pc.add_transceiver_from_track(video.clone() as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
        let audio_transceiver =
            pc.pc.add_transceiver_from_track(audio.clone() as Arc<dyn TrackLocal>, sendonly()).await.unwrap();
        let offer = pc.complete_offer().await;
        let stop = Arc::new(AtomicBool::new(false));
        (Broadcaster { pc, video, audio, video_transceiver, audio_transceiver, video_ssrc, stop }, offer)
    }

    /// Sends 30 fps VP8 (a keyframe every [`GOP`] frames and on every PLI) and audio
    /// until [`Broadcaster::stop`]. Call once connected.
    pub async fn send_media(&self) {
        let payload_type = |transceiver: Arc<dyn webrtc::rtp_transceiver::RtpTransceiver>| async move {
            let sender = transceiver.sender().await.unwrap().unwrap();
            sender.get_parameters().await.unwrap().rtp_parameters.codecs[0].payload_type
        };
        let video_pt = payload_type(self.video_transceiver.clone()).await;
        let audio_pt = payload_type(self.audio_transceiver.clone()).await;
        let force_keyframe = Arc::new(AtomicBool::new(false));
        {
            let (video, force_keyframe) = (self.video.clone(), force_keyframe.clone());
            tokio::spawn(async move {
                while let Some(event) = video.poll().await {
                    let TrackLocalEvent::OnRtcpPacket(packets) = event else { continue };
                    if packets.iter().any(|p| p.as_any().is::<PictureLossIndication>()) {
                        force_keyframe.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
        let (video, audio, stop) = (self.video.clone(), self.audio.clone(), self.stop.clone());
        let (video_ssrc, audio_ssrc) = (self.video_ssrc, self.video_ssrc + 1);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / FPS));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut seq, mut audio_seq, mut timestamp, mut frame) = (1_000u16, 5u16, 3_000u32, 0u32);
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let keyframe = frame % GOP == 0 || force_keyframe.swap(false, Ordering::SeqCst);
                let count = if keyframe { KEYFRAME_PACKETS } else { DELTA_PACKETS };
                for i in 0..count {
                    let header = rtc::rtp::header::Header {
                        version: 2,
                        marker: i + 1 == count,
                        payload_type: video_pt,
                        sequence_number: seq,
                        timestamp,
                        ssrc: video_ssrc,
                        ..Default::default()
                    };
                    let payload = vp8_payload(frame as u16, i == 0, keyframe);
                    if video.write_rtp(rtc::rtp::Packet { header, payload }).await.is_err() {
                        return;
                    }
                    seq = seq.wrapping_add(1);
                }
                let header = rtc::rtp::header::Header {
                    version: 2,
                    payload_type: audio_pt,
                    sequence_number: audio_seq,
                    timestamp: u32::from(audio_seq).wrapping_mul(1_600),
                    ssrc: audio_ssrc,
                    ..Default::default()
                };
                if audio.write_rtp(rtc::rtp::Packet { header, payload: Bytes::from_static(&[0x78; 60]) }).await.is_err()
                {
                    return;
                }
                audio_seq = audio_seq.wrapping_add(1);
                timestamp = timestamp.wrapping_add(90_000 / FPS as u32);
                frame += 1;
            }
        });
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One received video packet: (ssrc, sequence number, starts a keyframe).
pub type VideoPacket = (u32, u16, bool);

/// A WHEP viewer's pc (receive-only video and audio) and what it received.
pub struct Watcher {
    pub pc: ClientPc,
    pub video: Arc<Mutex<Vec<VideoPacket>>>,
    count: watch::Receiver<usize>,
}

impl Watcher {
    pub async fn new() -> (Watcher, String) {
        let mut pc = ClientPc::new().await;
        let recvonly =
            || Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() });
        pc.pc.add_transceiver_from_kind(RtpCodecKind::Video, recvonly()).await.unwrap();
        pc.pc.add_transceiver_from_kind(RtpCodecKind::Audio, recvonly()).await.unwrap();
        let offer = pc.complete_offer().await;
        let video = Arc::new(Mutex::new(Vec::new()));
        let (count_tx, count) = watch::channel(0usize);
        let mut tracks = std::mem::replace(&mut pc.tracks, mpsc::unbounded_channel().1);
        {
            let video = video.clone();
            tokio::spawn(async move {
                let count_tx = Arc::new(count_tx);
                while let Some(track) = tracks.recv().await {
                    if track.kind().await != RtpCodecKind::Video {
                        // Drain audio so that nothing backs up.
                        tokio::spawn(async move { while track.poll().await.is_some() {} });
                        continue;
                    }
                    let (video, count_tx) = (video.clone(), count_tx.clone());
                    tokio::spawn(async move {
                        while let Some(event) = track.poll().await {
                            let TrackRemoteEvent::OnRtpPacket(packet) = event else { continue };
                            let keyframe = starts_keyframe(Codec::Vp8, &packet.payload);
                            let n = {
                                let mut video = video.lock().unwrap();
                                video.push((packet.header.ssrc, packet.header.sequence_number, keyframe));
                                video.len()
                            };
                            count_tx.send_replace(n);
                        }
                    });
                }
            });
        }
        (Watcher { pc, video, count }, offer)
    }

    /// Waits for at least `n` video packets.
    pub async fn wait_video(&mut self, n: usize) {
        let got = timeout(WAIT, self.count.wait_for(|c| *c >= n)).await.map(|r| r.is_ok());
        assert_eq!(got, Ok(true), "{n} video packets in time (got {})", *self.count.borrow());
    }

    /// The video from the first keyframe on: asserts one SSRC and consecutive sequence
    /// numbers, and returns how many packets.
    pub fn assert_continuous(&self) -> usize {
        let video = self.video.lock().unwrap();
        let start = video.iter().position(|p| p.2).expect("a keyframe arrived");
        let video = &video[start..];
        for pair in video.windows(2) {
            assert_eq!(pair[1].0, pair[0].0, "one SSRC");
            assert_eq!(pair[1].1, pair[0].1.wrapping_add(1), "consecutive sequence numbers");
        }
        video.len()
    }
}

//! Building the SFU's peer connections: the codecs both legs speak, the interceptors
//! each leg runs, ICE-lite with a per-session username, and the one host candidate.
//!
//! | leg | codecs | interceptors |
//! | --- | --- | --- |
//! | publisher (ingest) | VP8, H.264 constrained baseline, VP9, AV1, Opus | NACK generator, RTCP reports, TWCC feedback (the browser's send-side estimate needs it), mid/rid extensions for simulcast |
//! | viewer (egress) | the same, plus RTX for each video codec | RTCP reports, [`KeyframeAndEstimate`] (PLI/FIR/REMB/NACK to the SFU), [`Retransmit`] (NACK answers as RTX) |
//!
//! Video codecs carry `goog-remb`, `ccm fir`, `nack` and `nack pli` feedback: the set
//! every browser understands. The viewer leg does not negotiate transport-wide congestion
//! control, so viewers report their bandwidth with REMB, which the forwarding core uses to
//! choose a simulcast layer. Viewers' NACKs are not answered by rtc's per-leg responder
//! (a send history per viewer) but by the SFU from the stream's one packet cache.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtc::interceptor::{Registry, Slot};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_AV1, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX, MIME_TYPE_VP8, MIME_TYPE_VP9, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use rtc::shared::error::Error;
use rtc::shared::util::math_rand_alpha_number;

use super::feedback::{FEEDBACK_SLOT, KeyframeAndEstimate};
use super::retransmit::Retransmit;

/// ICE consent: a session whose client has been silent this long is `disconnected`…
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(5);
/// …and this much later `failed`, which ends it (a publisher's viewers get `ended`).
/// Shorter than rtc's 25 s default: a vanished broadcaster should not leave its audience
/// staring at a frozen frame for half a minute; browsers send consent checks every few
/// seconds, so a live client never gets near it.
const ICE_FAILED_AFTER: Duration = Duration::from_secs(10);
/// How often rtc's agent sends its keepalives.
const ICE_KEEPALIVE: Duration = Duration::from_secs(2);

/// Which side of the SFU a peer connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Receives a broadcaster's media (the broadcaster offers).
    Publisher,
    /// Sends media to a viewer (the SFU offers, or answers a WHEP viewer's offer).
    Viewer,
}

fn feedback(typ: &str, parameter: &str) -> RTCPFeedback {
    RTCPFeedback { typ: typ.to_owned(), parameter: parameter.to_owned() }
}

fn codec(
    mime: &str,
    clock_rate: u32,
    channels: u16,
    fmtp: &str,
    pt: u8,
    rtcp_feedback: Vec<RTCPFeedback>,
) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: mime.to_owned(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.to_owned(),
            rtcp_feedback,
        },
        payload_type: pt,
    }
}

/// The codecs and interceptors of one leg. Codecs are registered first: the interceptor
/// helpers add their feedback only to codecs already registered.
fn media_engine_and_interceptors(leg: Leg) -> Result<(MediaEngine, Registry), Error> {
    let mut engine = MediaEngine::default();
    let video_feedback =
        || vec![feedback("goog-remb", ""), feedback("ccm", "fir"), feedback("nack", ""), feedback("nack", "pli")];
    // Payload types as Chrome numbers them, which keeps offers readable next to a browser's.
    engine.register_codec(
        codec(MIME_TYPE_OPUS, 48_000, 2, "minptime=10;useinbandfec=1", 111, vec![]),
        RtpCodecKind::Audio,
    )?;
    engine.register_codec(codec(MIME_TYPE_VP8, 90_000, 0, "", 96, video_feedback()), RtpCodecKind::Video)?;
    engine.register_codec(
        codec(
            MIME_TYPE_H264,
            90_000,
            0,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            102,
            video_feedback(),
        ),
        RtpCodecKind::Video,
    )?;
    // VP9 (profile 0) and AV1 pass through when publisher and viewer both negotiate
    // them; the forwarding core finds their keyframes like VP8's.
    engine
        .register_codec(codec(MIME_TYPE_VP9, 90_000, 0, "profile-id=0", 98, video_feedback()), RtpCodecKind::Video)?;
    engine.register_codec(codec(MIME_TYPE_AV1, 90_000, 0, "", 45, video_feedback()), RtpCodecKind::Video)?;
    let registry = match leg {
        Leg::Publisher => {
            configure_simulcast_extension_headers(&mut engine)?;
            let registry = configure_rtcp_reports(configure_nack(Registry::new(), &mut engine));
            configure_twcc_receiver_only(registry, &mut engine)?
        }
        Leg::Viewer => {
            // RTX (RFC 4588) for every video codec, numbered as Chrome numbers them.
            for (rtx_pt, apt) in [(97u8, 96u8), (103, 102), (99, 98), (46, 45)] {
                let fmtp = format!("apt={apt}");
                engine.register_codec(codec(MIME_TYPE_RTX, 90_000, 0, &fmtp, rtx_pt, vec![]), RtpCodecKind::Video)?;
            }
            configure_rtcp_reports(Registry::new())
                .with(Slot::NackResponder, Retransmit::default())
                .with(Slot::from(FEEDBACK_SLOT), KeyframeAndEstimate::default())
        }
    };
    Ok((engine, registry))
}

/// A new peer connection for `leg`, ICE-lite with a fresh random username fragment
/// (returned: it is the key that routes the client's first STUN request to it).
pub fn build(leg: Leg, now: Instant) -> Result<(String, RTCPeerConnection), Error> {
    let (engine, registry) = media_engine_and_interceptors(leg)?;
    // 16 alphanumerics: ~95 bits, unguessable and far from colliding across sessions. The
    // password (ICE's real secret) gets 32.
    let ufrag = math_rand_alpha_number(16);
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag.clone(), math_rand_alpha_number(32))
        // As answerer (publishers) be the DTLS server, like rtc's broadcast example: the
        // browser, as DTLS client, starts the handshake as soon as ICE connects.
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_ice_timeouts(Some(ICE_DISCONNECTED_AFTER), Some(ICE_FAILED_AFTER), Some(ICE_KEEPALIVE))
        .build();
    let pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .build(now)?;
    Ok((ufrag, pc))
}

/// Adds the one host candidate (the shared socket's announced address) and the end of
/// candidates, so the local description is complete without trickle.
pub fn add_host_candidate(pc: &mut RTCPeerConnection, announce: SocketAddr) -> Result<(), Error> {
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: announce.ip().to_string(),
            port: announce.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidateInit::default())
}

//! What a publisher negotiated, and the send tracks a viewer gets for it.
//!
//! A viewer's tracks name the codec the publisher sends (its first negotiated video
//! codec, and Opus): the SFU cannot transcode, so offering anything else would only let
//! a viewer pick a codec that never arrives. Naming the codec also lets rtc bind the
//! tracks to the leg's interceptors once negotiated (sender reports, and the RTX wrapping
//! in `super::retransmit`), which it only does for an encoding whose codec it can match.

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tracing::warn;

use super::error::MediaError;
use super::publisher::KeyframeRequest;
use super::viewer::OutTrack;
use crate::codec::Codec;

/// A publisher's negotiated receive codecs.
#[derive(Debug, Default)]
pub struct PublisherCodecs {
    /// Every codec we can forward, as (payload type, codec), in negotiated order.
    pub codecs: Vec<(u8, Codec)>,
    /// How to ask it for keyframes (from its video codecs' negotiated feedback).
    pub keyframe_request: KeyframeRequest,
    /// The video codec it sends (the first negotiated), as its viewers' tracks name it.
    pub video: Option<RTCRtpCodec>,
    /// Likewise for audio.
    pub audio: Option<RTCRtpCodec>,
}

impl PublisherCodecs {
    /// Reads them off a publisher's pc after its answer is set.
    pub fn negotiated(pc: &mut RTCPeerConnection) -> Self {
        let mut found = PublisherCodecs::default();
        let mut feedback = Vec::new();
        let transceivers: Vec<_> = pc.get_transceivers().collect();
        for transceiver in transceivers {
            let Some(receiver) = pc.rtp_transceiver(transceiver).and_then(|t| t.receiver()) else { continue };
            let Some(mut receiver) = pc.rtp_receiver(receiver) else { continue };
            for codec in &receiver.get_parameters().rtp_parameters.codecs {
                let Some(known) = Codec::from_mime_name(&codec.rtp_codec.mime_type) else { continue };
                if found.codecs.contains(&(codec.payload_type, known)) {
                    continue;
                }
                found.codecs.push((codec.payload_type, known));
                let first = if known.is_video() { &mut found.video } else { &mut found.audio };
                if first.is_none() {
                    *first = Some(RTCRtpCodec { rtcp_feedback: Vec::new(), ..codec.rtp_codec.clone() });
                }
                if known.is_video() {
                    feedback.extend(codec.rtp_codec.rtcp_feedback.iter().map(|f| (f.typ.clone(), f.parameter.clone())));
                }
            }
        }
        found.keyframe_request = KeyframeRequest::from_feedback(feedback.iter().map(|(t, p)| (t.as_str(), p.as_str())));
        found
    }

    /// The codec a viewer's track of `kind` names.
    pub fn for_kind(&self, kind: RtpCodecKind) -> Option<&RTCRtpCodec> {
        if kind == RtpCodecKind::Video { self.video.as_ref() } else { self.audio.as_ref() }
    }
}

/// Adds a send-only track of `kind` carrying `codec` (or, if the publisher has none of
/// that kind, naming no codec) to a viewer's pc. The SSRC is chosen at random by rtc;
/// video gets an RTX SSRC too (rtc drops it if the viewer's answer has no RTX).
pub fn add_send_track(
    pc: &mut RTCPeerConnection,
    kind: RtpCodecKind,
    codec: Option<&RTCRtpCodec>,
) -> Result<OutTrack, MediaError> {
    let video = kind == RtpCodecKind::Video;
    let name = if video { "video" } else { "audio" };
    let rtx = video.then(|| RTCRtpRtxParameters { ssrc: rand::random::<u32>() | 1 });
    let track = MediaStreamTrack::new(
        "myvid".to_owned(),
        name.to_owned(),
        name.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { rtx, ..Default::default() },
            codec: codec.cloned().unwrap_or_default(),
            ..Default::default()
        }],
    );
    let init = RTCRtpTransceiverInit {
        direction: RTCRtpTransceiverDirection::Sendonly,
        streams: vec![],
        send_encodings: vec![],
    };
    let internal = |err: rtc::shared::error::Error| {
        warn!(%err, "WebRTC stack error adding a send track");
        MediaError::Internal
    };
    let transceiver = pc.add_transceiver_from_track(track, Some(init)).map_err(internal)?;
    let sender = pc.rtp_transceiver(transceiver).and_then(|t| t.sender()).ok_or(MediaError::Internal)?;
    let ssrc = pc.rtp_sender(sender).and_then(|s| s.track().ssrcs().next()).ok_or(MediaError::Internal)?;
    Ok(OutTrack::new(sender, ssrc))
}

//! What the SFU must know about codecs without decoding anything: their names, and
//! whether an RTP payload starts a keyframe.

pub mod keyframe;
pub mod synthetic;

/// Codecs the SFU forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184), constrained baseline in browsers.
    H264,
    /// AV1 (AOM RTP payload format).
    Av1,
    /// Opus audio (RFC 7587).
    Opus,
}

impl Codec {
    /// From an SDP `rtpmap` encoding name such as `VP8` or `opus` (case-insensitive).
    pub fn from_mime_name(name: &str) -> Option<Codec> {
        let name = name.rsplit('/').next().unwrap_or(name);
        match name.to_ascii_lowercase().as_str() {
            "vp8" => Some(Codec::Vp8),
            "vp9" => Some(Codec::Vp9),
            "h264" => Some(Codec::H264),
            "av1" => Some(Codec::Av1),
            "opus" => Some(Codec::Opus),
            _ => None,
        }
    }

    /// Whether it is a video codec.
    pub fn is_video(self) -> bool {
        self != Codec::Opus
    }
}

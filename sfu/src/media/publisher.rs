//! A publisher's leg: which of its SSRCs is audio, which is video and of which simulcast
//! layer, where to send a keyframe request for a layer, and how to ask: PLI where the
//! publisher negotiated `nack pli`, else FIR (RFC 5104) where it negotiated `ccm fir`.
//!
//! Each SSRC announces itself once (rtc's `OnTrack(OnOpen{ssrc, rid})`, raised before its
//! first packet is delivered). With simulcast, all layers arrive on one video track, one
//! SSRC per `rid`; the rid's name says the layer, lowest resolution first:
//!
//! | rids | layers |
//! | --- | --- |
//! | `q`, `h`, `f` (quarter, half, full) | 0, 1, 2 |
//! | `0`, `1`, `2` | 0, 1, 2 |
//! | `l`/`low`, `m`/`mid`/`medium`, `high` | 0, 1, 2 |
//! | no rid (no simulcast) | 0 |
//! | other names | the lowest free layer, in order of arrival |

use rtc::rtp_transceiver::RTCRtpReceiverId;

use crate::forward::{Layer, MAX_LAYERS, MediaKind};

/// The layer a rid names by convention, if it is one of the known names.
pub fn layer_of_rid(rid: &str) -> Option<Layer> {
    match rid.to_ascii_lowercase().as_str() {
        "q" | "0" | "l" | "low" => Some(0),
        "h" | "1" | "m" | "mid" | "medium" => Some(1),
        "f" | "2" | "high" => Some(2),
        _ => None,
    }
}

/// One incoming RTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Its SSRC.
    pub ssrc: u32,
    /// The receiver it arrives on (keyframe requests are written there).
    pub receiver: RTCRtpReceiverId,
    /// Audio or video.
    pub kind: MediaKind,
    /// Its simulcast layer (0 for audio and non-simulcast video).
    pub layer: Layer,
}

/// How a publisher is asked for a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyframeRequest {
    /// Picture Loss Indication (`a=rtcp-fb:* nack pli`): what browsers negotiate. Also
    /// the choice when neither was negotiated (most senders honour a PLI anyway).
    #[default]
    Pli,
    /// Full Intra Request (`a=rtcp-fb:* ccm fir`), for publishers that did not
    /// negotiate PLI.
    Fir,
}

impl KeyframeRequest {
    /// The choice for a publisher whose video codecs negotiated these RTCP feedback
    /// `(type, parameter)` pairs.
    pub fn from_feedback<'a>(feedback: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let (mut pli, mut fir) = (false, false);
        for (typ, parameter) in feedback {
            pli |= typ == "nack" && parameter == "pli";
            fir |= typ == "ccm" && parameter == "fir";
        }
        if fir && !pli { KeyframeRequest::Fir } else { KeyframeRequest::Pli }
    }
}

/// The sources of one publisher (a handful: audio plus up to three video layers, so a
/// linear scan beats any map).
#[derive(Debug, Default)]
pub struct PublisherLeg {
    sources: Vec<Source>,
    /// How keyframes are requested.
    pub keyframe_request: KeyframeRequest,
    /// The last FIR command sequence number used (RFC 5104 §4.3.1.1: one more per new
    /// request).
    fir_seq: u8,
}

/// At most this many sources are kept (audio plus [`MAX_LAYERS`] video layers, with room
/// for a second audio track): a publisher cannot make the per-packet scan long.
const MAX_SOURCES: usize = 8;

impl PublisherLeg {
    /// A new SSRC announced itself; returns its layer (`None` if refused: too many).
    pub fn open(&mut self, ssrc: u32, receiver: RTCRtpReceiverId, kind: MediaKind, rid: Option<&str>) -> Option<Layer> {
        if let Some(known) = self.source(ssrc) {
            return Some(known.layer);
        }
        if self.sources.len() >= MAX_SOURCES {
            return None;
        }
        let layer = match (kind, rid.filter(|r| !r.is_empty())) {
            (MediaKind::Audio, _) | (MediaKind::Video, None) => 0,
            (MediaKind::Video, Some(rid)) => layer_of_rid(rid).unwrap_or_else(|| {
                let taken = |l: Layer| self.sources.iter().any(|s| s.kind == MediaKind::Video && s.layer == l);
                (0..MAX_LAYERS as Layer).find(|&l| !taken(l)).unwrap_or(MAX_LAYERS as Layer - 1)
            }),
        };
        self.sources.push(Source { ssrc, receiver, kind, layer });
        Some(layer)
    }

    /// A leg asking for keyframes with `keyframe_request`.
    pub fn new(keyframe_request: KeyframeRequest) -> Self {
        PublisherLeg { keyframe_request, ..Default::default() }
    }

    /// The sequence number for the next FIR.
    pub fn next_fir_seq(&mut self) -> u8 {
        self.fir_seq = self.fir_seq.wrapping_add(1);
        self.fir_seq
    }

    /// The source with this SSRC.
    pub fn source(&self, ssrc: u32) -> Option<&Source> {
        self.sources.iter().find(|s| s.ssrc == ssrc)
    }

    /// Where a keyframe request for video `layer` goes: the layer's own SSRC, or, if that
    /// layer never arrived, the nearest lower one (then higher).
    pub fn keyframe_target(&self, layer: Layer) -> Option<Source> {
        let video = || self.sources.iter().filter(|s| s.kind == MediaKind::Video);
        video()
            .find(|s| s.layer == layer)
            .or_else(|| video().filter(|s| s.layer < layer).max_by_key(|s| s.layer))
            .or_else(|| video().min_by_key(|s| s.layer))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> RTCRtpReceiverId {
        RTCRtpReceiverId::default()
    }

    #[test]
    fn rid_names_map_to_layers_lowest_first() {
        for (rid, layer) in
            [("q", 0), ("h", 1), ("f", 2), ("0", 0), ("1", 1), ("2", 2), ("low", 0), ("MID", 1), ("high", 2)]
        {
            assert_eq!(layer_of_rid(rid), Some(layer), "{rid}");
        }
        assert_eq!(layer_of_rid("hd"), None);
    }

    #[test]
    fn sources_get_layers_and_keyframe_targets() {
        let mut leg = PublisherLeg::default();
        assert_eq!(leg.open(10, receiver(), MediaKind::Audio, None), Some(0));
        assert_eq!(leg.open(21, receiver(), MediaKind::Video, Some("f")), Some(2));
        assert_eq!(leg.open(20, receiver(), MediaKind::Video, Some("q")), Some(0));
        assert_eq!(leg.open(21, receiver(), MediaKind::Video, Some("f")), Some(2), "announced twice");
        assert_eq!(leg.source(20).map(|s| s.layer), Some(0));
        assert_eq!(leg.keyframe_target(2).map(|s| s.ssrc), Some(21));
        assert_eq!(leg.keyframe_target(1).map(|s| s.ssrc), Some(20), "missing layer: nearest lower");
        assert_eq!(leg.source(99), None);
    }

    #[test]
    fn fir_only_where_pli_is_not_negotiated() {
        let browser = [("goog-remb", ""), ("ccm", "fir"), ("nack", ""), ("nack", "pli")];
        assert_eq!(KeyframeRequest::from_feedback(browser), KeyframeRequest::Pli);
        assert_eq!(KeyframeRequest::from_feedback([("ccm", "fir"), ("nack", "")]), KeyframeRequest::Fir);
        assert_eq!(KeyframeRequest::from_feedback([("nack", "")]), KeyframeRequest::Pli, "neither: PLI");
        let mut leg = PublisherLeg::new(KeyframeRequest::Fir);
        assert_eq!((leg.next_fir_seq(), leg.next_fir_seq()), (1, 2), "a new number per request");
    }

    #[test]
    fn unknown_rids_take_free_layers_in_arrival_order() {
        let mut leg = PublisherLeg::default();
        assert_eq!(leg.open(1, receiver(), MediaKind::Video, Some("small")), Some(0));
        assert_eq!(leg.open(2, receiver(), MediaKind::Video, Some("big")), Some(1));
        assert_eq!(leg.open(3, receiver(), MediaKind::Video, Some("huge")), Some(2));
        assert_eq!(leg.open(4, receiver(), MediaKind::Video, Some("more")), Some(2), "clamped");
        for ssrc in 5..20 {
            leg.open(ssrc, receiver(), MediaKind::Audio, None);
        }
        assert_eq!(leg.sources.len(), MAX_SOURCES, "bounded");
    }
}

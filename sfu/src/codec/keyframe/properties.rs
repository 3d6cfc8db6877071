//! Properties of [`starts_keyframe`]: any bytes are answered without a panic, and the
//! detector reads keyframes exactly where the payload formats put them — on the
//! synthetic VP8 builder's payloads and on VP8 descriptors and H.264 packetisations of
//! every shape.

use proptest::prelude::*;

use super::*;
use crate::codec::synthetic::vp8_payload;

const CODECS: [Codec; 5] = [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1, Codec::Opus];

/// A VP8 payload descriptor (RFC 7741 §4.2) with every optional field chosen, then a
/// frame tag with the P bit given, then some bytes.
#[derive(Debug, Clone)]
struct Vp8Descriptor {
    start: bool,
    partition: u8,
    picture_id: Option<(bool, u16)>,
    tl0: Option<u8>,
    tid_keyidx: Option<(bool, bool, u8)>,
    inter: bool,
    rest: Vec<u8>,
}

impl Vp8Descriptor {
    fn bytes(&self) -> Vec<u8> {
        let extended = self.picture_id.is_some() || self.tl0.is_some() || self.tid_keyidx.is_some();
        let mut p = vec![u8::from(extended) << 7 | u8::from(self.start) << 4 | (self.partition & 0x07)];
        if extended {
            p.push(0); // the extension byte: I, L, T and K set below
        }
        if let Some((long, id)) = self.picture_id {
            p[1] |= 0x80;
            if long {
                p.extend_from_slice(&[0x80 | ((id >> 8) as u8 & 0x7F), id as u8]);
            } else {
                p.push(id as u8 & 0x7F);
            }
        }
        if let Some(tl0) = self.tl0 {
            p[1] |= 0x40;
            p.push(tl0);
        }
        if let Some((t, k, byte)) = self.tid_keyidx {
            p[1] |= u8::from(t) << 5 | u8::from(k || !t) << 4;
            p.push(byte);
        }
        p.push(u8::from(self.inter) | 0x10);
        p.extend_from_slice(&self.rest);
        p
    }

    fn is_keyframe(&self) -> bool {
        self.start && self.partition & 0x07 == 0 && !self.inter
    }
}

fn vp8_descriptor() -> impl Strategy<Value = Vp8Descriptor> {
    (
        any::<bool>(),
        prop_oneof![3 => Just(0u8), 1 => 0..8u8],
        any::<Option<(bool, u16)>>(),
        any::<Option<u8>>(),
        any::<Option<(bool, bool, u8)>>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(start, partition, picture_id, tl0, tid_keyidx, inter, rest)| Vp8Descriptor {
            start,
            partition,
            picture_id,
            tl0,
            tid_keyidx,
            inter,
            rest,
        })
}

/// One H.264 NAL unit: header byte (F=0, NRI, type 1..=23) and a body.
fn nal() -> impl Strategy<Value = Vec<u8>> {
    (0..4u8, 1..=23u8, prop::collection::vec(any::<u8>(), 0..12)).prop_map(|(nri, kind, body)| {
        let mut nal = vec![nri << 5 | kind];
        nal.extend(body);
        nal
    })
}

fn is_key_nal(nal: &[u8]) -> bool {
    matches!(nal[0] & 0x1F, 5 | 7)
}

/// An RTP payload of H.264 (RFC 6184 §5) and whether it starts a keyframe: a single NAL
/// unit, a STAP-A of several, or an FU-A fragment of one.
fn h264_payload() -> impl Strategy<Value = (Vec<u8>, bool)> {
    prop_oneof![
        nal().prop_map(|nal| {
            let key = is_key_nal(&nal);
            (nal, key)
        }),
        prop::collection::vec(nal(), 1..5).prop_map(|nals| {
            let key = nals.iter().any(|n| is_key_nal(n));
            let mut p = vec![24];
            for nal in nals {
                p.extend_from_slice(&(nal.len() as u16).to_be_bytes());
                p.extend(nal);
            }
            (p, key)
        }),
        (nal(), any::<bool>(), any::<bool>()).prop_map(|(nal, start, end)| {
            let key = start && is_key_nal(&nal);
            let mut p =
                vec![(nal[0] & 0xE0) | 28, u8::from(start) << 7 | u8::from(end && !start) << 6 | (nal[0] & 0x1F)];
            p.extend_from_slice(&nal[1..]);
            (p, key)
        }),
    ]
}

proptest! {
    #[test]
    fn any_bytes_are_answered_without_panicking(payload in prop::collection::vec(any::<u8>(), 0..1500)) {
        for codec in CODECS {
            let _ = starts_keyframe(codec, &payload);
        }
        prop_assert!(!starts_keyframe(Codec::Opus, &payload), "audio has no keyframes");
    }

    #[test]
    fn the_detector_agrees_with_the_synthetic_vp8_builder(
        picture_id in any::<u16>(),
        first in any::<bool>(),
        keyframe in any::<bool>(),
        size in 0..1400usize,
        fill in any::<u8>(),
    ) {
        let payload = vp8_payload(picture_id, first, keyframe, size, fill);
        prop_assert_eq!(starts_keyframe(Codec::Vp8, &payload), first && keyframe);
    }

    #[test]
    fn a_synthetic_vp8_keyframe_cut_before_its_frame_tag_is_not_a_keyframe(
        picture_id in any::<u16>(),
        size in 0..200usize,
        cut in 0..200usize,
    ) {
        let payload = vp8_payload(picture_id, true, true, size, 0);
        let cut = cut.min(payload.len());
        // Four descriptor bytes (X, extension, 15-bit picture id), then the frame tag.
        prop_assert_eq!(starts_keyframe(Codec::Vp8, &payload[..cut]), cut > 4);
    }

    #[test]
    fn vp8_keyframes_are_read_through_every_descriptor_shape(descriptor in vp8_descriptor()) {
        prop_assert_eq!(starts_keyframe(Codec::Vp8, &descriptor.bytes()), descriptor.is_keyframe(), "{:?}", descriptor);
    }

    #[test]
    fn h264_keyframes_are_read_through_every_packetisation((payload, key) in h264_payload()) {
        prop_assert_eq!(starts_keyframe(Codec::H264, &payload), key, "{:02x?}", payload);
    }
}

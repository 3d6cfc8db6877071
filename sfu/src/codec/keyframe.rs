//! Does an RTP payload start a keyframe? Read from the payload descriptor and the first
//! bytes of the codec's own header, never by decoding. Payloads come from the network:
//! every function here accepts any bytes and answers `false` for anything short or odd.

use super::Codec;

/// Whether `payload` (an RTP payload of `codec`) is the first packet of a keyframe
/// (for H.264: of an access unit carrying SPS or an IDR slice).
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8(payload),
        Codec::Vp9 => vp9(payload),
        Codec::H264 => h264(payload),
        Codec::Av1 => av1(payload),
        Codec::Opus => false,
    }
}

/// RFC 7741 §4.2–4.3: descriptor `X R N S R PID`, optional extension bytes, then for
/// the first packet of partition 0 the VP8 frame tag, whose lowest bit is 0 on
/// keyframes.
fn vp8(p: &[u8]) -> bool {
    let Some(&first) = p.first() else { return false };
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x07;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        let Some(&ext) = p.get(at) else { return false };
        at += 1;
        if ext & 0x80 != 0 {
            // PictureID: 7 bits, or 15 when its first bit (M) is set.
            let Some(&pic) = p.get(at) else { return false };
            at += if pic & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            at += 1; // TID / Y / KEYIDX
        }
    }
    p.get(at).is_some_and(|tag| tag & 0x01 == 0)
}

/// RFC 9628 §4.2: descriptor `I P L F B E V Z`; a keyframe starts where the frame
/// begins (B), is not inter-predicted (P clear) and, with layer indices, is the base
/// spatial layer.
fn vp9(p: &[u8]) -> bool {
    let Some(&first) = p.first() else { return false };
    let inter_predicted = first & 0x40 != 0;
    let begins_frame = first & 0x08 != 0;
    if inter_predicted || !begins_frame {
        return false;
    }
    if first & 0x20 == 0 {
        return true;
    }
    let mut at = 1;
    if first & 0x80 != 0 {
        let Some(&pic) = p.get(at) else { return false };
        at += if pic & 0x80 != 0 { 2 } else { 1 };
    }
    // Layer indices: TID(3) U(1) SID(3) D(1).
    p.get(at).is_some_and(|layer| (layer >> 1) & 0x07 == 0)
}

/// NAL unit types that make an access unit decodable on its own.
fn h264_key_nal(nal_type: u8) -> bool {
    nal_type == 5 || nal_type == 7
}

/// RFC 6184 §5: a single NAL unit, a STAP-A aggregate, or the first fragment of an
/// FU-A, holding an IDR slice (5) or a sequence parameter set (7).
fn h264(p: &[u8]) -> bool {
    let Some(&header) = p.first() else { return false };
    match header & 0x1F {
        1..=23 => h264_key_nal(header & 0x1F),
        24 => {
            // STAP-A: [16-bit size][NAL]… after the one-byte header.
            let mut at = 1;
            while let (Some(&hi), Some(&lo)) = (p.get(at), p.get(at + 1)) {
                let size = usize::from(u16::from_be_bytes([hi, lo]));
                if size == 0 || at + 2 + size > p.len() {
                    return false; // a malformed aggregate is not trusted
                }
                match p.get(at + 2) {
                    Some(&nal) => {
                        if h264_key_nal(nal & 0x1F) {
                            return true;
                        }
                    }
                    _ => return false,
                }
                at += 2 + size;
            }
            false
        }
        28 => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && h264_key_nal(fu & 0x1F)),
        _ => false,
    }
}

/// AV1 RTP payload format §4.4: the aggregation header's N bit marks the first packet
/// of a coded video sequence, which starts with a keyframe.
fn av1(p: &[u8]) -> bool {
    p.first().is_some_and(|agg| agg & 0x08 != 0)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframes_and_delta_frames() {
        // S=1, PID=0, no extension; frame tag 0x10 (P bit clear) = keyframe.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x10, 0x02, 0x00]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x11, 0x02, 0x00]), "P bit set: delta frame");
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x10]), "not the start of a partition");
        // X=1 with I (15-bit picture id), L and T: descriptor is 6 bytes.
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x50]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x51]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0xE0, 0x81]), "truncated");
    }

    #[test]
    fn h264_idr_sps_stap_a_and_fu_a() {
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]), "IDR slice");
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]), "SPS");
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]), "non-IDR slice");
        let stap = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce];
        assert!(starts_keyframe(Codec::H264, &stap));
        let stap_no_key = [0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a];
        assert!(!starts_keyframe(Codec::H264, &stap_no_key));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0x00, 0x09, 0x67]), "size past the end");
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x00]), "FU-A start of IDR");
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x00]), "FU-A middle of IDR");
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x81, 0x00]), "FU-A start of non-IDR");
    }

    #[test]
    fn vp9_and_av1() {
        assert!(starts_keyframe(Codec::Vp9, &[0x08]), "B set, P clear");
        assert!(!starts_keyframe(Codec::Vp9, &[0x48]), "inter-predicted");
        assert!(!starts_keyframe(Codec::Vp9, &[0x00]), "not the frame start");
        assert!(starts_keyframe(Codec::Vp9, &[0xA8, 0x05, 0x00]), "with picture id and base layer");
        assert!(!starts_keyframe(Codec::Vp9, &[0xA8, 0x05, 0x02]), "spatial layer 1");
        assert!(starts_keyframe(Codec::Av1, &[0x18]));
        assert!(!starts_keyframe(Codec::Av1, &[0x10]));
        assert!(!starts_keyframe(Codec::Opus, &[0xff]));
    }

    #[test]
    fn any_bytes_are_safe() {
        // A deterministic sweep of short payloads: no panic, whatever the bytes.
        let mut state = 0x1234_5678u32;
        for len in 0..24 {
            for _ in 0..2_000 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        state.to_le_bytes()[0]
                    })
                    .collect();
                for codec in [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1, Codec::Opus] {
                    let _ = starts_keyframe(codec, &bytes);
                }
            }
        }
        assert_eq!(Codec::from_mime_name("video/VP8"), Some(Codec::Vp8));
        assert_eq!(Codec::from_mime_name("opus"), Some(Codec::Opus));
        assert_eq!(Codec::from_mime_name("video/rtx"), None);
    }
}

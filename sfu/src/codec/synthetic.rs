//! Synthetic VP8 RTP payloads, for tests and the load generator: valid RFC 7741
//! payload descriptors that [`super::keyframe::starts_keyframe`] reads exactly as it reads
//! a browser's, with no real picture behind them.

/// One VP8 RTP payload of `size` bytes (at least the headers plus one byte): descriptor
/// with X=1, S on a frame's `first` packet, PartID 0 and a 15-bit PictureID; on the first
/// packet the VP8 frame tag (P bit clear on keyframes), and for keyframes the start code
/// and a 640×360 size; then `fill` bytes.
pub fn vp8_payload(picture_id: u16, first: bool, keyframe: bool, size: usize, fill: u8) -> Vec<u8> {
    let [pid_high, pid_low] = picture_id.to_be_bytes();
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(&[if first { 0x90 } else { 0x80 }, 0x80, 0x80 | (pid_high & 0x7F), pid_low]);
    if first {
        // Frame tag: show_frame = 1, version 0, P = 0 for keyframes, 1 for delta frames.
        p.extend_from_slice(&[if keyframe { 0x10 } else { 0x11 }, 0x02, 0x00]);
        if keyframe {
            // Start code, then width 640 and height 360 (14 bits each, little-endian).
            p.extend_from_slice(&[0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]);
        }
    }
    p.resize(size.max(p.len() + 1), fill);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;
    use crate::codec::keyframe::starts_keyframe;

    #[test]
    fn the_keyframe_detector_reads_synthetic_payloads_right() {
        let key = vp8_payload(300, true, true, 100, 0xA5);
        assert_eq!(&key[..4], &[0x90, 0x80, 0x81, 0x2C]);
        assert_eq!(key.len(), 100);
        assert!(starts_keyframe(Codec::Vp8, &key));
        assert!(!starts_keyframe(Codec::Vp8, &vp8_payload(300, true, false, 100, 0)));
        assert!(!starts_keyframe(Codec::Vp8, &vp8_payload(300, false, true, 100, 0)));
        assert_eq!(vp8_payload(1, true, true, 1, 0).len(), 15, "never shorter than its headers plus one byte");
    }
}

//! A synthetic VP8 source: RTP payloads with valid RFC 7741 payload descriptors, a
//! keyframe every [`GOP_FRAMES`] frames, and a send timestamp in the last 8 bytes of
//! every payload so that a viewer in the same process can measure forwarding delay.

/// Frames per second.
pub const FPS: u32 = 30;
/// A keyframe every this many frames (2 s at 30 fps).
pub const GOP_FRAMES: u32 = 60;
/// Packets in a keyframe.
pub const KEYFRAME_PACKETS: usize = 15;
/// Packets in a delta frame.
pub const DELTA_PACKETS: usize = 5;
/// Bytes of every RTP payload (descriptor, frame header if any, filler, timestamp).
pub const PAYLOAD_BYTES: usize = 1_250;
/// RTP clock rate of video.
pub const CLOCK_RATE: u32 = 90_000;

/// Average packets per second this source sends: (15 + 59 × 5) / 2 s = 155.
pub fn packets_per_second() -> f64 {
    let per_gop = KEYFRAME_PACKETS + DELTA_PACKETS * (GOP_FRAMES as usize - 1);
    per_gop as f64 * f64::from(FPS) / f64::from(GOP_FRAMES)
}

/// Whether frame number `frame` is a keyframe.
pub fn is_keyframe(frame: u32) -> bool {
    frame.is_multiple_of(GOP_FRAMES)
}

/// Packets in frame number `frame`.
pub fn packets_in_frame(frame: u32) -> usize {
    if is_keyframe(frame) { KEYFRAME_PACKETS } else { DELTA_PACKETS }
}

/// One RTP payload: the VP8 payload descriptor (X=1, S on the frame's first packet,
/// PartID 0, I=1 with a 15-bit PictureID), on the first packet the 3-byte frame tag
/// (keyframes also the start code and a 640×360 size), filler, and `sent_nanos`
/// big-endian in the last 8 bytes.
pub fn payload(picture_id: u16, first: bool, keyframe: bool, sent_nanos: u64) -> Vec<u8> {
    let mut p = myvid_sfu::codec::synthetic::vp8_payload(picture_id, first, keyframe, PAYLOAD_BYTES - 8, 0xA5);
    p.extend_from_slice(&sent_nanos.to_be_bytes());
    p
}

/// The send timestamp [`payload`] put in the last 8 bytes, if the payload is long enough.
pub fn sent_nanos(payload: &[u8]) -> Option<u64> {
    let tail = payload.len().checked_sub(8).map(|start| &payload[start..])?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Whether an RTP payload starts a VP8 keyframe (the SFU's own detector).
pub fn starts_keyframe(payload: &[u8]) -> bool {
    myvid_sfu::codec::keyframe::starts_keyframe(myvid_sfu::codec::Codec::Vp8, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_about_150_packets_and_1_5_mbit() {
        let pps = packets_per_second();
        assert!((150.0..160.0).contains(&pps), "{pps}");
        let mbit = pps * PAYLOAD_BYTES as f64 * 8.0 / 1e6;
        assert!((1.4..1.7).contains(&mbit), "{mbit}");
    }

    #[test]
    fn keyframe_every_two_seconds() {
        assert!(is_keyframe(0) && is_keyframe(60) && !is_keyframe(1) && !is_keyframe(59));
        assert_eq!(GOP_FRAMES / FPS, 2);
        assert_eq!(packets_in_frame(0), KEYFRAME_PACKETS);
        assert_eq!(packets_in_frame(7), DELTA_PACKETS);
    }

    #[test]
    fn descriptor_and_keyframe_detection() {
        let key = payload(300, true, true, 1);
        assert_eq!(&key[..4], &[0x90, 0x80, 0x81, 0x2C]);
        assert!(starts_keyframe(&key));
        assert_eq!(&key[7..10], &[0x9D, 0x01, 0x2A]);
        assert!(!starts_keyframe(&payload(300, true, false, 1)));
        assert!(!starts_keyframe(&payload(300, false, true, 1)));
        assert!(!starts_keyframe(&[]));
    }

    #[test]
    fn timestamp_round_trips_and_size_is_fixed() {
        for (first, key) in [(true, true), (true, false), (false, false)] {
            let p = payload(5, first, key, 0x0102_0304_0506_0708);
            assert_eq!(p.len(), PAYLOAD_BYTES);
            assert_eq!(sent_nanos(&p), Some(0x0102_0304_0506_0708));
        }
        assert_eq!(sent_nanos(&[1, 2, 3]), None);
    }
}

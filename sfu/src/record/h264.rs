//! H.264 for the recorder: rtc's depacketizer in AVC form (each NAL unit prefixed by its
//! 4-byte length, as Matroska and MP4 store it), made safe against loss, and the
//! `AVCDecoderConfigurationRecord` a Matroska track needs, taken from a keyframe's own
//! parameter sets.

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;

/// NAL unit types (ITU-T H.264 table 7-1; RFC 6184 §5.4 for FU-A).
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_FU_A: u8 = 28;

/// rtc's H.264 depacketizer writing length-prefixed NAL units. rtc keeps the pieces of a
/// fragmented NAL unit (FU-A) until its end; when that end is lost, the pieces would be
/// glued onto the next fragmented unit, so each FU-A start begins afresh.
#[derive(Debug)]
pub struct AvcDepacketizer(H264Packet);

impl Default for AvcDepacketizer {
    fn default() -> Self {
        let mut packet = H264Packet::default();
        packet.is_avc = true;
        AvcDepacketizer(packet)
    }
}

impl Depacketizer for AvcDepacketizer {
    fn depacketize(&mut self, payload: &Bytes) -> rtc::shared::error::Result<Bytes> {
        let fu_a_start = payload.len() >= 2 && payload[0] & 0x1f == NAL_FU_A && payload[1] & 0x80 != 0;
        if fu_a_start {
            *self = AvcDepacketizer::default();
        }
        self.0.depacketize(payload)
    }

    fn is_partition_head(&self, payload: &Bytes) -> bool {
        self.0.is_partition_head(payload)
    }

    fn is_partition_tail(&self, marker: bool, payload: &Bytes) -> bool {
        self.0.is_partition_tail(marker, payload)
    }
}

/// The NAL units of a length-prefixed access unit (stops at the first bad length).
pub fn nal_units(frame: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = frame;
    std::iter::from_fn(move || {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if len == 0 || len > tail.len() {
            rest = &[];
            return None;
        }
        let (unit, next) = tail.split_at(len);
        rest = next;
        Some(unit)
    })
}

/// The `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3.1) of the first SPS and
/// the PPSs in a length-prefixed access unit, or `None` if it carries no SPS or no PPS.
pub fn avc_config(frame: &[u8]) -> Option<Vec<u8>> {
    let sps = nal_units(frame).find(|u| u[0] & 0x1f == NAL_SPS && u.len() >= 4)?;
    let ppss: Vec<&[u8]> = nal_units(frame).filter(|u| u[0] & 0x1f == NAL_PPS).take(31).collect();
    if ppss.is_empty() {
        return None;
    }
    let mut record = vec![1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | 1];
    push_unit(&mut record, sps)?;
    record.push(u8::try_from(ppss.len()).ok()?);
    for pps in ppss {
        push_unit(&mut record, pps)?;
    }
    Some(record)
}

/// Appends `unit` with its 16-bit length, as the record stores parameter sets.
fn push_unit(record: &mut Vec<u8>, unit: &[u8]) -> Option<()> {
    record.extend_from_slice(&u16::try_from(unit.len()).ok()?.to_be_bytes());
    record.extend_from_slice(unit);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avc(units: &[&[u8]]) -> Vec<u8> {
        units.iter().flat_map(|u| (u.len() as u32).to_be_bytes().into_iter().chain(u.iter().copied())).collect()
    }

    #[test]
    fn the_config_record_holds_the_profile_and_the_parameter_sets() {
        let sps: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
        let pps: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
        let idr: &[u8] = &[0x65, 0x88, 0x84];
        let record = avc_config(&avc(&[sps, pps, idr])).unwrap();
        let mut expected = vec![1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 6];
        expected.extend_from_slice(sps);
        expected.extend_from_slice(&[1, 0, 4]);
        expected.extend_from_slice(pps);
        assert_eq!(record, expected);
        assert_eq!(avc_config(&avc(&[pps, idr])), None, "no SPS");
        assert_eq!(avc_config(&avc(&[sps, idr])), None, "no PPS");
    }

    #[test]
    fn a_bad_length_ends_the_units() {
        let mut frame = avc(&[&[0x65, 1, 2]]);
        frame.extend_from_slice(&[0, 0, 0, 9, 0x41]);
        assert_eq!(nal_units(&frame).count(), 1);
        assert_eq!(nal_units(&[0, 0]).count(), 0);
    }

    #[test]
    fn a_lost_fragment_end_is_not_glued_onto_the_next_unit() {
        let mut depacketizer = AvcDepacketizer::default();
        // FU-A of an IDR (type 5): start, then its end is lost
        let start = Bytes::from_static(&[0x7c, 0x85, 0xaa, 0xbb]);
        assert!(depacketizer.depacketize(&start).unwrap().is_empty());
        // a whole new fragmented unit: start and end
        let next_start = Bytes::from_static(&[0x7c, 0x81, 0x01]);
        let next_end = Bytes::from_static(&[0x7c, 0x41, 0x02]);
        assert!(depacketizer.depacketize(&next_start).unwrap().is_empty());
        let unit = depacketizer.depacketize(&next_end).unwrap();
        assert_eq!(&unit[..], &[0, 0, 0, 3, 0x61, 0x01, 0x02], "length 3: header, then only its own pieces");
    }
}

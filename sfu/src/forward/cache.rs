//! A fixed-size cache of recent publisher packets per layer, so that a viewer's NACK
//! can be answered without asking the publisher.

use super::packet::InPacket;

/// Packets kept per layer. 1,024 covers about 3 s of a 2.5 Mbit/s layer at ~300
/// packets/s: longer than any useful retransmission (a viewer's jitter buffer gives up
/// on a packet after a few hundred milliseconds).
pub const CACHE_PACKETS: usize = 1024;

/// A ring of the last [`CACHE_PACKETS`] packets, indexed by sequence number.
#[derive(Debug)]
pub struct PacketCache {
    slots: Vec<Option<InPacket>>,
}

impl Default for PacketCache {
    fn default() -> Self {
        PacketCache { slots: vec![None; CACHE_PACKETS] }
    }
}

impl PacketCache {
    /// Stores a packet, replacing whatever held its slot.
    pub fn insert(&mut self, packet: &InPacket) {
        let slot = usize::from(packet.seq) % CACHE_PACKETS;
        self.slots[slot] = Some(packet.clone());
    }

    /// The packet with sequence number `seq`, if it is still cached.
    pub fn get(&self, seq: u16) -> Option<&InPacket> {
        self.slots[usize::from(seq) % CACHE_PACKETS].as_ref().filter(|p| p.seq == seq)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::forward::packet::MediaKind;

    fn packet(seq: u16) -> InPacket {
        InPacket {
            kind: MediaKind::Video,
            layer: 0,
            seq,
            timestamp: 0,
            marker: false,
            payload_type: 96,
            keyframe: false,
            payload: Bytes::from(vec![seq as u8]),
        }
    }

    #[test]
    fn keeps_recent_packets_and_forgets_overwritten_ones() {
        let mut cache = PacketCache::default();
        for seq in 65_000..=65_535u16 {
            cache.insert(&packet(seq));
        }
        for seq in 0..600u16 {
            cache.insert(&packet(seq));
        }
        assert_eq!(cache.get(599).unwrap().seq, 599);
        assert_eq!(cache.get(65_535).unwrap().seq, 65_535, "survives wrap-around");
        assert!(cache.get(65_000).is_none(), "overwritten by a newer packet in its slot");
        assert!(cache.get(1_000).is_none(), "never seen");
    }
}

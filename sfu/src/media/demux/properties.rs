//! Properties of the shared-socket demultiplexer on datagrams from anyone: only STUN
//! (first byte 0–3, RFC 7983 §7) is ever read for a ufrag, any bytes are answered
//! without a panic, a real binding request names its ufrag, and no datagram makes the
//! table learn more than its bound.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;

use super::tests::binding_request;
use super::*;

/// ICE ufrags: 4–256 characters of `ice-char` (RFC 8839 §5.4); short here.
fn ufrag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/]{1,40}"
}

/// Datagrams of every kind the port sees: garbage, STUN-looking headers with garbage
/// attributes, and real binding requests.
fn datagram(ufrags: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        (0..4u8, any::<u16>(), prop::collection::vec(any::<u8>(), 0..120)).prop_map(|(first, len, rest)| {
            let mut d = vec![first, 0x01];
            d.extend_from_slice(&len.to_be_bytes());
            d.extend_from_slice(&MAGIC_COOKIE);
            d.extend_from_slice(&[7; 12]);
            d.extend(rest);
            d
        }),
        (prop::sample::select(ufrags), ufrag()).prop_map(|(ours, theirs)| binding_request(&format!("{ours}:{theirs}"))),
    ]
}

fn address() -> impl Strategy<Value = SocketAddr> {
    (any::<[u8; 4]>(), 1..4u16).prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port))
}

const UFRAGS: &[&str] = &["ua", "ub", "uc", "nobody"];

proptest! {
    #[test]
    fn only_datagrams_whose_first_byte_is_0_to_3_are_read_as_stun(
        first in 4..=255u8,
        rest in prop::collection::vec(any::<u8>(), 0..200),
        ufrag in ufrag(),
    ) {
        let mut datagram = vec![first];
        datagram.extend(rest);
        prop_assert_eq!(stun_local_ufrag(&datagram), None);
        // Even a real binding request, once its first byte says DTLS, RTP or anything else.
        let mut request = binding_request(&format!("{ufrag}:x"));
        request[0] = first;
        prop_assert_eq!(stun_local_ufrag(&request), None);
    }

    #[test]
    fn any_bytes_are_answered_without_panicking(datagram in datagram(UFRAGS)) {
        if let Some(ufrag) = stun_local_ufrag(&datagram) {
            prop_assert!(datagram[0] <= 3 && !ufrag.is_empty() && !ufrag.contains(':'));
        }
    }

    #[test]
    fn a_binding_request_names_its_local_ufrag(ours in ufrag(), theirs in ufrag()) {
        let request = binding_request(&format!("{ours}:{theirs}"));
        prop_assert_eq!(stun_local_ufrag(&request), Some(ours.as_str()));
        // Cut anywhere inside its attributes, it names nothing (or, cut in the
        // padding, the same ufrag): never a wrong one.
        for cut in 20..request.len() {
            let named = stun_local_ufrag(&request[..cut]);
            prop_assert!(named.is_none() || named == Some(ours.as_str()), "cut at {cut}: {named:?}");
        }
    }

    #[test]
    fn routing_follows_ufrags_and_learns_a_bounded_number_of_addresses(
        traffic in prop::collection::vec((address(), datagram(UFRAGS)), 0..300),
    ) {
        let mut demux = Demux::default();
        let sessions = [(SessionId(1), "ua"), (SessionId(2), "ub"), (SessionId(3), "uc")];
        for (id, ufrag) in sessions {
            demux.add_session(id, ufrag.to_owned());
        }
        for (from, datagram) in traffic {
            let known_before = demux.by_addr.get(&from).copied();
            let routed = demux.route(from, &datagram);
            match stun_local_ufrag(&datagram).and_then(|u| sessions.iter().find(|(_, s)| *s == u)) {
                Some(&(id, _)) => prop_assert_eq!(routed, Some(id)),
                None => prop_assert_eq!(routed, known_before, "only a ufrag teaches an address"),
            }
        }
        for (id, _) in sessions {
            prop_assert!(demux.addrs[&id].len() <= MAX_ADDRESSES_PER_SESSION);
            for addr in &demux.addrs[&id] {
                prop_assert_eq!(demux.by_addr.get(addr), Some(&id), "the two tables agree");
            }
        }
        prop_assert!(demux.by_addr.len() <= sessions.len() * MAX_ADDRESSES_PER_SESSION);
    }
}

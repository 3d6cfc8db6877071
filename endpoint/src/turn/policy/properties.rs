//! Properties of the TURN peer policy: any range text is parsed or refused without a
//! panic, an allowed range allows every address in it (IPv4-mapped ones aside), internal
//! IPv4 addresses are refused by default, and an IPv4-mapped IPv6 address is judged as
//! its IPv4 address (peers are checked with any port; ranges do not look at ports).

use proptest::prelude::*;

use super::*;

/// IPv4 ranges that are never relayed to unless allowed, as (first address, prefix).
const INTERNAL_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 168, 0, 0], 16),
    ([224, 0, 0, 0], 4),
    ([240, 0, 0, 0], 4),
];

/// An address inside one of [`INTERNAL_V4`].
fn internal_v4() -> impl Strategy<Value = Ipv4Addr> {
    (prop::sample::select(INTERNAL_V4), any::<u32>()).prop_map(|((base, prefix), noise)| {
        let host_bits = u32::MAX >> prefix;
        Ipv4Addr::from(u32::from_be_bytes(base) | (noise & host_bits))
    })
}

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![any::<Ipv4Addr>().prop_map(IpAddr::V4), any::<Ipv6Addr>().prop_map(IpAddr::V6)]
}

proptest! {
    #[test]
    fn internal_ipv4_addresses_are_refused_unless_allowed(ip in internal_v4()) {
        prop_assert!(!PeerPolicy::default().allows(SocketAddr::new(IpAddr::V4(ip), 3478)));
        prop_assert!(!PeerPolicy::default().allows(SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), 3478)), "nor when IPv4-mapped");
        let allowing = PeerPolicy::parse(&[format!("{ip}/32")]).unwrap();
        prop_assert!(allowing.allows(SocketAddr::new(IpAddr::V4(ip), 3478)));
    }

    #[test]
    fn an_ipv4_mapped_address_is_judged_as_its_ipv4_address(ip in any::<Ipv4Addr>(), allowed in any_ip(), prefix in 0..=32u8) {
        for policy in [PeerPolicy::default(), PeerPolicy::parse(&[format!("{allowed}/{prefix}")]).unwrap_or_default()] {
            prop_assert_eq!(policy.allows(SocketAddr::new(IpAddr::V4(ip), 3478)), policy.allows(SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), 3478)));
        }
    }

    #[test]
    fn an_allowed_range_allows_every_address_in_it(ip in any_ip(), prefix in 0..=128u8, spaces in "[ \t]{0,2}") {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let text = format!("{spaces}{ip}/{prefix}{spaces}");
        match PeerPolicy::parse(&[text]) {
            Ok(policy) => {
                prop_assert!(prefix <= max);
                // An IPv4-mapped address is judged as IPv4 against IPv4 ranges, so a
                // range written in mapped form allows nothing (it fails closed).
                let mapped = matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
                prop_assert!(mapped || policy.allows(SocketAddr::new(ip, 3478)));
            }
            Err(_) => prop_assert!(prefix > max),
        }
    }

    #[test]
    fn any_range_text_is_parsed_or_refused_without_panicking(
        ranges in prop::collection::vec(prop_oneof![any::<String>(), "[0-9a-f:./]{0,45}"], 0..4),
        ip in any_ip(),
    ) {
        if let Ok(policy) = PeerPolicy::parse(&ranges) {
            let _ = policy.allows(SocketAddr::new(ip, 3478));
        }
    }
}

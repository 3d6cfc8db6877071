//! Which peer addresses a TURN allocation may talk to.
//!
//! A TURN server relays to any address its clients name, so an open one lets anyone
//! on the Internet reach the server's own loopback services and the private network
//! behind it. The policy refuses every address that is not globally routable —
//! loopback, RFC 1918 and unique-local, link-local, unspecified, CGNAT (100.64/10),
//! multicast, broadcast and reserved, also when written as IPv4-mapped IPv6 — unless
//! the operator allows a range explicitly (`turn.allow_peer_ranges`), or the peer is
//! exactly the media socket of a registered SFU ([`SfuPeers`], kept from the server
//! registry: what makes `myvid dev`, with its SFU on loopback, work out of the box).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

use super::sfu_peers::SfuPeers;

/// The peer address policy of one TURN server. No I/O; cheap to share. The SFU media
/// addresses are a shared set that changes as SFUs come and go.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    allowed: Vec<IpNet>,
    sfus: SfuPeers,
}

/// A range in `allow_peer_ranges` that is not CIDR notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a CIDR range such as 127.0.0.0/8 or fd00::/8")]
pub struct BadRange(pub String);

impl PeerPolicy {
    /// A policy that also allows the addresses in `allowed`.
    pub fn new(allowed: Vec<IpNet>) -> Self {
        PeerPolicy { allowed, sfus: SfuPeers::default() }
    }

    /// The same policy, also allowing exactly the SFU media sockets in `sfus` (keep a
    /// clone of it to update the set).
    pub fn with_sfu_peers(self, sfus: SfuPeers) -> Self {
        PeerPolicy { sfus, ..self }
    }

    /// The SFU media sockets this policy allows (the shared set itself).
    pub fn sfu_peers(&self) -> SfuPeers {
        self.sfus.clone()
    }

    /// A policy from CIDR strings (`127.0.0.0/8`, `fd00::/8`); a bare address counts
    /// as a single-address range.
    pub fn parse<S: AsRef<str>>(ranges: &[S]) -> Result<Self, BadRange> {
        let allowed = ranges
            .iter()
            .map(|range| {
                let range = range.as_ref().trim();
                range
                    .parse::<IpNet>()
                    .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| BadRange(range.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(PeerPolicy::new(allowed))
    }

    /// Whether an allocation may send to, and receive from, `peer`: a globally routable
    /// address, one in the allowed ranges, or exactly a registered SFU's media socket.
    pub fn allows(&self, peer: SocketAddr) -> bool {
        let ip = canonical(peer.ip());
        is_global(ip) || self.allowed.iter().any(|net| net.contains(&ip)) || self.sfus.contains(peer)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) reach the IPv4 host: judge them as
/// IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(a == 0 // "this network", includes 0.0.0.0
        || ip.is_loopback()
        || ip.is_private()
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
        || ip.is_link_local()
        || ip.is_multicast()
        || a >= 240) // 240.0.0.0/4 reserved, includes 255.255.255.255 broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_unique_local() // fc00::/7
        || ip.is_unicast_link_local() // fe80::/10
        || (first & 0xffc0) == 0xfec0 // fec0::/10, deprecated site-local
        || ip.is_multicast())
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(policy: &PeerPolicy, ip: &str) -> bool {
        policy.allows(SocketAddr::new(ip.parse().unwrap(), 40_000))
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let policy = PeerPolicy::default();
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.168.0.1",
        ] {
            assert!(!allows(&policy, ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        let policy = PeerPolicy::default();
        for ip in
            ["8.8.8.8", "203.0.113.7", "100.128.0.1", "172.32.0.1", "2001:db8::1", "2a00:1450::1", "::ffff:8.8.8.8"]
        {
            assert!(allows(&policy, ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn configured_ranges_open_exactly_themselves() {
        let policy = PeerPolicy::parse(&["127.0.0.0/8", "fd00::/8", "10.0.0.5"]).unwrap();
        assert!(allows(&policy, "127.0.0.1"));
        assert!(allows(&policy, "::ffff:127.0.0.1"), "the mapped form of an allowed address");
        assert!(allows(&policy, "fd00::7"));
        assert!(allows(&policy, "10.0.0.5"));
        assert!(!allows(&policy, "10.0.0.6"));
        assert!(!allows(&policy, "192.168.0.1"));
        assert!(!allows(&policy, "::1"));
        // Host bits set are tolerated: 127.0.0.1/8 means 127.0.0.0/8.
        assert!(allows(&PeerPolicy::parse(&["127.0.0.1/8"]).unwrap(), "127.9.9.9"));
    }

    #[test]
    fn sfu_media_sockets_open_exactly_themselves() {
        let sfus = SfuPeers::default();
        let policy = PeerPolicy::default().with_sfu_peers(sfus.clone());
        let sfu: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert!(!policy.allows(sfu), "not before the SFU registers");
        sfus.replace([sfu, "10.0.0.7:40000".parse().unwrap()].into());
        assert!(policy.allows(sfu));
        assert!(policy.allows("[::ffff:127.0.0.1]:40000".parse().unwrap()));
        assert!(policy.allows("10.0.0.7:40000".parse().unwrap()));
        for other in ["127.0.0.1:8080", "127.0.0.1:40001", "10.0.0.7:22", "10.0.0.8:40000", "169.254.169.254:80"] {
            assert!(!policy.allows(other.parse().unwrap()), "{other} must stay refused");
        }
    }

    #[test]
    fn bad_ranges_are_named() {
        for bad in ["", "localhost", "127.0.0.0/33", "10.0.0.0/8/8", "fd00::/129"] {
            assert_eq!(PeerPolicy::parse(&[bad]).unwrap_err(), BadRange(bad.to_owned()), "{bad:?}");
        }
    }
}

//! Which session a datagram on the shared socket belongs to.
//!
//! Every session has its own ICE username fragment. A client's first packet is a STUN
//! binding request whose USERNAME is `<our ufrag>:<their ufrag>` (RFC 8445 §7.2.2): that
//! names the session, and the source address is remembered. Everything after (DTLS, SRTP,
//! SRTCP, more STUN) is routed by source address alone.
//!
//! ```text
//!  datagram(from) ─▶ STUN with USERNAME? ─yes─▶ ufrag → session; remember from → session
//!                          │ no
//!                          ▼
//!                    from → session (or dropped: nobody we know)
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;

use super::event::SessionId;

/// STUN's magic cookie (RFC 5389 §6): tells STUN apart from the other protocols
/// multiplexed on the port (RFC 7983: DTLS starts 20–63, RTP/RTCP 128–191).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// The USERNAME attribute type.
const ATTR_USERNAME: u16 = 0x0006;
/// Addresses remembered per session. A client checks from each of its candidates (host
/// addresses per interface and IP version, server-reflexive, relayed): well under 16.
/// Beyond that, new addresses are not learned, which bounds what a flood of forged
/// binding requests can make us store.
pub const MAX_ADDRESSES_PER_SESSION: usize = 16;

/// The local ufrag in a STUN message's USERNAME (the part before the colon), if `datagram`
/// is a STUN message carrying one. Accepts any bytes: anything malformed is `None`.
pub fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    // RFC 7983 §7: STUN is 0–3; 4–63 (ZRTP, DTLS) share STUN's two zero top bits.
    if datagram.len() < 20 || datagram[0] > 3 || datagram[4..8] != MAGIC_COOKIE {
        return None;
    }
    let declared = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let end = datagram.len().min(20 + declared);
    let mut at = 20;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([datagram[at], datagram[at + 1]]);
        let len = usize::from(u16::from_be_bytes([datagram[at + 2], datagram[at + 3]]));
        let value = datagram.get(at + 4..at + 4 + len)?;
        if kind == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next().filter(|ufrag| !ufrag.is_empty());
        }
        // Attribute values are padded to a multiple of four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// Routes datagrams to sessions.
#[derive(Debug, Default)]
pub struct Demux {
    by_ufrag: HashMap<String, SessionId>,
    by_addr: HashMap<SocketAddr, SessionId>,
    addrs: HashMap<SessionId, Vec<SocketAddr>>,
}

impl Demux {
    /// Registers a session's local ufrag.
    pub fn add_session(&mut self, id: SessionId, ufrag: String) {
        self.by_ufrag.insert(ufrag, id);
        self.addrs.entry(id).or_default();
    }

    /// Forgets a session: its ufrag and every address learned for it.
    pub fn remove_session(&mut self, id: SessionId, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        for addr in self.addrs.remove(&id).unwrap_or_default() {
            if self.by_addr.get(&addr) == Some(&id) {
                self.by_addr.remove(&addr);
            }
        }
    }

    /// The session a datagram from `from` belongs to, learning `from` when the datagram is
    /// a STUN message naming one of our ufrags.
    pub fn route(&mut self, from: SocketAddr, datagram: &[u8]) -> Option<SessionId> {
        if let Some(id) = stun_local_ufrag(datagram).and_then(|ufrag| self.by_ufrag.get(ufrag)).copied() {
            self.learn(from, id);
            return Some(id);
        }
        self.by_addr.get(&from).copied()
    }

    /// Remembers that `addr` is `id`'s peer (also called for every address a session
    /// sends to). An address that belonged to another session moves.
    pub fn learn(&mut self, addr: SocketAddr, id: SessionId) {
        match self.by_addr.get(&addr) {
            Some(&owner) if owner == id => return,
            Some(&owner) => {
                if let Some(list) = self.addrs.get_mut(&owner) {
                    list.retain(|a| *a != addr);
                }
            }
            None => {}
        }
        let Some(list) = self.addrs.get_mut(&id) else { return };
        if list.len() >= MAX_ADDRESSES_PER_SESSION {
            return;
        }
        list.push(addr);
        self.by_addr.insert(addr, id);
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use rtc::stun::attributes::ATTR_USERNAME as RTC_ATTR_USERNAME;
    use rtc::stun::message::{BINDING_REQUEST, Message, TransactionId};
    use rtc::stun::textattrs::TextAttribute;

    use super::*;

    /// A STUN binding request naming `username` (also used by the properties).
    pub(super) fn binding_request(username: &str) -> Vec<u8> {
        let mut m = Message::new();
        m.build(&[
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId::new()),
            Box::new(TextAttribute::new(RTC_ATTR_USERNAME, username.to_owned())),
        ])
        .unwrap();
        m.raw
    }

    #[test]
    fn reads_the_local_ufrag_of_a_real_binding_request() {
        let request = binding_request("sfuUfrag1:clientUfrag");
        assert_eq!(stun_local_ufrag(&request), Some("sfuUfrag1"));
        // Odd lengths are padded: the parser must step over the padding.
        let request = binding_request("abc:d");
        assert_eq!(stun_local_ufrag(&request), Some("abc"));
    }

    #[test]
    fn anything_else_is_none() {
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(stun_local_ufrag(&[22; 40]), None, "DTLS");
        let mut request = binding_request("sfu:client");
        request.truncate(request.len() - 3);
        assert_eq!(stun_local_ufrag(&request), None, "truncated attribute");
        // A deterministic sweep of garbage after a valid header: never panics.
        let mut state = 0x9E37_79B9u32;
        for len in 20..80 {
            let mut bytes = vec![0u8; len];
            for _ in 0..500 {
                for b in bytes.iter_mut() {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    *b = state.to_le_bytes()[0];
                }
                bytes[0] &= 0x03;
                bytes[4..8].copy_from_slice(&MAGIC_COOKIE);
                let _ = stun_local_ufrag(&bytes);
            }
        }
    }

    #[test]
    fn a_stun_header_under_a_dtls_first_byte_is_not_read_as_stun() {
        // Found by `only_datagrams_whose_first_byte_is_0_to_3_are_read_as_stun`: the
        // check looked at the top two bits only, so first bytes 4–63 passed.
        let mut request = binding_request("A:x");
        for first in [4, 20, 22, 63] {
            request[0] = first;
            assert_eq!(stun_local_ufrag(&request), None, "first byte {first}");
        }
    }

    #[test]
    fn routes_by_ufrag_then_by_address_and_forgets() {
        let mut demux = Demux::default();
        let (a, b) = (SessionId(1), SessionId(2));
        demux.add_session(a, "ua".into());
        demux.add_session(b, "ub".into());
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(demux.route(from, &[0x80; 20]), None, "unknown address, not STUN");
        assert_eq!(demux.route(from, &binding_request("ua:x")), Some(a));
        assert_eq!(demux.route(from, &[0x80; 20]), Some(a));
        // The same address now checks for another session: it moves.
        assert_eq!(demux.route(from, &binding_request("ub:x")), Some(b));
        assert_eq!(demux.route(from, &[0x80; 20]), Some(b));
        demux.remove_session(b, "ub");
        assert_eq!(demux.route(from, &[0x80; 20]), None);
        assert_eq!(demux.route(from, &binding_request("ub:x")), None);
    }

    #[test]
    fn learns_a_bounded_number_of_addresses() {
        let mut demux = Demux::default();
        let a = SessionId(1);
        demux.add_session(a, "ua".into());
        for port in 0..100u16 {
            demux.route(SocketAddr::from(([10, 0, 0, 1], 1000 + port)), &binding_request("ua:x"));
        }
        assert_eq!(demux.by_addr.len(), MAX_ADDRESSES_PER_SESSION);
    }
}

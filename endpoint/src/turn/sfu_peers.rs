//! The media sockets of the registered SFUs: the one kind of internal address a TURN
//! allocation may reach without `turn.allow_peer_ranges`, so that a relay-only client
//! reaches an SFU on loopback or a private network out of the box.
//!
//! Exact `ip:port` pairs, never ranges: the SFU's media socket is allowed, the rest of
//! its host (the API's port, a database, the cloud metadata service) stays out of reach.
//!
//! ```text
//!  SFU ─Heartbeat{media: "announce_ip:port"}─▶ registry ─▶ follow_registry (every 2 s)
//!                                                              │ replace
//!                                                              ▼
//!                        GuardedRelay ─ PeerPolicy::allows(peer) ─ SfuPeers::contains(peer)
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError, RwLock};

use myvid_core::Clock;
use myvid_core::registry::{HEARTBEAT_INTERVAL, LIVE_WINDOW_SECS};
use myvid_store::meta::{MetaStore, ServerEntry, ServerKind};
use tokio_util::sync::CancellationToken;

/// The current set of SFU media addresses, shared by every allocation of one TURN
/// server and replaced as the registry changes. Cheap to clone (one shared set).
#[derive(Debug, Clone, Default)]
pub struct SfuPeers(Arc<RwLock<HashSet<SocketAddr>>>);

impl SfuPeers {
    /// A set holding exactly `addrs`.
    pub fn of(addrs: impl IntoIterator<Item = SocketAddr>) -> Self {
        let peers = SfuPeers::default();
        peers.replace(addrs.into_iter().collect());
        peers
    }

    /// Replaces the set; returns whether it changed.
    pub fn replace(&self, addrs: HashSet<SocketAddr>) -> bool {
        let addrs: HashSet<SocketAddr> = addrs.into_iter().map(canonical).collect();
        let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let changed = *current != addrs;
        *current = addrs;
        changed
    }

    /// Whether `peer` is exactly one of the SFU media sockets.
    pub fn contains(&self, peer: SocketAddr) -> bool {
        self.0.read().unwrap_or_else(PoisonError::into_inner).contains(&canonical(peer))
    }
}

/// IPv4-mapped IPv6 (`[::ffff:127.0.0.1]:5000`) is the IPv4 socket.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, |v4| SocketAddr::new(IpAddr::V4(v4), addr.port())),
        IpAddr::V4(_) => addr,
    }
}

/// The media addresses of live SFU entries; entries without one, or with one that is
/// not a usable `ip:port`, are skipped.
pub fn media_addresses(entries: &[ServerEntry]) -> HashSet<SocketAddr> {
    entries
        .iter()
        .filter_map(|entry| {
            let media = entry.media.as_deref()?;
            match media.parse::<SocketAddr>() {
                Ok(addr) if !addr.ip().is_unspecified() && addr.port() != 0 => Some(addr),
                _ => {
                    tracing::warn!(sfu = %entry.id, media, "unusable media address in the registry: not relayed to");
                    None
                }
            }
        })
        .collect()
}

/// Every [`HEARTBEAT_INTERVAL`] (the first at once) until `stop`: sets `peers` to the
/// media addresses of the SFUs live in the registry. A failed read keeps the last set.
pub async fn follow_registry(peers: SfuPeers, meta: Arc<dyn MetaStore>, clock: Clock, stop: CancellationToken) {
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        match meta.live_servers(ServerKind::Sfu, clock.now() - LIVE_WINDOW_SECS).await {
            Ok(sfus) => {
                let addrs = media_addresses(&sfus);
                let count = addrs.len();
                if peers.replace(addrs) {
                    tracing::info!(sfus = count, "TURN: SFU media addresses updated from the registry");
                }
            }
            Err(err) => tracing::warn!(%err, "TURN: cannot read the SFUs from the registry; keeping the last set"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sfu(id: &str, media: Option<&str>) -> ServerEntry {
        ServerEntry {
            id: id.into(),
            kind: ServerKind::Sfu,
            url: format!("udp://{id}"),
            load: 0,
            turn: None,
            media: media.map(str::to_owned),
            heartbeat_at: 0,
        }
    }

    #[test]
    fn only_usable_media_addresses_are_taken() {
        let entries = [
            sfu("a", Some("127.0.0.1:40000")),
            sfu("b", Some("[fd00::1]:40001")),
            sfu("c", None),
            sfu("d", Some("0.0.0.0:40002")),
            sfu("e", Some("127.0.0.1:0")),
            sfu("f", Some("sfu.internal:40003")),
        ];
        let want: HashSet<SocketAddr> = ["127.0.0.1:40000", "[fd00::1]:40001"].map(|a| a.parse().unwrap()).into();
        assert_eq!(media_addresses(&entries), want);
    }

    #[test]
    fn exact_sockets_match_in_either_spelling() {
        let peers = SfuPeers::of(["127.0.0.1:40000".parse().unwrap()]);
        assert!(peers.contains("127.0.0.1:40000".parse().unwrap()));
        assert!(peers.contains("[::ffff:127.0.0.1]:40000".parse().unwrap()));
        assert!(!peers.contains("127.0.0.1:40001".parse().unwrap()), "another port of the same host");
        assert!(!peers.contains("127.0.0.2:40000".parse().unwrap()));
        assert!(!peers.replace(["127.0.0.1:40000".parse().unwrap()].into()), "unchanged");
        assert!(peers.replace(HashSet::new()));
        assert!(!peers.contains("127.0.0.1:40000".parse().unwrap()), "gone once the SFU left the registry");
    }
}

//! Makes the relay socket of each new allocation: applies the per-user quota, binds
//! a UDP socket, and wraps it in a [`GuardedRelay`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use myvid_core::metrics::Metrics;
use tokio::net::UdpSocket;
use turn::relay::RelayAddressGenerator;
use webrtc_util::Conn;

use super::auth::AllocatingUser;
use super::policy::PeerPolicy;
use super::quota::Quotas;
use super::relay::GuardedRelay;

/// The `turn` crate's hook for relay sockets, with our checks.
pub struct RelayGenerator {
    /// Where relay sockets are bound (the TURN listener's IP).
    pub bind_ip: IpAddr,
    /// The relayed address clients are told (`announce_ip`, else `bind_ip`).
    pub public_ip: IpAddr,
    /// Peer addresses allocations may use.
    pub policy: Arc<PeerPolicy>,
    /// Per-user allocation quota.
    pub quotas: Arc<Quotas>,
    /// The user of the Allocate request being handled.
    pub allocating: AllocatingUser,
    /// Bandwidth cap of each allocation.
    pub max_bytes_per_sec: u64,
    /// Where the relay sockets count bytes and drops.
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl RelayAddressGenerator for RelayGenerator {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    /// Any `Err` here is answered 508 (Insufficient Capacity): the crate offers no way
    /// to answer 486 (Allocation Quota Reached).
    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        if use_ipv4 != self.bind_ip.is_ipv4() {
            return Err(turn::Error::Other("this TURN server relays one address family only".into()));
        }
        let user = self.allocating.get().ok_or_else(|| turn::Error::Other("no authenticated user".into()))?;
        let Some(lease) = self.quotas.lease(&user) else {
            tracing::info!(user, "TURN allocation refused: per-user quota reached");
            return Err(turn::Error::Other(format!("allocation quota reached for {user}")));
        };
        // `requested_port` is non-zero only for EVEN-PORT reservations.
        let socket = UdpSocket::bind(SocketAddr::new(self.bind_ip, requested_port)).await?;
        let mut relayed = socket.local_addr()?;
        relayed.set_ip(self.public_ip);
        tracing::debug!(user, %relayed, "TURN allocation opened");
        let relay = GuardedRelay::new(socket, self.policy.clone(), self.max_bytes_per_sec, lease, self.metrics.clone());
        Ok((Arc::new(relay), relayed))
    }
}

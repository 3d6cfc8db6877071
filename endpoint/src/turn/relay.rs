//! The relay socket of one TURN allocation, guarded: the `turn` crate has no hook to
//! refuse peers or cap bandwidth, but it sends and receives every relayed datagram
//! through this [`Conn`], so the checks live here.
//!
//! ```text
//!  client ─Send/ChannelData─▶ turn server ─send_to(peer)─▶ GuardedRelay ─▶ UDP socket ─▶ peer
//!  client ◀─Data/ChannelData─ turn server ◀─recv_from()─── GuardedRelay ◀─ UDP socket ◀─ peer
//!                                                          policy? budget? count bytes
//! ```
//!
//! Dropped datagrams look sent to the server (an error would only be logged per
//! packet) and are counted in `turn_blocked_packets` / `turn_rate_limited_packets`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use myvid_core::metrics::Metrics;
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use webrtc_util::Conn;

use super::policy::PeerPolicy;
use super::quota::Lease;
use super::rate::ByteBucket;

/// One allocation's relay socket with the peer policy, the bandwidth cap (both
/// directions share it) and the allocation's quota lease.
pub struct GuardedRelay {
    socket: UdpSocket,
    policy: Arc<PeerPolicy>,
    budget: Mutex<ByteBucket>,
    /// Held while the allocation is open; given back at `close`.
    lease: Mutex<Option<Lease>>,
    closed: CancellationToken,
    metrics: Arc<Metrics>,
}

impl GuardedRelay {
    /// Guards `socket` for the allocation holding `lease`.
    pub fn new(
        socket: UdpSocket,
        policy: Arc<PeerPolicy>,
        max_bytes_per_sec: u64,
        lease: Lease,
        metrics: Arc<Metrics>,
    ) -> Self {
        GuardedRelay {
            socket,
            policy,
            budget: Mutex::new(ByteBucket::new(max_bytes_per_sec, Instant::now().into_std())),
            lease: Mutex::new(Some(lease)),
            closed: CancellationToken::new(),
            metrics,
        }
    }

    /// Whether a datagram of `len` bytes to or from `peer` may pass; counts it.
    fn admit(&self, peer: SocketAddr, len: usize) -> bool {
        if !self.policy.allows(peer) {
            self.metrics.turn_blocked_packets.inc();
            return false;
        }
        let now = Instant::now().into_std();
        if !self.budget.lock().unwrap_or_else(PoisonError::into_inner).take(len, now) {
            self.metrics.turn_rate_limited_packets.inc();
            return false;
        }
        self.metrics.turn_relayed_bytes.inc_by(len as u64);
        true
    }

    fn release(&self) {
        let lease = self.lease.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(lease) = lease {
            tracing::debug!(user = lease.user(), relay = ?self.socket.local_addr().ok(), "TURN allocation closed");
        }
    }
}

impl Drop for GuardedRelay {
    fn drop(&mut self) {
        self.release();
    }
}

#[async_trait]
impl Conn for GuardedRelay {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        // A relay socket talks to many peers; the server never connects it.
        Err(webrtc_util::Error::Other("a TURN relay socket is not connected".into()))
    }

    async fn recv(&self, _buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("a TURN relay socket is read with recv_from".into()))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, peer) = tokio::select! {
                received = self.socket.recv_from(buf) => received?,
                () = self.closed.cancelled() => return Err(webrtc_util::Error::Other("relay closed".into())),
            };
            if self.admit(peer, n) {
                return Ok((n, peer));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other("a TURN relay socket is written with send_to".into()))
    }

    async fn send_to(&self, buf: &[u8], peer: SocketAddr) -> webrtc_util::Result<usize> {
        if !self.admit(peer, buf.len()) {
            return Ok(buf.len());
        }
        Ok(self.socket.send_to(buf, peer).await?)
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// Called by the server when the allocation ends: stops the reader and gives the
    /// quota lease back at once (the socket itself closes when the last reference
    /// goes).
    async fn close(&self) -> webrtc_util::Result<()> {
        self.closed.cancel();
        self.release();
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

//! The endpoint's TURN server (RFC 5766, over UDP), so that viewers and broadcasters
//! behind NATs and firewalls that block direct UDP still reach the SFU.
//!
//! Built on the webrtc-rs `turn` crate, which does the protocol; what MyVid adds sits
//! at the two hooks the crate offers:
//!
//! ```text
//!              UDP listener (one; requests handled one after another)
//!                   │
//!  Allocate ──▶ auth::RestAuth ───────── <expiry>:<user>, HMAC key; user → AllocatingUser
//!                   │
//!               generator::RelayGenerator ─ quota::Quotas (per-user lease, allocations gauge)
//!                   │
//!               relay::GuardedRelay ──── policy::PeerPolicy (no internal peers but
//!                                         sfu_peers::SfuPeers, the registered SFUs' media sockets)
//!                                         rate::ByteBucket (per-allocation cap), byte counters
//! ```
//!
//! Limits of the crate: UDP only (no TCP or TLS listener, so `turn:…?transport=tcp`
//! and `turns:` are not offered; upstream webrtc-rs/webrtc#539), and one address
//! family per server (that of the listener).

pub mod auth;
pub mod generator;
pub mod policy;
pub mod quota;
pub mod rate;
pub mod relay;
pub mod sfu_peers;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use myvid_core::Clock;
use myvid_core::metrics::Metrics;
pub use policy::{BadRange, PeerPolicy};
pub use sfu_peers::SfuPeers;
use tokio::net::UdpSocket;
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};

use self::auth::{AllocatingUser, RestAuth};
use self::generator::RelayGenerator;
use self::quota::Quotas;

/// What a TURN server needs (the `[turn]` config section, checked).
#[derive(Clone)]
pub struct TurnConfig {
    /// UDP address to listen on; relay sockets are bound to the same IP.
    pub listen: SocketAddr,
    /// The IP clients are told for relayed addresses (and reach the server at);
    /// required when `listen` is a wildcard address.
    pub announce_ip: Option<IpAddr>,
    /// The authentication realm.
    pub realm: String,
    /// The secret shared with the API, which issues the credentials.
    pub secret: Vec<u8>,
    /// Peer addresses allocations may use besides the globally routable ones (the
    /// configured ranges and the registered SFUs' media sockets).
    pub policy: PeerPolicy,
    /// Most open allocations per TURN user.
    pub max_allocations_per_user: usize,
    /// Bandwidth cap of each allocation, both directions together, in bytes/s.
    pub max_bytes_per_sec: u64,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("listen", &self.listen)
            .field("announce_ip", &self.announce_ip)
            .field("realm", &self.realm)
            .field("secret", &"<redacted>")
            .field("policy", &self.policy)
            .field("max_allocations_per_user", &self.max_allocations_per_user)
            .field("max_bytes_per_sec", &self.max_bytes_per_sec)
            .finish()
    }
}

/// Why the TURN server did not start.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The UDP listener could not be bound.
    #[error("cannot bind the TURN socket {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A wildcard listener without an address to announce.
    #[error("the TURN server listens on a wildcard address ({0}): it needs an announce_ip")]
    NoAnnounceIp(SocketAddr),
    /// The `turn` crate refused the configuration.
    #[error("cannot start the TURN server: {0}")]
    Start(#[from] turn::Error),
}

/// A running TURN server. Lifecycle: [`TurnServer::start`] binds and serves at once;
/// [`TurnServer::shutdown`] closes every allocation and the listener.
pub struct TurnServer {
    server: Server,
    public_addr: SocketAddr,
    sfu_peers: SfuPeers,
}

impl TurnServer {
    /// Binds `config.listen` and serves; returns the server and the bound address.
    /// Credentials are checked against `clock`; counters go to `metrics`.
    pub async fn start(
        config: TurnConfig,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<(TurnServer, SocketAddr), TurnError> {
        let bind_ip = config.listen.ip();
        if bind_ip.is_unspecified() && config.announce_ip.is_none() {
            return Err(TurnError::NoAnnounceIp(config.listen));
        }
        let socket =
            UdpSocket::bind(config.listen).await.map_err(|source| TurnError::Bind { addr: config.listen, source })?;
        let bound = socket.local_addr().map_err(|source| TurnError::Bind { addr: config.listen, source })?;
        let public_ip = config.announce_ip.unwrap_or(bind_ip);
        let allocating = AllocatingUser::default();
        let sfu_peers = config.policy.sfu_peers();
        let generator = RelayGenerator {
            bind_ip,
            public_ip,
            policy: Arc::new(config.policy),
            quotas: Quotas::new(config.max_allocations_per_user, metrics.clone()),
            allocating: allocating.clone(),
            max_bytes_per_sec: config.max_bytes_per_sec,
            metrics,
        };
        let server = Server::new(ServerConfig {
            // Exactly one listener: `AllocatingUser` relies on it.
            conn_configs: vec![ConnConfig { conn: Arc::new(socket), relay_addr_generator: Box::new(generator) }],
            realm: config.realm,
            auth_handler: Arc::new(RestAuth::new(config.secret, clock, allocating)),
            // Zero picks the crate's default (10 minutes, RFC 5766's channel lifetime).
            channel_bind_timeout: Duration::ZERO,
            alloc_close_notify: None,
        })
        .await?;
        let public_addr = SocketAddr::new(public_ip, bound.port());
        tracing::info!(%bound, %public_addr, "TURN server listening (UDP)");
        Ok((TurnServer { server, public_addr, sfu_peers }, bound))
    }

    /// The address clients reach the server at (`announce_ip` and the bound port):
    /// what goes into `stun:` and `turn:` URLs.
    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    /// The SFU media sockets its allocations may reach: keep them current with
    /// [`sfu_peers::follow_registry`].
    pub fn sfu_peers(&self) -> SfuPeers {
        self.sfu_peers.clone()
    }

    /// Closes every allocation and the listener, and waits for it.
    pub async fn shutdown(&self) {
        if let Err(e) = self.server.close().await {
            tracing::warn!(error = %e, "TURN server did not close cleanly");
        }
    }
}

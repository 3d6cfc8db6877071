//! The signalling relay: clients and SFUs meet here over WebSocket.
//!
//! An SFU keeps an outbound control socket open (`/SFU`). A client (broadcaster or
//! viewer) opens `/ENDPOINT/{stream_id}` and is *parked* under a temporary client id
//! while the relay tells the chosen SFU to `attach`; the SFU then opens
//! `/SFU/attach/{client_id}` and the relay *bridges* the two sockets, relaying text
//! frames verbatim both ways. The relay never reads client↔SFU messages beyond their
//! size and frame type.
//!
//! ```text
//!   client                     relay                                   SFU
//!     │ WS /ENDPOINT/s1 ──▶ park c-X on SFU (stream's SFU, else least loaded)
//!     │                        │ ── {"type":"attach","client_id":"c-X",…} ──▶ │ (control socket)
//!     │                        │ ◀── WS /SFU/attach/c-X (Bearer secret) ───── │
//!     │ ◀═══ text frames ═════ bridge ═════ text frames ══════════════════▶ │
//! ```
//!
//! - `registry`: SFUs, stream placement, parked clients: plain data under one lock.
//! - `client`: the client socket's life (park, wait, bridge).
//! - `sfu`: the SFU's control socket and attach socket, with the shared-secret check.
//! - `bridge`: the relay loop between a bridged pair.
//! - `socket`: keep-alive, the endpoint's own error frames, close codes.
//! - `conn`: the client side as a trait: a browser's WebSocket, or an in-process
//!   [`VirtualSession`] ([`Relay::open_virtual`]) through which the WHIP/WHEP handlers
//!   signal exactly as a browser would.
//!
//! Lifecycle of a client session: parked → (attached → bridged) → closed. It ends
//! when either socket closes, when the SFU's control socket closes, when the park
//! timeout passes, or on [`Relay::shutdown`].

mod bridge;
mod client;
mod conn;
mod registry;
mod sfu;
mod socket;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocket;
use axum::routing::get;
use myvid_core::metrics::Metrics;
use rand::RngExt;
use rand::distr::Alphanumeric;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use conn::VirtualSession;
pub use registry::{RelayStatus, SfuStatus};

use registry::Registry;

/// Settings of the relay.
#[derive(Clone)]
pub struct RelayConfig {
    /// The shared secret SFUs present as `Authorization: Bearer <secret>`.
    pub sfu_secret: String,
    /// How long a parked client waits for its SFU to attach before it gets a
    /// `media_server_timeout` error (default 10 s: an SFU on the same network attaches
    /// in milliseconds; ten seconds covers a busy one without leaving a browser hanging).
    pub park_timeout: Duration,
    /// Most clients parked at once; beyond it new clients get `busy` (default 10,000,
    /// which bounds memory to a few tens of MB even if every parked client buffers
    /// frames).
    pub max_parked: usize,
    /// How often every socket is pinged (default 20 s, under the 30–60 s idle timeouts
    /// common in proxies and NATs).
    pub keepalive: Duration,
    /// A socket from which nothing (not even a pong) arrives for this long is closed
    /// (default 60 s: three missed pings).
    pub idle_timeout: Duration,
    /// When no SFU is registered, how long a new client waits for one before it gets
    /// `no_media_server` (default 5 s: SFUs find a new endpoint through the registry
    /// within 2 s, and come back within their backoff after an endpoint restart).
    pub sfu_wait: Duration,
}

impl RelayConfig {
    /// The defaults, with `sfu_secret`.
    pub fn new(sfu_secret: impl Into<String>) -> Self {
        RelayConfig {
            sfu_secret: sfu_secret.into(),
            park_timeout: Duration::from_secs(10),
            max_parked: 10_000,
            keepalive: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            sfu_wait: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for RelayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("sfu_secret", &"<redacted>")
            .field("park_timeout", &self.park_timeout)
            .field("max_parked", &self.max_parked)
            .field("keepalive", &self.keepalive)
            .field("idle_timeout", &self.idle_timeout)
            .field("sfu_wait", &self.sfu_wait)
            .finish()
    }
}

/// The relay shared by every socket handler. Build one with [`Relay::new`], serve
/// [`routes`], and call [`Relay::shutdown`] when the process stops.
pub struct Relay {
    config: RelayConfig,
    registry: Mutex<Registry<WebSocket>>,
    status: watch::Sender<RelayStatus>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
}

impl Relay {
    /// A relay with nothing registered; its gauges live in `metrics`.
    pub fn new(config: RelayConfig, metrics: Arc<Metrics>) -> Arc<Relay> {
        let registry = Mutex::new(Registry::new(config.max_parked));
        let (status, _) = watch::channel(RelayStatus::default());
        Arc::new(Relay { config, registry, status, metrics, shutdown: CancellationToken::new() })
    }

    /// The secret SFUs must present (for an SFU in the same process).
    pub fn sfu_secret(&self) -> &str {
        &self.config.sfu_secret
    }

    /// The current SFUs and session counts.
    pub fn status(&self) -> RelayStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every change of [`Relay::status`], to await a state
    /// (`wait_for`) rather than poll it.
    pub fn watch_status(&self) -> watch::Receiver<RelayStatus> {
        self.status.subscribe()
    }

    /// Closes every socket (close code 1001, "going away") and refuses new ones
    /// with 503 `unavailable`. SFUs reconnect to another endpoint or to this one
    /// after a restart.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Opens a signalling session to `stream_id`'s SFU for a client inside this process,
    /// through the same park → attach → bridge path as a browser's WebSocket (and with
    /// its refusals: an `error` frame such as `no_media_server`, then a close). The
    /// session ends when the holder drops [`VirtualSession::to_sfu`] or the SFU closes.
    pub fn open_virtual(self: &Arc<Self>, stream_id: &str) -> VirtualSession {
        let (client, session) = conn::virtual_pair();
        tokio::spawn(client::session(self.clone(), stream_id.to_owned(), client));
        session
    }

    /// Whether [`Relay::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Runs `change` on the registry, then publishes the new status and gauges.
    fn update<R>(&self, change: impl FnOnce(&mut Registry<WebSocket>) -> R) -> R {
        let mut registry = self.lock();
        let result = change(&mut registry);
        let status = registry.status();
        drop(registry);
        self.metrics.live_sfus.set(gauge(status.sfus.len()));
        self.metrics.live_parked_clients.set(gauge(status.parked));
        self.metrics.live_bridged_sessions.set(gauge(status.bridged));
        self.status.send_replace(status);
        result
    }

    fn lock(&self) -> MutexGuard<'_, Registry<WebSocket>> {
        // The registry holds plain counters and maps, consistent after every call:
        // a panic elsewhere while holding the lock leaves nothing half-done.
        self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh random id with `prefix`, not in use by an SFU or a parked client.
    fn new_id(&self, prefix: &str) -> String {
        loop {
            let id: String = rand::rng().sample_iter(Alphanumeric).take(ID_RANDOM_CHARS).map(char::from).collect();
            let id = format!("{prefix}{id}");
            if !self.lock().id_in_use(&id) {
                return id;
            }
        }
    }
}

/// Random characters in a client or SFU id: 16 base-62 characters are about 95 bits,
/// so ids cannot be guessed (attaching needs the SFU secret besides) and never collide
/// in practice.
const ID_RANDOM_CHARS: usize = 16;

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The relay's routes: `GET /ENDPOINT/{stream_id}` (clients), `GET /SFU` (SFU
/// control) and `GET /SFU/attach/{client_id}` (SFU attach), all WebSocket upgrades.
pub fn routes(relay: Arc<Relay>) -> Router {
    Router::new()
        .route("/ENDPOINT/{stream_id}", get(client::handle))
        .route("/SFU", get(sfu::control))
        .route("/SFU/attach/{client_id}", get(sfu::attach))
        .with_state(relay)
}

//! The SFU's side of signalling: a control connection to one endpoint, and one
//! [`ClientLink`] per client the endpoint sends our way.
//!
//! The SFU dials out (endpoints need not reach SFUs). [`connect`] keeps a control
//! WebSocket to `{endpoint}/SFU` open, reconnecting with capped, jittered exponential
//! [`Backoff`], and reports the SFU's load. For each `attach` notice it opens
//! `{endpoint}/SFU/attach/{client_id}` and hands the session code a [`ClientLink`]:
//! the stream id and a duplex of text frames, with no WebSocket in sight.
//!
//! ```text
//!            connect ─▶ Connecting{attempt} ─▶ WS /SFU ─▶ Registered{sfu_id}
//!               ▲                                         │ attach notices
//!   backoff ────┘◀── socket lost / refused                ▼
//!                              spawn: WS /SFU/attach/{client_id}
//!                                         │ incoming ──▶ ClientLink ──▶ session code
//!                                         │ outgoing ◀──            ◀──
//!   every load_interval: {"type":"load","sessions":<open client links, or u32::MAX draining>} ─▶ endpoint
//!   on registration and as streams start and end: {"type":"hosting"|"released","stream_id"} ─▶ endpoint
//!   shutdown token cancelled ─▶ every socket closed (1001), Stopped
//! ```
//!
//! An SFU serving several endpoints calls [`connect`] once per endpoint with the
//! same `clients` sender, the same [`SessionCount`] and the same [`HostedStreams`], so
//! every endpoint hears the SFU's whole load and places every client of a stream live
//! here on this SFU, whichever endpoint it comes through.

mod attach;
mod backoff;
mod control;
mod socket;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;

use crate::drain::Drain;

/// Settings of one endpoint link.
#[derive(Clone)]
pub struct LinkConfig {
    /// The endpoint's WebSocket base URL, such as `ws://10.0.0.5:8080` (no path; a
    /// trailing slash is ignored). `wss://` needs TLS support, not built in yet.
    pub endpoint_url: String,
    /// The shared secret, sent as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// How often the SFU's load is reported (default 5 s: placement needs a recent
    /// figure, not a live one, and the message is a few bytes).
    pub load_interval: Duration,
    /// How often every socket is pinged (default 20 s, like the endpoint).
    pub keepalive: Duration,
    /// A socket silent this long is given up (default 60 s: three missed pings).
    pub idle_timeout: Duration,
    /// Longest wait for a socket to open, and for `registered` after that (default 10 s).
    pub connect_timeout: Duration,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    /// The sessions reported as load; share one counter between the links of an SFU.
    pub sessions: SessionCount,
    /// The streams live on this SFU, announced to the endpoint; share one set between
    /// the links of an SFU.
    pub hosted: HostedStreams,
    /// The SFU's drain, if any: once it has begun the load is reported as
    /// [`DRAINING_LOAD`], so that endpoints place new streams on other SFUs.
    pub drain: Option<Drain>,
}

/// The load a draining SFU reports: the most there is, so that an endpoint's placement
/// (least loaded first) picks any other SFU for a new stream.
pub const DRAINING_LOAD: u32 = u32::MAX;

/// The load to report: open client links, or [`DRAINING_LOAD`] while draining.
fn reported_load(sessions: u32, draining: bool) -> u32 {
    if draining { DRAINING_LOAD } else { sessions }
}

impl LinkConfig {
    /// The defaults for `endpoint_url` and `secret`.
    pub fn new(endpoint_url: impl Into<String>, secret: impl Into<String>) -> Self {
        LinkConfig {
            endpoint_url: endpoint_url.into(),
            secret: secret.into(),
            load_interval: Duration::from_secs(5),
            keepalive: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            sessions: SessionCount::default(),
            hosted: HostedStreams::default(),
            drain: None,
        }
    }

    /// The load to report now.
    fn load(&self) -> u32 {
        reported_load(self.sessions.get(), self.drain.as_ref().is_some_and(Drain::is_draining))
    }

    fn base_url(&self) -> &str {
        self.endpoint_url.trim_end_matches('/')
    }
}

impl std::fmt::Debug for LinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkConfig")
            .field("endpoint_url", &self.endpoint_url)
            .field("secret", &"<redacted>")
            .field("load_interval", &self.load_interval)
            .field("keepalive", &self.keepalive)
            .field("idle_timeout", &self.idle_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff", &self.backoff)
            .field("sessions", &self.sessions.get())
            .field("hosted", &self.hosted.get().len())
            .field("draining", &self.drain.as_ref().is_some_and(Drain::is_draining))
            .finish()
    }
}

/// Why a link could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The endpoint URL is not a `ws://` URL.
    #[error("invalid endpoint URL {0}")]
    InvalidUrl(String),
    /// The secret cannot travel in an HTTP header.
    #[error("the SFU secret must be printable ASCII")]
    InvalidSecret,
}

/// One client (broadcaster or viewer) the endpoint bridged to this SFU: its frames
/// arrive on `incoming` and frames for it go to `outgoing`, one signalling message
/// (`myvid_proto::signal`) per string.
///
/// Lifecycle: `incoming` ends (`None`) when the client leaves or the endpoint drops
/// it; dropping `outgoing` (or `incoming`, noticed at the next frame) closes the
/// client's socket. The link counts toward the SFU's load until its socket closes.
#[derive(Debug)]
pub struct ClientLink {
    /// The temporary id the endpoint gave the client.
    pub client_id: String,
    /// The stream the client asked for.
    pub stream_id: String,
    /// Text frames from the client, as it sent them (the endpoint has checked only
    /// their size).
    pub incoming: mpsc::Receiver<String>,
    /// Text frames to the client.
    pub outgoing: mpsc::Sender<String>,
}

/// Where a link is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Not registered: dialling, or waiting out the backoff before dialling.
    Connecting {
        /// Which try since the link started or was last registered (0 for the first).
        attempt: u32,
    },
    /// Registered under `sfu_id`.
    Registered {
        /// The id the endpoint gave us on this connection.
        sfu_id: String,
    },
    /// Shut down; the link will not reconnect.
    Stopped,
}

/// Open client links, reported to endpoints as the SFU's load. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct SessionCount(Arc<AtomicU32>);

impl SessionCount {
    /// Sessions now.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one session until the guard is dropped.
    fn enter(&self) -> SessionGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        SessionGuard(self.clone())
    }
}

/// The streams live on an SFU. Clones share the set; every link announces changes to
/// its endpoint.
#[derive(Debug, Clone)]
pub struct HostedStreams(Arc<watch::Sender<BTreeSet<String>>>);

impl Default for HostedStreams {
    fn default() -> Self {
        HostedStreams(Arc::new(watch::channel(BTreeSet::new()).0))
    }
}

impl HostedStreams {
    /// `stream_id` went live here.
    pub fn add(&self, stream_id: &str) {
        self.0.send_if_modified(|set| set.insert(stream_id.to_owned()));
    }

    /// `stream_id` ended here.
    pub fn remove(&self, stream_id: &str) {
        self.0.send_if_modified(|set| set.remove(stream_id));
    }

    /// The streams now.
    pub fn get(&self) -> BTreeSet<String> {
        self.0.borrow().clone()
    }

    fn subscribe(&self) -> watch::Receiver<BTreeSet<String>> {
        self.0.subscribe()
    }
}

/// Holds one session in a [`SessionCount`].
struct SessionGuard(SessionCount);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A running link; see [`connect`].
#[derive(Debug)]
pub struct Link {
    state: watch::Receiver<LinkState>,
    task: JoinHandle<()>,
}

impl Link {
    /// The link's state, to watch (`wait_for`) or read.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Waits until the link has stopped (after the shutdown token is cancelled).
    pub async fn stopped(self) {
        // The task never panics on purpose; if it did, it has stopped all the same.
        let _ = self.task.await;
    }
}

/// Starts a link to one endpoint: registers, reconnects as needed, reports load, and
/// sends a [`ClientLink`] to `clients` for every client the endpoint attaches. Runs
/// until `shutdown` is cancelled, then closes its sockets (client links included).
///
/// Must be called within a Tokio runtime. Fails only on a malformed URL or secret;
/// everything after that (endpoint down, secret refused) is retried with backoff and
/// logged.
pub fn connect(
    config: LinkConfig,
    clients: mpsc::Sender<ClientLink>,
    shutdown: CancellationToken,
) -> Result<Link, LinkError> {
    let base = config.base_url();
    if !base.starts_with("ws://") {
        return Err(LinkError::InvalidUrl(format!("{base:?}: expected ws://host:port")));
    }
    socket::request(&format!("{base}/SFU"), &config.secret)?;
    let (state_tx, state) = watch::channel(LinkState::Connecting { attempt: 0 });
    let task = tokio::spawn(control::run(Arc::new(config), clients, shutdown, state_tx));
    Ok(Link { state, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draining_sfu_reports_the_most_load_there_is() {
        assert_eq!(reported_load(7, false), 7);
        assert_eq!(reported_load(7, true), DRAINING_LOAD);
        let config = LinkConfig {
            drain: Some(Drain::new(CancellationToken::new())),
            ..LinkConfig::new("ws://127.0.0.1:1", "secret")
        };
        assert_eq!(config.load(), 0);
        config.drain.as_ref().unwrap().begin();
        assert_eq!(config.load(), DRAINING_LOAD, "every link of the SFU sees the drain");
    }

    #[tokio::test]
    async fn bad_urls_and_secrets_fail_at_start() {
        let (tx, _rx) = mpsc::channel(1);
        let token = CancellationToken::new();
        for url in ["http://127.0.0.1:1", "wss://example.org", "ws://"] {
            let err = connect(LinkConfig::new(url, "secret"), tx.clone(), token.clone()).unwrap_err();
            assert!(matches!(err, LinkError::InvalidUrl(_)), "{url}: {err:?}");
        }
        let err = connect(LinkConfig::new("ws://127.0.0.1:1", "a\u{7f}b"), tx, token).unwrap_err();
        assert_eq!(err, LinkError::InvalidSecret);
    }

    #[test]
    fn sessions_are_counted_while_guarded() {
        let count = SessionCount::default();
        let shared = count.clone();
        let a = count.enter();
        let b = shared.enter();
        assert_eq!(count.get(), 2);
        drop(a);
        assert_eq!(shared.get(), 1);
        drop(b);
        assert_eq!(count.get(), 0);
        assert!(!format!("{:?}", LinkConfig::new("ws://x", "hunter2hunter2")).contains("hunter2"));
    }
}

//! Server discovery: endpoints and SFUs announce themselves in the metadata store with a
//! heartbeat and a load figure; readers trust only recent entries.
//!
//! ```text
//!  every server: Heartbeat::run ── every HEARTBEAT_INTERVAL ──▶ meta.heartbeat(id, kind, url, load, now)
//!                                 └─ on shutdown ─▶ meta.remove_server(id)
//!  API:  live_endpoints() ─▶ meta.live_servers(Endpoint, now − LIVE_WINDOW_SECS) ─▶ least loaded first
//!  SFU:  live_servers(Endpoint, …) every HEARTBEAT_INTERVAL ─▶ one control link per endpoint
//! ```
//!
//! A server that stops beating (killed, partitioned) drops out of every reader's view at
//! most [`LIVE_WINDOW_SECS`] + one second after its last heartbeat, well inside the 10 s
//! promised to operators; its row is deleted by the next [`Heartbeat`] of any server
//! after [`FORGET_AFTER_SECS`].

use std::sync::Arc;
use std::time::Duration;

use myvid_store::meta::{MetaStore, ServerEntry, ServerKind};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::services::Services;
use crate::ticks::Ticks;

/// How often a server renews its entry.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);

/// An entry is live while its last heartbeat is at most this many seconds old (two
/// missed heartbeats, and the clock's one-second grain, are tolerated).
pub const LIVE_WINDOW_SECS: i64 = 6;

/// Entries this much older than their last heartbeat are deleted.
pub const FORGET_AFTER_SECS: i64 = 3600;

/// What the registry says about endpoints, read once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEndpoints {
    /// Base URLs of live endpoints, least loaded first; never empty: when none has
    /// registered (a process whose endpoint role does not heartbeat, as in the API's
    /// tests), the configured `endpoint_url` alone.
    pub urls: Vec<String>,
    /// The TURN server (`host:port`) of the least loaded live endpoint that runs one.
    pub turn: Option<String>,
}

impl LiveEndpoints {
    /// The least loaded live endpoint.
    pub fn first(&self) -> &str {
        &self.urls[0]
    }
}

/// The live endpoints (one registry read).
pub async fn live_endpoints(services: &Services) -> Result<LiveEndpoints, ApiError> {
    let since = services.clock.now() - LIVE_WINDOW_SECS;
    let live = services.meta.live_servers(ServerKind::Endpoint, since).await?;
    let turn = live.iter().find_map(|s| s.turn.clone());
    let mut urls: Vec<String> = live.into_iter().map(|s| s.url).collect();
    if urls.is_empty() {
        urls.push(services.settings.endpoint_url.clone());
    }
    Ok(LiveEndpoints { urls, turn })
}

/// Reads a server's current load (client sessions for an endpoint, media sessions for
/// an SFU).
pub type LoadProbe = Arc<dyn Fn() -> i64 + Send + Sync>;

/// One server's heartbeat.
pub struct Heartbeat {
    /// The store.
    pub meta: Arc<dyn MetaStore>,
    /// Source of "now".
    pub clock: Clock,
    /// Its id (random per process: a restarted server is a new entry).
    pub id: String,
    /// Endpoint or SFU.
    pub kind: ServerKind,
    /// Where it is reached.
    pub url: String,
    /// An endpoint's TURN server (`host:port`), if it runs one.
    pub turn: Option<String>,
    /// An SFU's announced media socket (`ip:port`), which the TURN servers may relay to.
    pub media: Option<String>,
    /// Its load.
    pub load: LoadProbe,
}

impl Heartbeat {
    /// Beats every [`HEARTBEAT_INTERVAL`] until `shutdown`, then removes the entry so
    /// readers stop choosing this server at once. A failed beat is logged and retried
    /// on the next tick (the entry simply ages meanwhile).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticks = Ticks::new(HEARTBEAT_INTERVAL, shutdown);
        while ticks.next().await {
            self.beat().await;
        }
        if let Err(err) = self.meta.remove_server(&self.id).await {
            tracing::warn!(%err, id = %self.id, "could not remove the registry entry");
        }
    }

    /// One heartbeat (and expiry of long-dead entries).
    pub async fn beat(&self) {
        let now = self.clock.now();
        let entry = ServerEntry {
            id: self.id.clone(),
            kind: self.kind,
            url: self.url.clone(),
            load: (self.load)(),
            turn: self.turn.clone(),
            media: self.media.clone(),
            heartbeat_at: now,
        };
        if let Err(err) = self.meta.heartbeat(entry).await {
            tracing::warn!(%err, id = %self.id, "heartbeat failed");
        }
        if let Err(err) = self.meta.expire_servers(now - FORGET_AFTER_SECS).await {
            tracing::debug!(%err, "registry expiry failed");
        }
    }
}

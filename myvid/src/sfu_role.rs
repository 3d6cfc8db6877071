//! The SFU role: the media plane (one UDP socket), the signalling sessions, and a link
//! to an endpoint that hands it clients. In `myvid dev` the endpoint is this very
//! process, reached over loopback like any other SFU would reach it.
//!
//! ```text
//!  endpoint ──attach──▶ link ──ClientLink──▶ Signalling::serve ──Command──▶ media task
//!                                                 │ LiveChange
//!                                                 ▼
//!                                  MetaStore::set_live_state (live / ended)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use myvid_core::Clock;
use myvid_core::live::StreamTokens;
use myvid_sfu::link::{self, ClientLink, LinkConfig};
use myvid_sfu::media::{self, MediaConfig};
use myvid_sfu::session::{LiveChange, Signalling};
use myvid_store::MetaStore;
use myvid_store::meta::LiveState;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the SFU role needs to start.
pub struct SfuSetup {
    /// Media socket address.
    pub media_bind: SocketAddr,
    /// IP written into ICE candidates (`None`: the bound IP).
    pub announce_ip: Option<IpAddr>,
    /// Most concurrent media sessions.
    pub max_sessions: usize,
    /// The endpoint to register with, as `ws://host:port`.
    pub endpoint_ws: String,
    /// The endpoint's SFU secret.
    pub sfu_secret: String,
    /// Checks publish tokens.
    pub tokens: StreamTokens,
    /// Source of "now" for token expiry and live-state times.
    pub clock: Clock,
    /// Where streams' live state is recorded.
    pub meta: Arc<dyn MetaStore>,
}

/// A running SFU role.
pub struct SfuRunning {
    /// The media socket's address.
    pub media_addr: SocketAddr,
    stop: CancellationToken,
}

impl SfuRunning {
    /// Closes the link (and every client's signalling) and ends every stream.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

/// Records live-state changes in the metadata store, in order, off the session tasks.
fn live_recorder(meta: Arc<dyn MetaStore>, clock: Clock) -> mpsc::UnboundedSender<LiveChange> {
    let (tx, mut rx) = mpsc::unbounded_channel::<LiveChange>();
    tokio::spawn(async move {
        while let Some(change) = rx.recv().await {
            let (id, state) = match &change {
                LiveChange::Live { stream_id } => (stream_id, LiveState::Live),
                LiveChange::Ended { stream_id } => (stream_id, LiveState::Ended),
            };
            if let Err(err) = meta.set_live_state(id, state, clock.now()).await {
                tracing::warn!(stream = %id, ?state, error = %err, "could not record the stream's live state");
            }
        }
    });
    tx
}

/// Starts the media plane, the signalling sessions and the link to the endpoint.
pub async fn start(setup: SfuSetup) -> anyhow::Result<SfuRunning> {
    let media_config = MediaConfig {
        bind: setup.media_bind,
        announce_ip: setup.announce_ip,
        max_sessions: setup.max_sessions,
        ..MediaConfig::default()
    };
    // One token stops everything: the link (and with it every client's signalling) and
    // the media plane, which ends each stream cleanly.
    let stop = CancellationToken::new();
    let server = media::spawn_with_shutdown(media_config, stop.clone())
        .await
        .with_context(|| format!("cannot start the SFU media socket on {}", setup.media_bind))?;
    let tokens = setup.tokens;
    let clock = setup.clock.clone();
    let check =
        Box::new(move |stream: &str, token: &str| tokens.verify(stream, token, clock.now()).map_err(|e| e.to_string()));
    let recorder = live_recorder(setup.meta, setup.clock);
    let signalling = Arc::new(Signalling::new(server.handle.clone(), check).with_live_hook(Box::new(move |change| {
        let _ = recorder.send(change);
    })));

    let (clients_tx, mut clients) = mpsc::channel::<ClientLink>(256);
    link::connect(LinkConfig::new(setup.endpoint_ws, setup.sfu_secret), clients_tx, stop.clone())
        .context("cannot link the SFU to its endpoint")?;
    tokio::spawn(async move {
        while let Some(client) = clients.recv().await {
            let signalling = signalling.clone();
            tokio::spawn(async move {
                signalling.serve(client.stream_id, client.incoming, client.outgoing).await;
            });
        }
    });
    tracing::info!(media = %server.local_addr, "SFU started");
    Ok(SfuRunning { media_addr: server.local_addr, stop })
}

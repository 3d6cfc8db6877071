//! The SFU role: the media plane (one UDP socket), the signalling sessions, and a link
//! to every live endpoint in the server registry, which hand it clients. In `myvid dev`
//! one of them is usually this very process, reached over its public URL like any other;
//! `myvid sfu` runs it alone ([`run`]), with only `/healthz` and `/metrics` over HTTP.
//!
//! ```text
//!  registry ──every 2 s: live endpoints──▶ discovery: one link per endpoint (new: connect; gone: cancel)
//!  endpoint ──attach──▶ link ──ClientLink──▶ Signalling::serve ──Command──▶ media task
//!                                                 │ LiveChange        ▲ publish gate
//!                                                 ▼                   │ (ended stays ended)
//!                                  stream_states: MetaStore::set_live_state (live / ended, host = this SFU)
//!  Heartbeat{kind: sfu, load = open client links, or DRAINING_LOAD} ──▶ registry
//!  orphans::Reaper ──every 10 s──▶ end the live streams of SFUs gone from the registry
//!  recorders ──segments──▶ recordings::SegmentUploader ──▶ staging; stream ended ──▶ finalize
//!  recordings::Sweeper ──every 20 s──▶ finalize the recordings of SFUs that died
//! ```
//!
//! Shutdown drains ([`SfuRunning::shutdown`]): the SFU refuses new `publish`/`join`/
//! `view` (`draining`) and reports itself full ([`DRAINING_LOAD`]) to endpoints, which
//! place new streams elsewhere, and in its registry entry; live streams keep flowing
//! over the links until they end or `[sfu] drain_timeout_secs` passes; then the media
//! plane ends what is left, the links close and the entry is removed. The entry stays
//! while draining because TURN servers relay only to registered SFUs' media sockets:
//! removing it would cut relayed viewers off.
//!
//! Every SFU links to every endpoint, so any endpoint can place any client on any SFU
//! (the least loaded for a new stream) and a client that lost its endpoint can resume
//! through another one.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use myvid_core::live::StreamTokens;
use myvid_core::metrics::Metrics;
use myvid_core::registry::{HEARTBEAT_INTERVAL, Heartbeat, LIVE_WINDOW_SECS};
use myvid_core::ticks::Ticks;
use myvid_core::{Clock, Services};
use myvid_sfu::chat::ChatIdentity;
use myvid_sfu::drain::{Drain, DrainEnd};
use myvid_sfu::link::{self, ClientLink, DRAINING_LOAD, HostedStreams, LinkConfig, SessionCount};
use myvid_sfu::media::{self, MediaConfig, MediaHandle};
use myvid_sfu::session::{ChatConfig, Signalling};
use myvid_store::{MetaStore, ServerKind};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::common::{self, open_services, public_url};
use crate::config::Config;
use crate::orphans::Reaper;
use crate::recordings::{SWEEP_EVERY, SegmentUploader, Sweeper};
use crate::stream_states::StreamStates;

/// What the SFU role needs to start.
pub struct SfuSetup {
    /// Media socket address.
    pub media_bind: SocketAddr,
    /// IP written into ICE candidates (`None`: the bound IP).
    pub announce_ip: Option<IpAddr>,
    /// Most concurrent media sessions.
    pub max_sessions: usize,
    /// The endpoints' SFU secret.
    pub sfu_secret: String,
    /// Checks publish tokens.
    pub tokens: StreamTokens,
    /// Source of "now" for token expiry and live-state times.
    pub clock: Clock,
    /// Where streams' live state is recorded.
    pub meta: Arc<dyn MetaStore>,
    /// How long a shutdown lets live streams go on.
    pub drain_timeout: Duration,
    /// Record every stream into these services' object store (`None`: no recording).
    pub recording: Option<Services>,
    /// Start joining viewers on a fresh cached keyframe.
    pub instant_start: bool,
    /// Testing only: the share of publishers' RTP packets dropped on arrival (percent).
    pub simulated_publisher_loss_percent: u8,
    /// Live chat's rules (`[chat]`); chat tokens are checked with `tokens`.
    pub chat: myvid_sfu::chat::ChatLimits,
}

/// How long the links stay open after a drain ended streams at its deadline: time for
/// the last `ended` frames to reach their viewers through the endpoints.
const FAREWELL: Duration = Duration::from_millis(500);

/// A running SFU role.
pub struct SfuRunning {
    /// The media socket's address.
    pub media_addr: SocketAddr,
    media: MediaHandle,
    drain: Drain,
    drain_timeout: Duration,
    stop: CancellationToken,
}

impl SfuRunning {
    /// Drains, then stops: refuses new sessions and reports itself full at once, lets
    /// live streams go on until none is left or the drain timeout passes, ends what is
    /// left, then closes the links (and every client's signalling) and leaves the
    /// server registry.
    pub async fn shutdown(&self) -> DrainEnd {
        let end = self.drain.run(&self.media, self.drain_timeout).await;
        if let DrainEnd::DeadlineReached { sessions } = end {
            tracing::warn!(sessions, "SFU drain timed out: the remaining sessions were ended");
            tokio::time::sleep(FAREWELL).await;
        }
        self.stop.cancel();
        end
    }
}

/// Starts the media plane, the signalling sessions, the registry heartbeat and the
/// links to endpoints. Also stops when `outer` is cancelled. Returns the heartbeat task
/// too: it ends once the registry entry is removed after stop.
pub async fn start(
    setup: SfuSetup,
    outer: CancellationToken,
) -> anyhow::Result<(SfuRunning, tokio::task::JoinHandle<()>)> {
    let media_config = MediaConfig {
        bind: setup.media_bind,
        announce_ip: setup.announce_ip,
        max_sessions: setup.max_sessions,
        instant_start: setup.instant_start,
        simulated_publisher_loss_percent: setup.simulated_publisher_loss_percent,
        ..MediaConfig::default()
    };
    if setup.simulated_publisher_loss_percent > 0 {
        tracing::warn!(
            percent = setup.simulated_publisher_loss_percent,
            "TESTING: the SFU drops this share of publishers' packets on purpose (sfu.simulated_publisher_loss_percent)"
        );
    }
    // `stop` ends everything: the links (and with them every client's signalling), the
    // registry entry and the media plane, which ends each stream cleanly. A drain ends
    // the media plane first (`media_stop`).
    let stop = outer.child_token();
    let media_stop = stop.child_token();
    let server = media::spawn_with_shutdown(media_config.clone(), media_stop.clone())
        .await
        .with_context(|| format!("cannot start the SFU media socket on {}", setup.media_bind))?;
    let tokens = setup.tokens;
    let (chat_tokens, chat_clock) = (tokens.clone(), setup.clock.clone());
    let chat_check = Box::new(move |stream: &str, token: &str| {
        let claims = chat_tokens.verify_chat(stream, token, chat_clock.now()).map_err(|e| e.to_string())?;
        Ok(ChatIdentity { user_id: claims.user_id, name: claims.name, moderator: claims.moderator })
    });
    let clock = setup.clock.clone();
    let check =
        Box::new(move |stream: &str, token: &str| tokens.verify(stream, token, clock.now()).map_err(|e| e.to_string()));
    let hosted = HostedStreams::default();
    let server_id = format!("sfu-{}", myvid_core::ids::new_token());
    let states = StreamStates::start(setup.meta.clone(), setup.clock.clone(), hosted.clone(), server_id.clone());
    let drain = Drain::new(media_stop);
    let mut signalling = Signalling::new(server.handle.clone(), check)
        .with_live_hook(states.hook())
        .with_publish_gate(states.gate())
        .with_drain(drain.clone())
        .with_chat(ChatConfig { check: chat_check, limits: setup.chat });
    if let Some(services) = setup.recording {
        signalling = signalling.with_recording(SegmentUploader::start(services.clone(), server_id.clone()));
        tokio::spawn(Sweeper::new(services, server_id.clone(), SWEEP_EVERY).run(stop.clone()));
    }
    let signalling = Arc::new(signalling);

    let (clients_tx, mut clients) = mpsc::channel::<ClientLink>(256);
    let sessions = SessionCount::default();
    let load = sessions.clone();
    // What ICE candidates announce: the endpoints' TURN servers relay to exactly this.
    let media_addr = media_config.announce_addr(server.local_addr).unwrap_or(server.local_addr);
    let heartbeat = Heartbeat {
        meta: setup.meta.clone(),
        clock: setup.clock.clone(),
        id: server_id.clone(),
        kind: ServerKind::Sfu,
        url: format!("udp://{}", server.local_addr),
        turn: None,
        media: Some(media_addr.to_string()),
        load: {
            let drain = drain.clone();
            Arc::new(move || i64::from(if drain.is_draining() { DRAINING_LOAD } else { load.get() }))
        },
    };
    let heartbeat = tokio::spawn(heartbeat.run(stop.clone()));
    let discovery = Discovery {
        meta: setup.meta.clone(),
        clock: setup.clock.clone(),
        secret: setup.sfu_secret,
        sessions,
        hosted,
        drain: drain.clone(),
        clients: clients_tx,
    };
    tokio::spawn(discovery.run(stop.clone()));
    tokio::spawn(Reaper::new(setup.meta.clone(), setup.clock.clone(), server_id).run(stop.clone()));
    tokio::spawn(async move {
        while let Some(client) = clients.recv().await {
            let signalling = signalling.clone();
            tokio::spawn(async move {
                signalling.serve(client.stream_id, client.incoming, client.outgoing).await;
            });
        }
    });
    tracing::info!(media = %server.local_addr, "SFU started");
    let running = SfuRunning {
        media_addr: server.local_addr,
        media: server.handle,
        drain,
        drain_timeout: setup.drain_timeout,
        stop,
    };
    Ok((running, heartbeat))
}

/// The SFU's settings from `[sfu]`, checking publish tokens with `services`' stream
/// tokens and recording live state in its metadata store.
pub fn setup(config: &Config, services: &Services, sfu_secret: String) -> anyhow::Result<SfuSetup> {
    Ok(SfuSetup {
        media_bind: config.sfu.media_bind_addr()?,
        announce_ip: config.sfu.announce_ip_addr()?,
        max_sessions: config.sfu.max_sessions,
        sfu_secret,
        tokens: services.stream_tokens.clone(),
        clock: services.clock.clone(),
        meta: services.meta.clone(),
        drain_timeout: config.sfu.drain_timeout(),
        recording: config.live.record.then(|| services.clone()),
        instant_start: config.sfu.instant_start,
        simulated_publisher_loss_percent: config.sfu.simulated_publisher_loss_percent,
        chat: config.chat.limits(),
    })
}

/// `myvid sfu`: the SFU alone until `shutdown`, then drained (see
/// [`SfuRunning::shutdown`]; `/healthz` answers meanwhile), registered in the server registry and
/// linked to every live endpoint; `listener` serves only `/healthz` and `/metrics`.
///
/// It shares `live.sfu_secret` with the endpoints (they admit it with it) and
/// `live.stream_secret` with the API (it checks the publish tokens the API signs), so
/// both must be configured.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Some(sfu_secret) = config.live.sfu_secret.clone() else {
        anyhow::bail!("`live.sfu_secret` must be set for `myvid sfu`: the endpoints admit SFUs that know it");
    };
    if config.live.stream_secret.is_none() {
        anyhow::bail!("`live.stream_secret` must be set for `myvid sfu`: it checks the publish tokens the API signs");
    }
    let bound = listener.local_addr().context("listener has no local address")?;
    let url = public_url(&config, bound);
    let (services, _local) = open_services(&config, &url, clock, Arc::new(Metrics::default()), None).await?;
    let stop = CancellationToken::new();
    let (sfu, heartbeat) = start(setup(&config, &services, sfu_secret)?, stop.clone()).await?;
    let app = myvid_api::ops_router(services.clone());
    tracing::info!(%bound, media = %sfu.media_addr, "myvid sfu ready");
    println!("myvid sfu listening on {url}");
    let shutdown = async move {
        shutdown.await;
        sfu.shutdown().await;
        stop.cancel();
    };
    common::serve(&config, listener, app, &services, shutdown, vec![heartbeat]).await
}

/// Keeps one link per live endpoint in the registry.
struct Discovery {
    meta: Arc<dyn MetaStore>,
    clock: Clock,
    secret: String,
    sessions: SessionCount,
    hosted: HostedStreams,
    /// Handed to every link: a draining SFU reports itself full.
    drain: Drain,
    clients: mpsc::Sender<ClientLink>,
}

/// An endpoint's `http(s)://` base URL as the `ws(s)://` base its relay is reached at.
fn ws_base(url: &str) -> String {
    url.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1)
}

impl Discovery {
    /// Every [`HEARTBEAT_INTERVAL`] (the first at once): links to endpoints that
    /// appeared, drops links to endpoints that stopped beating. Until `stop`.
    async fn run(self, stop: CancellationToken) {
        let mut links: HashMap<String, CancellationToken> = HashMap::new();
        let mut ticks = Ticks::new(HEARTBEAT_INTERVAL, stop.clone());
        while ticks.next().await {
            let since = self.clock.now() - LIVE_WINDOW_SECS;
            let live = match self.meta.live_servers(ServerKind::Endpoint, since).await {
                Ok(live) => live,
                Err(err) => {
                    tracing::warn!(%err, "cannot read the server registry; keeping the current links");
                    continue;
                }
            };
            let urls: Vec<String> = live.iter().map(|e| ws_base(&e.url)).collect();
            links.retain(|url, link| {
                let keep = urls.contains(url);
                if !keep {
                    tracing::info!(endpoint = %url, "endpoint left the registry: link closed");
                    link.cancel();
                }
                keep
            });
            for url in urls {
                if links.contains_key(&url) {
                    continue;
                }
                let token = stop.child_token();
                let config = LinkConfig {
                    sessions: self.sessions.clone(),
                    hosted: self.hosted.clone(),
                    drain: Some(self.drain.clone()),
                    ..LinkConfig::new(url.clone(), &self.secret)
                };
                match link::connect(config, self.clients.clone(), token.clone()) {
                    Ok(_) => {
                        tracing::info!(endpoint = %url, "linking to endpoint");
                        links.insert(url, token);
                    }
                    Err(err) => tracing::warn!(endpoint = %url, %err, "cannot link to endpoint"),
                }
            }
        }
    }
}

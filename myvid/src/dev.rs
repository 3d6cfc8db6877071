//! `myvid dev`: every role in one process on one port, with the embedded stores
//! (SQLite metadata, a local object directory) under the data directory, the
//! signalling relay SFUs register with (`/SFU`, `/ENDPOINT/{stream_id}`), and the
//! endpoint's TURN server on its own UDP port (`[turn]`).
//!
//! ```text
//! data_dir/
//!   meta.sqlite3     users, sessions, videos, search index
//!   objects/         previews/ and videos/ buckets
//!   signing.key      HMAC key for object URLs
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use myvid_core::live::{IceServer, StreamTokens};
use myvid_core::metrics::Metrics;
use myvid_core::turn_credentials::TurnGrant;
use myvid_core::{Clock, Services, Settings};
use myvid_store::{LocalObjects, SqliteMeta};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::endpoint_role;
use crate::http_server::{self, ConnectionLimits};
use crate::secret;
use crate::sfu_role::{self, SfuSetup};

/// Where the data directory's parts live.
pub struct DataPaths {
    /// The SQLite database.
    pub meta: PathBuf,
    /// Root of the object buckets.
    pub objects: PathBuf,
    /// The URL-signing key.
    pub signing_key: PathBuf,
}

impl DataPaths {
    /// The layout under `data_dir`.
    pub fn new(data_dir: &std::path::Path) -> Self {
        DataPaths {
            meta: data_dir.join("meta.sqlite3"),
            objects: data_dir.join("objects"),
            signing_key: data_dir.join("signing.key"),
        }
    }
}

/// The URL browsers reach a listener at: the configured one, or `http://` plus the
/// bound address (with 127.0.0.1 standing in for an unspecified address).
pub fn public_url(config: &Config, bound: SocketAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let mut addr = bound;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        tracing::warn!("listening on all interfaces; set `public_url` so that signed URLs name a reachable host");
    }
    format!("http://{addr}")
}

/// Opens the embedded stores under the data directory and builds the services every
/// role uses (object URLs are signed for `url`; `turn` is what ICE answers hand out).
pub async fn open_services(
    config: &Config,
    url: &str,
    clock: Clock,
    metrics: Arc<Metrics>,
    turn: Option<TurnGrant>,
) -> anyhow::Result<(Services, Arc<LocalObjects>)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let paths = DataPaths::new(&config.data_dir);
    let meta = SqliteMeta::open(&paths.meta)
        .await
        .with_context(|| format!("cannot open metadata database {}", paths.meta.display()))?;
    let key = secret::load_or_create(&paths.signing_key)?;
    let local = Arc::new(
        LocalObjects::open(paths.objects.clone(), url.to_owned(), &key)
            .await
            .with_context(|| format!("cannot open object directory {}", paths.objects.display()))?,
    );
    let services = Services {
        meta: Arc::new(meta),
        objects: local.clone(),
        clock,
        settings: Arc::new(Settings {
            endpoint_url: url.to_owned(),
            url_ttl_secs: config.uploads.url_ttl_secs,
            upload_url_ttl_secs: config.uploads.upload_url_ttl_secs,
            session_ttl_secs: config.auth.session_ttl_secs,
            max_video_bytes: config.uploads.max_video_bytes,
            max_preview_bytes: config.uploads.max_preview_bytes,
            media: config.media_tools(),
            failed_login_delay: Duration::from_millis(config.limits.failed_login_ms),
            stream_token_ttl_secs: config.live.stream_token_ttl_secs,
            ice_servers: ice_servers(config),
            turn,
        }),
        metrics,
        stream_tokens: StreamTokens::new(secret_or_random(&config.live.stream_secret, "live.stream_secret").as_bytes()),
        limits: crate::http_server::limiters(&config.limits),
    };
    Ok((services, local))
}

/// Runs the dev server on `listener` until `shutdown` completes, then drains
/// requests in flight. `clock` is normally [`Clock::system`]; tests pass a manual one.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let bound = listener.local_addr().context("listener has no local address")?;
    let url = public_url(&config, bound);
    let metrics = Arc::new(Metrics::default());
    // TURN belongs to the endpoint role: here only when this process is an endpoint.
    // Otherwise the API hands out the TURN servers of the registered endpoints, with
    // credentials from the shared `turn.secret`.
    let turn = if config.live.relay { endpoint_role::start_turn(&config, &clock, &metrics).await? } else { None };
    let grant = match &turn {
        Some((_, grant)) => Some(grant.clone()),
        None => {
            let grant = endpoint_role::remote_turn_grant(&config);
            if grant.is_none() && config.turn.enabled {
                tracing::warn!("no `turn.secret` configured: the API hands out no TURN servers for the endpoints");
            }
            grant
        }
    };
    let turn_addr = turn.as_ref().map(|(server, _)| server.public_addr().to_string());
    let (services, local) = open_services(&config, &url, clock, metrics, grant).await?;
    if config.sfu.enabled {
        // Streams a previous run of this SFU left live (it crashed or was killed) cannot
        // be joined and must not be listed.
        let stale = services.meta.end_all_live(services.clock.now()).await.context("cannot end streams left live")?;
        if stale > 0 {
            tracing::warn!(stale, "ended live streams left over from a previous run");
        }
    }
    let stop = CancellationToken::new();
    let mut heartbeats = Vec::new();
    let relay = if config.live.relay {
        let endpoint = endpoint_role::start(&config, &services, &url, turn_addr, stop.clone()).await;
        if let Some((server, _)) = &turn {
            endpoint_role::follow_sfus(server, &services, stop.clone());
        }
        heartbeats.push(endpoint.heartbeat);
        Some(endpoint.relay)
    } else {
        tracing::info!("`live.relay` is false: separate `myvid endpoint` processes relay signalling");
        None
    };
    let sfu = if config.sfu.enabled {
        // The SFU links to every endpoint in the registry (this process's own included,
        // reached over its public URL like any other).
        let sfu_secret = match &relay {
            Some(relay) => relay.sfu_secret().to_owned(),
            None => config.live.sfu_secret.clone().context("`live.sfu_secret` is required without `live.relay`")?,
        };
        let setup = SfuSetup {
            media_bind: config.sfu.media_bind_addr()?,
            announce_ip: config.sfu.announce_ip_addr()?,
            max_sessions: config.sfu.max_sessions,
            sfu_secret,
            tokens: services.stream_tokens.clone(),
            clock: services.clock.clone(),
            meta: services.meta.clone(),
        };
        let (sfu, heartbeat) = sfu_role::start(setup, stop.clone()).await?;
        heartbeats.push(heartbeat);
        Some(sfu)
    } else {
        tracing::warn!("`sfu.enabled` is false: live streams cannot start");
        None
    };
    let app = myvid_api::router(services.clone())
        .merge(myvid_endpoint::router(services.clone(), Some(local), relay.clone()))
        .merge(crate::openapi::routes());
    let app = http_server::outer_layers(app, &services);
    tracing::info!(%bound, data_dir = %config.data_dir.display(), "myvid dev ready");
    // The one line on stdout: scripts and tests read the URL from it.
    println!("myvid listening on {url}");
    // Signalling sockets outlive their HTTP requests: close them when shutdown begins
    // so that clients and SFUs hear "going away" instead of a dropped connection.
    let shutdown = async move {
        shutdown.await;
        stop.cancel();
        if let Some(sfu) = &sfu {
            sfu.shutdown();
        }
        if let Some(relay) = &relay {
            relay.shutdown();
        }
        if let Some((turn, _)) = &turn {
            turn.shutdown().await;
        }
    };
    let limits = ConnectionLimits::from(&config.limits);
    let served = http_server::serve(listener, app, limits, services.metrics.clone(), shutdown).await;
    await_deregistration(heartbeats).await;
    served
}

/// Waits (briefly) for heartbeat tasks to remove their registry entries after stop,
/// so that readers stop choosing this process at once rather than after the live
/// window.
pub async fn await_deregistration(heartbeats: impl IntoIterator<Item = tokio::task::JoinHandle<()>>) {
    for heartbeat in heartbeats {
        if tokio::time::timeout(Duration::from_secs(2), heartbeat).await.is_err() {
            tracing::warn!("a registry entry was not removed in time; it expires on its own");
        }
    }
}

/// `[live].ice_servers` as the browser's `RTCIceServer` list (one URL each).
fn ice_servers(config: &Config) -> Vec<IceServer> {
    config
        .live
        .ice_servers
        .iter()
        .map(|url| IceServer { urls: vec![url.clone()], username: None, credential: None })
        .collect()
}

/// A configured secret, or a random one for this run (fine for `myvid dev`, where
/// every party that needs it lives in this process).
pub fn secret_or_random(configured: &Option<String>, field: &str) -> String {
    configured.clone().unwrap_or_else(|| {
        tracing::info!("no `{field}` configured: using a random one for this run");
        myvid_core::ids::new_token()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::endpoint_role::relay_config;

    #[test]
    fn the_relay_takes_the_live_section_and_makes_a_secret_when_none_is_set() {
        let mut config = Config::default();
        config.live.park_timeout_ms = 2500;
        config.live.max_parked = 7;
        let relay = relay_config(&config);
        assert_eq!((relay.park_timeout, relay.max_parked), (Duration::from_millis(2500), 7));
        assert!(relay.sfu_secret.len() >= 32, "a random secret");
        assert_ne!(relay_config(&config).sfu_secret, relay.sfu_secret, "one per run");
        config.live.sfu_secret = Some("configured-secret-0123456789".into());
        assert_eq!(relay_config(&config).sfu_secret, "configured-secret-0123456789");
    }
}

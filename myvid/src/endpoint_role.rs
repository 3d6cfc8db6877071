//! The endpoint role: the signalling relay SFUs register with, WHIP/WHEP, uploads and
//! (with the embedded object store) signed object URLs — and its entry in the server
//! registry, so the API hands its URL to clients and SFUs link to it.
//!
//! It also hosts the TURN server (`[turn]`, [`start_turn`]).
//!
//! `myvid dev` runs it next to the API and an SFU; `myvid endpoint` runs it alone
//! ([`run`]), several per deployment, sharing the metadata store (and, embedded, the data
//! directory) with the API.
//!
//! ```text
//!  start: Relay ── Heartbeat{kind: endpoint, url, load = parked + bridged clients} ─▶ registry
//!  run:   stores ─▶ Services ─▶ start ─▶ endpoint routes + /metrics + /healthz ─▶ serve until shutdown
//! ```

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::middleware;
use myvid_core::json_errors;
use myvid_core::metrics::{self, Metrics};
use myvid_core::registry::Heartbeat;
use myvid_core::turn_credentials::TurnGrant;
use myvid_core::{Clock, Services};
use myvid_endpoint::{Relay, RelayConfig, TurnConfig, TurnServer};
use myvid_store::ServerKind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::dev::{self, secret_or_random};

/// The relay's settings from `[live]` (a random SFU secret if none is configured:
/// only right when the SFU shares the process).
pub fn relay_config(config: &Config) -> RelayConfig {
    let secret = secret_or_random(&config.live.sfu_secret, "live.sfu_secret");
    RelayConfig { park_timeout: config.park_timeout(), max_parked: config.live.max_parked, ..RelayConfig::new(secret) }
}

/// A started endpoint role.
pub struct EndpointRunning {
    /// The relay (serve its routes; shut it down on stop).
    pub relay: Arc<Relay>,
    /// The heartbeat task: ends once the registry entry is removed after `stop`.
    pub heartbeat: tokio::task::JoinHandle<()>,
}

/// Starts the relay and the registry heartbeat under `url`, announcing the TURN server
/// at `turn` (`host:port`) if it runs one (the first beat is written before this
/// returns, so an SFU started next finds the endpoint at once). The entry is removed
/// when `stop` is cancelled.
pub async fn start(
    config: &Config,
    services: &Services,
    url: &str,
    turn: Option<String>,
    stop: CancellationToken,
) -> EndpointRunning {
    let relay = Relay::new(relay_config(config), services.metrics.clone());
    let status = relay.clone();
    let heartbeat = Heartbeat {
        meta: services.meta.clone(),
        clock: services.clock.clone(),
        id: format!("endpoint-{}", myvid_core::ids::new_token()),
        kind: ServerKind::Endpoint,
        url: url.to_owned(),
        turn,
        load: Arc::new(move || {
            let now = status.status();
            i64::try_from(now.parked + now.bridged).unwrap_or(i64::MAX)
        }),
    };
    heartbeat.beat().await;
    tracing::info!(id = %heartbeat.id, %url, "endpoint registered");
    let heartbeat = tokio::spawn(heartbeat.run(stop));
    EndpointRunning { relay, heartbeat }
}

/// Starts the TURN server of `[turn]` (unless disabled) and returns it with what the
/// API needs to hand out credentials for it.
pub async fn start_turn(
    config: &Config,
    clock: &Clock,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Option<(TurnServer, TurnGrant)>> {
    let turn = &config.turn;
    if !turn.enabled {
        tracing::info!("`turn.enabled` is false: no TURN server, clients need a direct path to the SFU");
        return Ok(None);
    }
    let secret = secret_or_random(&turn.secret, "turn.secret").into_bytes();
    let setup = TurnConfig {
        listen: turn.listen_addr()?,
        announce_ip: turn.announce_ip_addr()?,
        realm: turn.realm.clone(),
        secret: secret.clone(),
        policy: turn.peer_policy()?,
        max_allocations_per_user: turn.max_allocations_per_user,
        max_bytes_per_sec: turn.max_bytes_per_sec,
    };
    let (server, _bound) = TurnServer::start(setup, clock.clone(), metrics.clone()).await?;
    let grant =
        TurnGrant { address: server.public_addr().to_string(), secret, lifetime_secs: turn.credential_lifetime_secs };
    Ok(Some((server, grant)))
}

/// For an API whose process runs no TURN server (`live.relay` false): credentials from
/// the shared `turn.secret` for the TURN servers the endpoints register (the address is
/// filled in per request from the registry).
pub fn remote_turn_grant(config: &Config) -> Option<TurnGrant> {
    let turn = &config.turn;
    let secret = turn.secret.as_ref().filter(|_| turn.enabled)?;
    Some(TurnGrant {
        address: String::new(),
        secret: secret.clone().into_bytes(),
        lifetime_secs: turn.credential_lifetime_secs,
    })
}

/// `myvid endpoint`: the endpoint role alone on `listener` until `shutdown`.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if config.live.sfu_secret.is_none() {
        anyhow::bail!("`live.sfu_secret` must be set for `myvid endpoint`: the SFUs that register here must know it");
    }
    if config.turn.enabled && config.turn.secret.is_none() {
        anyhow::bail!(
            "`turn.secret` must be set for `myvid endpoint` (or `turn.enabled` false): the API issues the \
             credentials its TURN server checks"
        );
    }
    let bound = listener.local_addr().context("listener has no local address")?;
    let url = dev::public_url(&config, bound);
    let metrics = Arc::new(Metrics::default());
    let turn = start_turn(&config, &clock, &metrics).await?;
    let grant = turn.as_ref().map(|(_, grant)| grant.clone());
    let (services, local) = dev::open_services(&config, &url, clock, metrics, grant).await?;
    let stop = CancellationToken::new();
    let turn_addr = turn.as_ref().map(|(server, _)| server.public_addr().to_string());
    let EndpointRunning { relay, heartbeat } = start(&config, &services, &url, turn_addr, stop.clone()).await;
    let app = myvid_endpoint::router(services.clone(), Some(local), Some(relay.clone()))
        .merge(myvid_api::ops_router(services.clone()))
        .layer(middleware::from_fn(json_errors::layer))
        .layer(middleware::from_fn_with_state(services, metrics::track))
        .layer(TraceLayer::new_for_http());
    tracing::info!(%bound, "myvid endpoint ready");
    println!("myvid endpoint listening on {url}");
    let shutdown = async move {
        shutdown.await;
        stop.cancel();
        relay.shutdown();
        if let Some((turn, _)) = &turn {
            turn.shutdown().await;
        }
    };
    let served = dev::serve_draining(listener, app, shutdown).await;
    dev::await_deregistration([heartbeat]).await;
    served
}

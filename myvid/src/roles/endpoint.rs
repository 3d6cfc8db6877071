//! The endpoint role: the signalling relay SFUs register with, WHIP/WHEP, uploads and
//! (with the embedded object store) signed object URLs — and its entry in the server
//! registry, so the API hands its URL to clients and SFUs link to it.
//!
//! It also hosts the TURN server (`[turn]`, [`start_turn`]), which may relay to the
//! registered SFUs' media sockets ([`follow_sfus`]).
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
use myvid_core::metrics::Metrics;
use myvid_core::registry::Heartbeat;
use myvid_core::turn_credentials::TurnGrant;
use myvid_core::{Clock, Services};
use myvid_endpoint::turn::sfu_peers;
use myvid_endpoint::{Relay, RelayConfig, TurnConfig, TurnServer};
use myvid_store::ServerKind;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::common::{self, open_services, public_url, secret_or_random};
use crate::config::Config;

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
        media: None,
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

/// Keeps `turn`'s allowed SFU media sockets in step with the server registry until
/// `stop` (every registry heartbeat interval).
pub fn follow_sfus(turn: &TurnServer, services: &Services, stop: CancellationToken) {
    let follow = sfu_peers::follow_registry(turn.sfu_peers(), services.meta.clone(), services.clock.clone(), stop);
    tokio::spawn(follow);
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
    let url = public_url(&config, bound);
    let metrics = Arc::new(Metrics::default());
    let turn = start_turn(&config, &clock, &metrics).await?;
    let grant = turn.as_ref().map(|(_, grant)| grant.clone());
    let (services, local) = open_services(&config, &url, clock, metrics, grant).await?;
    let stop = CancellationToken::new();
    let turn_addr = turn.as_ref().map(|(server, _)| server.public_addr().to_string());
    let EndpointRunning { relay, heartbeat } = start(&config, &services, &url, turn_addr, stop.clone()).await;
    if let Some((server, _)) = &turn {
        follow_sfus(server, &services, stop.clone());
    }
    let app = myvid_endpoint::router(services.clone(), local, Some(relay.clone()))
        .merge(myvid_api::ops_router(services.clone()));
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
    common::serve(&config, listener, app, &services, shutdown, vec![heartbeat]).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

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

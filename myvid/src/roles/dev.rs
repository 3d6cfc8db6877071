//! `myvid dev`: every role in one process on one port, composed from the role
//! modules: the API, the endpoint (signalling relay SFUs register with, `/SFU`,
//! `/ENDPOINT/{stream_id}`, and its TURN server on its own UDP port, `[turn]`) and an
//! SFU, over the embedded stores under the data directory ([`common`]).
//!
//! ```text
//!  stores ─▶ Services ─▶ endpoint::start (if live.relay) + sfu::start (if sfu.enabled)
//!         ─▶ API routes + endpoint routes + OpenAPI ─▶ common::serve until shutdown
//!         + multipart_reaper (abandoned multipart uploads) until shutdown
//!         + the views flusher (batched view counts; a last flush at shutdown)
//!         + the notify poller (live notifications, while a socket is open)
//!         + a transcode worker (if worker.enabled), drained after the SFU
//! ```

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use myvid_core::Clock;
use myvid_core::metrics::Metrics;
use myvid_core::notify::{Hub, poller};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::common::{self, open_services, public_url};
use super::{api, endpoint, sfu, worker};
use crate::config::Config;

/// Runs the dev server on `listener` until `shutdown` completes, then drains the SFU
/// (at most `sfu.drain_timeout_secs`) and requests in flight. `clock` is normally [`Clock::system`]; tests pass a manual one.
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
    let turn = if config.live.relay { endpoint::start_turn(&config, &clock, &metrics).await? } else { None };
    let grant = match &turn {
        Some((_, grant)) => Some(grant.clone()),
        None => api::remote_turn_grant(&config),
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
    crate::multipart_reaper::spawn(&services, stop.clone());
    let views = services.views.spawn_flusher(services.clone(), stop.clone());
    let mut heartbeats = Vec::new();
    let relay = if config.live.relay {
        let endpoint = endpoint::start(&config, &services, &url, turn_addr, stop.clone()).await;
        if let Some((server, _)) = &turn {
            endpoint::follow_sfus(server, &services, stop.clone());
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
        let (sfu, heartbeat) = sfu::start(sfu::setup(&config, &services, sfu_secret)?, stop.clone()).await?;
        heartbeats.push(heartbeat);
        Some(sfu)
    } else {
        tracing::warn!("`sfu.enabled` is false: live streams cannot start");
        None
    };
    let worker = worker::start(&config, &services, stop.clone());
    let worker_drain = config.worker.drain_timeout();
    let notify = Hub::new(config.notify.max_sockets_per_user, services.metrics.clone());
    poller::spawn(services.meta.clone(), notify.clone(), services.metrics.clone(), config.notify.poll(), stop.clone());
    let app = myvid_api::router(services.clone(), notify.clone())
        .merge(myvid_endpoint::router(services.clone(), local, relay.clone()))
        .merge(crate::openapi::routes());
    tracing::info!(%bound, data_dir = %config.data_dir.display(), "myvid dev ready");
    // The one line on stdout: scripts and tests read the URL from it.
    println!("myvid listening on {url}");
    // The SFU drains first (bounded by `sfu.drain_timeout_secs`): its live streams need
    // the relay and TURN until they end. Then signalling sockets, which outlive their
    // HTTP requests, are closed so that clients and SFUs hear "going away" instead of a
    // dropped connection.
    let shutdown = async move {
        shutdown.await;
        // Notification sockets never end on their own: they close (1001) at once.
        notify.close_all();
        notify.wait_closed(std::time::Duration::from_secs(1)).await;
        if let Some(sfu) = &sfu {
            sfu.shutdown().await;
        }
        stop.cancel();
        if let Some(worker) = worker {
            worker.drain(worker_drain).await;
        }
        if let Some(relay) = &relay {
            relay.shutdown();
        }
        if let Some((turn, _)) = &turn {
            turn.shutdown().await;
        }
    };
    let served = common::serve(&config, listener, app, &services, shutdown, heartbeats).await;
    // The views taken in since the last flush are counted before the process ends.
    let _ = views.await;
    served
}

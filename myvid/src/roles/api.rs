//! The API role: search and metadata, accounts, publish, live set-up (NEWSTREAM, ICE)
//! and the OpenAPI document. It runs no endpoint, SFU or TURN server: it hands out the
//! endpoints (and their TURN servers) the server registry lists. With the embedded
//! object store it also serves the object URLs it signs (playback, previews).
//!
//! ```text
//!  run: stores ─▶ Services ─▶ API routes + OpenAPI + object URLs ─▶ serve until shutdown
//!       multipart_reaper: aborts abandoned multipart uploads every 5 min until shutdown
//!       views flusher: counts the views taken in every 10 s, and once more at shutdown
//!       notify poller: reads the live streams every 500 ms while a notification socket
//!                      is open, tells the connected followers of new ones
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use myvid_core::Clock;
use myvid_core::metrics::Metrics;
use myvid_core::notify::{Hub, poller};
use myvid_core::turn_credentials::TurnGrant;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::common::{self, open_services, public_url};
use crate::config::Config;

/// For an API whose process runs no TURN server: credentials from the shared
/// `turn.secret` for the TURN servers the endpoints register (the address is filled in
/// per request from the registry). `None` (and a warning) without a secret.
pub fn remote_turn_grant(config: &Config) -> Option<TurnGrant> {
    let turn = &config.turn;
    if !turn.enabled {
        return None;
    }
    let Some(secret) = &turn.secret else {
        tracing::warn!("no `turn.secret` configured: the API hands out no TURN servers for the endpoints");
        return None;
    };
    Some(TurnGrant {
        address: String::new(),
        secret: secret.clone().into_bytes(),
        lifetime_secs: turn.credential_lifetime_secs,
    })
}

/// `myvid api`: the API alone on `listener` until `shutdown`.
///
/// It needs `live.stream_secret`: the SFUs, in other processes, check the publish
/// tokens it signs with it.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if config.live.stream_secret.is_none() {
        anyhow::bail!("`live.stream_secret` must be set for `myvid api`: the SFUs check the publish tokens it signs");
    }
    let bound = listener.local_addr().context("listener has no local address")?;
    let url = public_url(&config, bound);
    let grant = remote_turn_grant(&config);
    let (services, local) = open_services(&config, &url, clock, Arc::new(Metrics::default()), grant).await?;
    let notify = Hub::new(config.notify.max_sockets_per_user, services.metrics.clone());
    let mut app = myvid_api::router(services.clone(), notify.clone()).merge(crate::openapi::routes());
    // The embedded store's signed URLs name this process; S3's name the store.
    if let Some(local) = local {
        app = app.merge(myvid_endpoint::objects_router(services.clone(), local));
    }
    let stop = CancellationToken::new();
    crate::multipart_reaper::spawn(&services, stop.clone());
    let views = services.views.spawn_flusher(services.clone(), stop.clone());
    poller::spawn(services.meta.clone(), notify.clone(), services.metrics.clone(), config.notify.poll(), stop.clone());
    let shutdown = async move {
        shutdown.await;
        // Notification sockets never end on their own: close them (1001) so that
        // the HTTP drain is not held up.
        notify.close_all();
        notify.wait_closed(Duration::from_secs(1)).await;
        stop.cancel();
    };
    tracing::info!(%bound, data_dir = %config.data_dir.display(), "myvid api ready");
    println!("myvid api listening on {url}");
    let served = common::serve(&config, listener, app, &services, shutdown, Vec::new()).await;
    // The views taken in since the last flush are counted before the process ends.
    let _ = views.await;
    served
}

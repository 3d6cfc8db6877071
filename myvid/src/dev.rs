//! `myvid dev`: every role in one process on one port, with the embedded stores
//! (SQLite metadata, a local object directory) under the data directory.
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
use axum::middleware;
use myvid_core::metrics::{self, Metrics};
use myvid_core::{Clock, Services, Settings};
use myvid_store::{LocalObjects, SqliteMeta};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::secret;

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
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let paths = DataPaths::new(&config.data_dir);
    let meta = SqliteMeta::open(&paths.meta)
        .await
        .with_context(|| format!("cannot open metadata database {}", paths.meta.display()))?;
    let key = secret::load_or_create(&paths.signing_key)?;
    let local = Arc::new(
        LocalObjects::open(paths.objects.clone(), url.clone(), &key)
            .await
            .with_context(|| format!("cannot open object directory {}", paths.objects.display()))?,
    );
    let services = Services {
        meta: Arc::new(meta),
        objects: local.clone(),
        clock,
        settings: Arc::new(Settings {
            endpoint_url: url.clone(),
            url_ttl_secs: config.uploads.url_ttl_secs,
            session_ttl_secs: config.auth.session_ttl_secs,
            max_video_bytes: config.uploads.max_video_bytes,
            max_preview_bytes: config.uploads.max_preview_bytes,
            ffprobe: config.media.ffprobe.clone(),
            probe_timeout: config.probe_timeout(),
        }),
        metrics: Arc::new(Metrics::default()),
    };
    let app = myvid_api::router(services.clone())
        .merge(myvid_endpoint::router(services.clone(), Some(local)))
        .layer(middleware::from_fn_with_state(services, metrics::track))
        .layer(TraceLayer::new_for_http());
    tracing::info!(%bound, data_dir = %config.data_dir.display(), "myvid dev ready");
    // The one line on stdout: scripts and tests read the URL from it.
    println!("myvid listening on {url}");
    serve_draining(listener, app, shutdown).await
}

/// How long requests in flight (a long video download, say) may run after shutdown
/// begins before the server stops anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until `shutdown`, then stops accepting and waits up to [`DRAIN_TIMEOUT`]
/// for requests in flight.
async fn serve_draining(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (began, mut draining) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = began.send(true);
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        let _ = draining.wait_for(|began| *began).await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        result = server => result.context("server failed")?,
        () = deadline => tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway"),
    }
    tracing::info!("stopped");
    Ok(())
}

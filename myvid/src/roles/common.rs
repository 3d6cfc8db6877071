//! What every role's process wires the same way: the embedded stores under the data
//! directory and the [`Services`] built on them, the URL the process is reached at,
//! and serving a router until shutdown, then leaving the server registry.
//!
//! ```text
//! data_dir/
//!   meta.sqlite3     users, sessions, videos, search index, server registry
//!                    (unless `[metadata] backend = "mariadb"`: then on MariaDB / Galera)
//!   objects/         staging/, previews/ and videos/ buckets
//!   signing.key      HMAC key for object URLs
//! ```
//!
//! Several processes (`myvid api`, `myvid endpoint`, `myvid sfu`) may share one data
//! directory: SQLite serialises their writes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use myvid_core::live::{IceServer, StreamTokens};
use myvid_core::metrics::Metrics;
use myvid_core::object_health::{ObjectHealth, Watched};
use myvid_core::turn_credentials::TurnGrant;
use myvid_core::{Clock, Services, Settings};
use myvid_store::{LocalObjects, MariaMeta, MetaStore, ObjectStore, S3Objects, SqliteMeta};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Config, MetadataBackend, ObjectsBackend};
use crate::http_server::{self, ConnectionLimits};
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

/// Opens the embedded stores under the data directory and builds the services every
/// role uses (object URLs are signed for `url`; `turn` is what ICE answers hand out).
pub async fn open_services(
    config: &Config,
    url: &str,
    clock: Clock,
    metrics: Arc<Metrics>,
    turn: Option<TurnGrant>,
) -> anyhow::Result<(Services, Option<Arc<LocalObjects>>)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let paths = DataPaths::new(&config.data_dir);
    let meta = open_meta(config).await?;
    let (objects, local): (Arc<dyn ObjectStore>, Option<Arc<LocalObjects>>) = match config.objects.backend {
        ObjectsBackend::Local => {
            let key = secret::load_or_create(&paths.signing_key)?;
            let local = Arc::new(
                LocalObjects::open(paths.objects.clone(), url.to_owned(), &key)
                    .await
                    .with_context(|| format!("cannot open object directory {}", paths.objects.display()))?,
            );
            (local.clone(), Some(local))
        }
        ObjectsBackend::S3 => {
            let options = config.objects.s3_options(|name| std::env::var(name).ok())?;
            let s3 = S3Objects::open(&options)
                .await
                .with_context(|| format!("cannot open the S3 object store at {:?}", options.endpoint))?;
            (Arc::new(s3), None)
        }
    };
    // Handlers see the store through `Watched`, which reports failures to the health
    // monitor; the prober (below) probes the store itself.
    let objects_health = Arc::new(ObjectHealth::new());
    let watched = Arc::new(Watched::new(objects.clone(), objects_health.clone(), clock.clone()));
    let services = Services {
        meta,
        objects: watched,
        objects_health: objects_health.clone(),
        clock,
        settings: Arc::new(Settings {
            endpoint_url: url.to_owned(),
            url_ttl_secs: config.uploads.url_ttl_secs,
            upload_url_ttl_secs: config.uploads.upload_url_ttl_secs,
            session_ttl_secs: config.auth.session_ttl_secs,
            max_video_bytes: config.uploads.max_video_bytes,
            max_preview_bytes: config.uploads.max_preview_bytes,
            multipart_threshold: config.uploads.multipart_threshold,
            part_size: config.uploads.part_size,
            abandon_multipart_after_secs: config.uploads.abandon_multipart_after_secs,
            media: config.media_tools(),
            failed_login_delay: Duration::from_millis(config.limits.failed_login_ms),
            transcode_max_attempts: config.worker.max_attempts,
            purge_delay_secs: config.worker.purge_delay_secs,
            stream_token_ttl_secs: config.live.stream_token_ttl_secs,
            ice_servers: ice_servers(config),
            turn,
        }),
        metrics,
        stream_tokens: StreamTokens::new(secret_or_random(&config.live.stream_secret, "live.stream_secret").as_bytes()),
        limits: crate::http_server::limiters(&config.limits),
        views: Arc::new(myvid_core::views::Views::new(config.views.settings())),
    };
    let metrics = services.metrics.clone();
    objects_health.spawn_prober(objects, services.clock.clone(), move |state| {
        metrics.object_store_state.set(i64::from(state.as_u8()));
    });
    Ok((services, local))
}

/// Opens the metadata store the configuration names: the SQLite file in the data
/// directory, or MariaDB / Galera (migrating its schema once per cluster).
pub async fn open_meta(config: &Config) -> anyhow::Result<Arc<dyn MetaStore>> {
    match config.metadata.backend {
        MetadataBackend::Sqlite => {
            let path = DataPaths::new(&config.data_dir).meta;
            let meta = SqliteMeta::open(&path)
                .await
                .with_context(|| format!("cannot open metadata database {}", path.display()))?;
            Ok(Arc::new(meta))
        }
        MetadataBackend::Mariadb => {
            let options = config.metadata.maria_options()?;
            let meta = MariaMeta::open(&options)
                .await
                .with_context(|| format!("cannot open the MariaDB metadata store on {:?}", options.nodes))?;
            Ok(Arc::new(meta))
        }
    }
}

/// Serves `app` (with [`http_server::outer_layers`]) on `listener` until `shutdown`
/// completes and requests in flight are done, then waits for `heartbeats` to remove
/// their registry entries.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    app: Router,
    services: &Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
    heartbeats: Vec<JoinHandle<()>>,
) -> anyhow::Result<()> {
    let app = http_server::outer_layers(app, services);
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

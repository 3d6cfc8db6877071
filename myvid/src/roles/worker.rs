//! The worker role: `myvid worker` claims transcode jobs from the metadata store and
//! turns each published video into an adaptive HLS ladder in the object store
//! (`myvid_worker`); `listen` serves only `/healthz` and `/metrics`. Any number run, on
//! any machines, against one metadata store; with the embedded object store they must
//! share its data directory. `myvid dev` runs one in-process ([`start`]).
//!
//! ```text
//!  open_services ─▶ Worker::start (lanes + housekeeping) ─▶ serve ops until shutdown
//!  shutdown ─▶ stop claiming ─▶ drain (`worker.drain_timeout_secs`) ─▶ release the rest
//! ```

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use myvid_core::metrics::Metrics;
use myvid_core::{Clock, Services};
use myvid_worker::Worker;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::common::{self, open_services, public_url};
use crate::config::Config;

/// Starts a worker on `services` until `stop`; `None` (with a warning) when
/// `worker.enabled` is false.
pub fn start(config: &Config, services: &Services, stop: CancellationToken) -> Option<Worker> {
    if !config.worker.enabled {
        tracing::warn!("`worker.enabled` is false: uploads are not transcoded (they play as uploaded)");
        return None;
    }
    if config.worker.simulated_realtime_input {
        tracing::warn!(
            "`worker.simulated_realtime_input` is on: transcodes run at the input's own speed (testing only)"
        );
    }
    let id = format!("worker-{}-{}", std::process::id(), &myvid_core::transcode::new_job_id()[..8]);
    let settings = config.worker.settings(id, &config.data_dir, &config.media.ffmpeg);
    Some(Worker::start(services.clone(), settings, stop))
}

/// Runs `myvid worker` on `listener` until `shutdown` completes, then drains.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let bound = listener.local_addr().context("listener has no local address")?;
    let url = public_url(&config, bound);
    let (services, _local) = open_services(&config, &url, clock, Arc::new(Metrics::default()), None).await?;
    let stop = CancellationToken::new();
    let mut config = config;
    config.worker.enabled = true;
    let worker = start(&config, &services, stop.clone());
    let app = myvid_api::ops_router(services.clone());
    tracing::info!(%bound, "myvid worker ready");
    println!("myvid worker listening on {url}");
    let drain = config.worker.drain_timeout();
    let shutdown = async move {
        shutdown.await;
        stop.cancel();
        if let Some(worker) = worker {
            worker.drain(drain).await;
        }
    };
    common::serve(&config, listener, app, &services, shutdown, Vec::new()).await
}

//! [`Worker`]: lanes that claim and run jobs, and a housekeeping loop, until stopped.
//!
//! ```text
//!  lane × concurrency: claim_job ─► attempt (ffmpeg, upload) ─► complete / fail / release
//!  purge lane: claim purge ─► delete the video's objects ─► complete (or pass again later)
//!                        │ nothing due: wait poll_every (± jitter)        ▲ lease kept every renew_every
//!  housekeeping every housekeeping_every: expire dead workers' last attempts, enqueue missing jobs
//! ```
//!
//! Shutdown: `stop` ends claiming at once; attempts in flight get the drain time to
//! finish, then they are cancelled (ffmpeg killed) and their jobs released without
//! counting the attempt, so another worker starts them afresh.

use std::sync::Arc;
use std::time::Duration;

use myvid_core::Services;
use myvid_core::ticks::Ticks;
use myvid_store::meta::JobKind;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::attempt::{self, AttemptContext};
use crate::settings::WorkerSettings;

/// A running worker (see the module docs).
pub struct Worker {
    /// The lanes and the housekeeping loop.
    tasks: JoinSet<()>,
    /// Cancels the attempts in flight (after the drain time).
    abort: CancellationToken,
}

impl Worker {
    /// Starts `settings.concurrency` lanes and the housekeeping loop on `services`'
    /// stores, claiming as `settings.id`, until `stop` is cancelled.
    pub fn start(services: Services, settings: WorkerSettings, stop: CancellationToken) -> Worker {
        let settings = Arc::new(settings);
        let abort = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let (work_dir, stale_after) = (settings.work_dir.clone(), settings.transcode.timeout + STALE_MARGIN);
        tasks.spawn_blocking(move || remove_stale_work(&work_dir, stale_after));
        for lane in 0..settings.concurrency.max(1) {
            let context = AttemptContext { services: services.clone(), settings: Arc::clone(&settings) };
            tasks.spawn(run_lane(context, lane, stop.clone(), abort.clone()));
        }
        tasks.spawn(crate::purge_lane::run(services.clone(), Arc::clone(&settings), stop.clone()));
        let (services, every) = (services, settings.housekeeping_every);
        let housekeeping_stop = stop.clone();
        tasks.spawn(async move {
            let mut ticks = Ticks::new(every, housekeeping_stop);
            while ticks.next().await {
                crate::housekeeping::pass(&services).await;
            }
        });
        tracing::info!(worker = %settings.id, lanes = settings.concurrency.max(1), "transcode worker started");
        Worker { tasks, abort }
    }

    /// Waits for the lanes to end after `stop` was cancelled: attempts in flight get
    /// `drain` to finish, then are cancelled and their jobs released.
    pub async fn drain(mut self, drain: Duration) {
        let finished = tokio::time::timeout(drain, async { while self.tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            tracing::warn!(?drain, "jobs still running at the end of the drain time: giving them back to the queue");
            self.abort.cancel();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

/// How much older than the longest transcode a work directory must be to be another
/// worker's leftover (workers on one machine may share the directory).
const STALE_MARGIN: Duration = Duration::from_secs(3600);

/// Removes attempt directories (`job-*`) left by workers that died, older than `age`.
fn remove_stale_work(work_dir: &std::path::Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(work_dir) else { return };
    for entry in entries.flatten() {
        let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|e| e > age));
        if stale && entry.file_name().to_string_lossy().starts_with("job-") {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => tracing::info!(dir = %entry.path().display(), "removed a dead worker's leftovers"),
                Err(e) => tracing::warn!(dir = %entry.path().display(), error = %e, "could not remove leftovers"),
            }
        }
    }
}

/// One lane: claim, run, repeat, until stopped.
async fn run_lane(context: AttemptContext, lane: usize, stop: CancellationToken, abort: CancellationToken) {
    let AttemptContext { services, settings } = &context;
    while !stop.is_cancelled() {
        let wait = if services.objects_health.require_writable().is_err() {
            // Nothing could be stored: leave the jobs to workers that can.
            settings.poll_every
        } else {
            let token = crate::new_token();
            let now = services.clock.now();
            match services
                .meta
                .claim_job(&[JobKind::Transcode], &settings.id, &token, now, now + settings.lease_secs)
                .await
            {
                Ok(Some(job)) => {
                    tracing::info!(lane, job = %job.id, video = %job.video_id, attempt = job.attempts, "job claimed");
                    attempt::run(&context, job, token, abort.clone()).await;
                    continue;
                }
                Ok(None) => settings.poll_every,
                Err(e) => {
                    tracing::warn!(lane, error = %e, "could not claim a job");
                    settings.poll_every
                }
            }
        };
        let jitter = wait.mul_f64(rand::random::<f64>() / 4.0);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait + jitter) => {}
        }
    }
}

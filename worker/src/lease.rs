//! Keeping a claimed job's lease: renewed with its progress every few seconds, for as
//! long as the attempt runs. A renewal the store refuses means another worker took the
//! job over (this worker was presumed dead): the attempt is told to stop at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use myvid_core::Services;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One held job's lease.
pub(crate) struct Lease {
    /// The job.
    pub job_id: String,
    /// Our claim on it.
    pub token: String,
    /// How long each renewal extends it, in seconds.
    pub lease_secs: i64,
    /// How often it is renewed.
    pub renew_every: Duration,
}

impl Lease {
    /// Renews until `done` is cancelled. When the store says the job is no longer ours
    /// it sets `lost`, cancels the attempt (`attempt`) and returns. A store that does not
    /// answer is tried again at the next renewal: the lease outlasts a few failures.
    pub async fn keep(
        self,
        services: Services,
        progress: watch::Receiver<u16>,
        done: CancellationToken,
        attempt: CancellationToken,
        lost: Arc<AtomicBool>,
    ) {
        let mut ticks = tokio::time::interval(self.renew_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let now = services.clock.now();
            let permille = *progress.borrow();
            match services.meta.renew_job(&self.job_id, &self.token, now, now + self.lease_secs, permille).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = %self.job_id, "lost the job's lease to another worker; stopping the attempt");
                    lost.store(true, Ordering::Release);
                    attempt.cancel();
                    return;
                }
                Err(e) => {
                    tracing::warn!(job = %self.job_id, error = %e, "could not renew the job's lease; trying again")
                }
            }
        }
    }
}

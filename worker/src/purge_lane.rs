//! The purge lane: deletes the objects of deleted videos, apart from the transcode
//! lanes so that a long transcode never delays a delete.
//!
//! ```text
//!  claim purge ─► purge_video (list + delete every prefix of the id) ─► upload URLs still valid? ─► release until they expire
//!                                                                                          └ no ─► complete_purge
//! ```
//!
//! A deleted video's presigned upload URLs (and multipart part URLs) may still be
//! used for a while after the delete, so the job passes again once they have expired;
//! every pass lists afresh. A failed pass is retried with backoff like a transcode.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use myvid_core::Services;
use myvid_store::meta::{FailOutcome, Job, JobKind};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::lease::Lease;
use crate::settings::WorkerSettings;

/// Longest one pass may take before it counts as failed.
const PASS_TIMEOUT: Duration = Duration::from_secs(600);

/// How long after a delete a late upload through a still-valid URL can still land:
/// the upload URLs' lifetime and a margin for a PUT in flight.
fn last_upload_at(services: &Services, job: &Job) -> i64 {
    job.created_at + services.settings.upload_url_ttl_secs + 60
}

/// Claims and runs purge jobs until `stop` is cancelled.
pub(crate) async fn run(services: Services, settings: Arc<WorkerSettings>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let token = crate::new_token();
        let now = services.clock.now();
        let wait = match services
            .meta
            .claim_job(&[JobKind::Purge], &settings.id, &token, now, now + settings.lease_secs)
            .await
        {
            Ok(Some(job)) => {
                pass(&services, &settings, job, token).await;
                continue;
            }
            Ok(None) => settings.poll_every,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim a purge job");
                settings.poll_every
            }
        };
        let jitter = wait.mul_f64(rand::random::<f64>() / 4.0);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait + jitter) => {}
        }
    }
}

/// One pass of purge `job`, claimed under `token`, then its outcome recorded.
async fn pass(services: &Services, settings: &WorkerSettings, job: Job, token: String) {
    let done = CancellationToken::new();
    let (_progress, progress_seen) = watch::channel(0_u16);
    let lease = Lease {
        job_id: job.id.clone(),
        token: token.clone(),
        lease_secs: settings.lease_secs,
        renew_every: settings.renew_every,
    };
    let keeper = tokio::spawn(lease.keep(
        services.clone(),
        progress_seen,
        done.clone(),
        CancellationToken::new(),
        Arc::new(AtomicBool::new(false)),
    ));
    let purged =
        tokio::time::timeout(PASS_TIMEOUT, myvid_core::purge::purge_video(&services.objects, &job.video_id)).await;
    done.cancel();
    let _ = keeper.await;
    let now = services.clock.now();
    let outcome = match purged {
        Ok(Ok(deleted)) => {
            services.metrics.purged_objects.inc_by(deleted);
            let again_at = last_upload_at(services, &job);
            if now < again_at {
                tracing::info!(job = %job.id, video = %job.video_id, deleted, "purged; passing again once its upload URLs expire");
                services.meta.release_job(&job.id, &token, now, again_at).await.map(drop)
            } else {
                tracing::info!(job = %job.id, video = %job.video_id, deleted, "deleted video's objects purged");
                services.meta.complete_purge(&job.id, &token, now).await.map(drop)
            }
        }
        Ok(Err(e)) => fail(services, settings, &job, &token, &format!("the object store failed: {e}")).await,
        Err(_) => fail(services, settings, &job, &token, "the purge took too long").await,
    };
    if let Err(e) = outcome {
        tracing::warn!(job = %job.id, error = %e, "could not record a purge pass; its lease will run out");
    }
}

async fn fail(
    services: &Services,
    settings: &WorkerSettings,
    job: &Job,
    token: &str,
    reason: &str,
) -> Result<(), myvid_store::StoreError> {
    let now = services.clock.now();
    let retry_at = now + settings.backoff.delay_secs(job.attempts, rand::random::<f64>());
    let outcome = services.meta.fail_job(&job.id, token, reason, retry_at, now).await?;
    if outcome == FailOutcome::Dead {
        tracing::error!(job = %job.id, video = %job.video_id, %reason, "gave up purging a deleted video's objects");
    } else {
        tracing::warn!(job = %job.id, video = %job.video_id, %reason, ?outcome, "purge pass failed");
    }
    Ok(())
}

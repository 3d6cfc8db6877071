//! What every worker does now and then besides running jobs: dead-letter jobs whose
//! worker died on their last attempt, and enqueue the transcode of stored videos that
//! have none (published before the queue existed, or by a process that stopped between
//! publishing and enqueueing). Both are idempotent, so every worker may do them.

use myvid_core::Services;
use myvid_core::transcode::enqueue_original;

/// Videos enqueued per pass (the rest wait for the next pass).
const ENQUEUE_PER_PASS: u32 = 100;

/// One pass; failures are logged and tried again at the next pass.
pub(crate) async fn pass(services: &Services) {
    let now = services.clock.now();
    match services.meta.expire_jobs(now).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "dead-lettered jobs whose worker died on their last attempt"),
        Err(e) => tracing::warn!(error = %e, "could not expire jobs"),
    }
    let waiting = match services.meta.videos_without_transcode(ENQUEUE_PER_PASS).await {
        Ok(waiting) => waiting,
        Err(e) => return tracing::warn!(error = %e, "could not list videos without a transcode"),
    };
    for (video_id, input_key) in waiting {
        enqueue_original(services, &video_id, &input_key).await;
    }
}

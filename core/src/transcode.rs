//! Transcoding as the API sees it: enqueueing a published video's job, and the status
//! `GET /v1/videos/{id}/transcode` reports. The worker (`myvid-worker`) runs the jobs.

use myvid_store::meta::{Job, JobState, NewJob, Rendition, TranscodeState, Video, VideoSource};
use serde::Serialize;

use crate::error::ApiError;
use crate::services::Services;
use crate::view::may_view;

/// A fresh random job id (128 bits, 32 hex digits).
pub fn new_job_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Enqueues the transcode of a just-published stored video; returns its job. Best
/// effort: a failure is logged (`None`), and the workers' housekeeping enqueues every
/// stored video left without a job.
pub async fn enqueue(services: &Services, video: &Video) -> Option<Job> {
    let VideoSource::Stored { video_key, .. } = &video.source else { return None };
    enqueue_original(services, &video.id, video_key).await
}

/// Enqueues the transcode of stored video `video_id`, whose original is `input_key`
/// (idempotent: a video's existing job is returned as it is). `None`, logged, if the
/// store refused.
pub async fn enqueue_original(services: &Services, video_id: &str, input_key: &str) -> Option<Job> {
    let job = NewJob {
        id: new_job_id(),
        video_id: video_id.to_owned(),
        input_key: input_key.to_owned(),
        max_attempts: services.settings.transcode_max_attempts,
        created_at: services.clock.now(),
    };
    match services.meta.enqueue_transcode(job).await {
        Ok(job) => {
            tracing::info!(video = %video_id, job = %job.id, "transcode enqueued");
            Some(job)
        }
        Err(e) => {
            tracing::warn!(video = %video_id, error = %e, "could not enqueue the transcode; a worker will");
            None
        }
    }
}

/// Where a video's transcode is (`GET /v1/videos/{id}/transcode`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TranscodeStatus {
    /// `PENDING_TRANSCODE` (waiting for a worker, or for its next attempt),
    /// `TRANSCODING`, `READY` or `FAILED`.
    #[schema(value_type = String, pattern = "^(PENDING_TRANSCODE|TRANSCODING|READY|FAILED)$")]
    pub state: &'static str,
    /// Percent done while transcoding (100 when ready).
    pub percent: Option<u8>,
    /// The renditions, once ready, highest first.
    pub renditions: Vec<Rendition>,
    /// The owner only: why the last attempt failed (kept when the video failed).
    pub error: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts allowed before it fails.
    pub max_attempts: u32,
    /// When a failed attempt is tried again (Unix seconds).
    pub next_attempt_at: Option<i64>,
}

/// The status of video `id` for `viewer`: `not_found` unless it is a published stored
/// video the viewer may see.
pub async fn status(services: &Services, viewer: Option<i64>, id: &str) -> Result<TranscodeStatus, ApiError> {
    let not_found = || ApiError::not_found("video");
    let video = services.meta.video(id).await?.filter(|v| may_view(v, viewer)).ok_or_else(not_found)?;
    if !matches!(video.source, VideoSource::Stored { .. }) {
        return Err(not_found());
    }
    let job = services.meta.transcode_job(id).await?;
    let owner = viewer.is_some() && video.owner_id == viewer;
    Ok(describe(&video, job.as_ref(), owner))
}

/// The status of a stored video and its job (if it has one yet).
fn describe(video: &Video, job: Option<&Job>, owner: bool) -> TranscodeStatus {
    let renditions = video.transcode.as_ref().and_then(|t| t.hls.as_ref()).map(|h| h.renditions.clone());
    let mut status = TranscodeStatus {
        state: "PENDING_TRANSCODE",
        percent: None,
        renditions: renditions.unwrap_or_default(),
        error: None,
        attempts: 0,
        max_attempts: 0,
        next_attempt_at: None,
    };
    if video.transcode.as_ref().is_some_and(|t| t.state == TranscodeState::Ready) {
        status.state = "READY";
        status.percent = Some(100);
    }
    let Some(job) = job else { return status };
    status.attempts = job.attempts;
    status.max_attempts = job.max_attempts;
    status.error = job.last_error.clone().filter(|_| owner);
    match job.state {
        JobState::Queued => status.next_attempt_at = (job.attempts > 0).then_some(job.run_after),
        JobState::Running => {
            status.state = "TRANSCODING";
            status.percent = Some(u8::try_from(job.progress_permille.unwrap_or(0).min(1000) / 10).unwrap_or(100));
        }
        JobState::Done => {
            status.state = "READY";
            status.percent = Some(100);
        }
        JobState::Dead => status.state = "FAILED",
    }
    status
}

#[cfg(test)]
mod tests {
    use myvid_store::meta::{HlsMedia, JobKind, Transcode, Visibility};

    use super::*;

    fn video(transcode: Option<Transcode>) -> Video {
        Video {
            id: "v".into(),
            seq: 1,
            owner_id: Some(7),
            owner_name: None,
            title: String::new(),
            description: String::new(),
            source: VideoSource::Stored { video_key: "v/k.mp4".into(), preview_key: "v/k.jpg".into() },
            visibility: Visibility::Public,
            duration_ms: Some(6_000),
            created_at: 0,
            published_at: Some(0),
            transcode,
            views: 0,
        }
    }

    fn job(state: JobState, attempts: u32, progress: Option<u16>, error: Option<&str>) -> Job {
        Job {
            id: "j".into(),
            kind: JobKind::Transcode,
            video_id: "v".into(),
            input_key: "v/k.mp4".into(),
            state,
            attempts,
            max_attempts: 5,
            run_after: 500,
            claimed_by: None,
            lease_until: None,
            progress_permille: progress,
            last_error: error.map(str::to_owned),
            created_at: 0,
            updated_at: 0,
            finished_at: None,
        }
    }

    #[test]
    fn job_states_map_to_the_api_states() {
        let processing = video(Some(Transcode { state: TranscodeState::Processing, hls: None }));
        let waiting = describe(&processing, Some(&job(JobState::Queued, 0, None, None)), true);
        assert_eq!((waiting.state, waiting.percent, waiting.next_attempt_at), ("PENDING_TRANSCODE", None, None));
        let retry = describe(&processing, Some(&job(JobState::Queued, 1, Some(300), Some("boom"))), true);
        assert_eq!((retry.next_attempt_at, retry.error.as_deref()), (Some(500), Some("boom")));
        let running = describe(&processing, Some(&job(JobState::Running, 1, Some(427), None)), false);
        assert_eq!((running.state, running.percent), ("TRANSCODING", Some(42)));
        let failed = video(Some(Transcode { state: TranscodeState::Failed, hls: None }));
        let dead = describe(&failed, Some(&job(JobState::Dead, 5, Some(10), Some("not a video"))), false);
        assert_eq!((dead.state, dead.error), ("FAILED", None), "the reason is the owner's");
        let hls = HlsMedia {
            prefix: "v/hls/j/a1".into(),
            renditions: vec![Rendition { name: "360p".into(), width: 480, height: 360, bandwidth: 900_000 }],
        };
        let ready = video(Some(Transcode { state: TranscodeState::Ready, hls: Some(hls) }));
        let done = describe(&ready, Some(&job(JobState::Done, 1, Some(1000), None)), true);
        assert_eq!((done.state, done.percent, done.renditions.len()), ("READY", Some(100), 1));
        assert_eq!(describe(&video(None), None, true).state, "PENDING_TRANSCODE", "no job yet");
    }
}

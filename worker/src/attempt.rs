//! One attempt at one job: fetch the original, make the ladder with one ffmpeg pass,
//! upload it under a prefix of its own, and switch the video to it — or say why not.
//!
//! ```text
//!  claim ─► lease keeper (renew + progress, every renew_every) ───────────────┐ lost: cancel
//!        └► work (own task: a panic is a failed attempt, never a dead worker)  ▼
//!             fetch original ─► probe ─► ffmpeg ─► validate ─► upload ─► complete_transcode
//!  failure ─► fail_job (backoff, or dead letter)   shutdown ─► release_job   lease lost ─► delete uploads
//! ```
//!
//! Idempotent: each attempt writes under `{video}/hls/{job}/a{attempt}/`, and only
//! [`complete_transcode`](myvid_store::MetaStore::complete_transcode) under a still-held
//! claim makes a ladder the video's. A second run of a job never overwrites the first's
//! objects, and a run that lost its claim deletes what it uploaded.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use myvid_core::Services;
use myvid_core::media::{self, Probe};
use myvid_store::meta::{FailOutcome, HlsMedia, Job};
use myvid_store::objects::Bucket;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::lease::Lease;
use crate::settings::WorkerSettings;
use crate::transcode::{self, SourceInfo};

/// What every attempt of a worker shares.
#[derive(Clone)]
pub(crate) struct AttemptContext {
    /// The stores and clock.
    pub services: Services,
    /// The worker's settings.
    pub settings: Arc<WorkerSettings>,
}

/// Progress (permille) at which encoding ends and uploading begins.
const ENCODED: u16 = 900;

/// Tries a few times to record a finished ladder: after all that work, a store hiccup
/// should not cost the attempt.
const COMPLETE_TRIES: u32 = 4;

/// A ladder made and uploaded, not yet the video's.
struct Made {
    hls: HlsMedia,
    keys: Vec<String>,
}

/// Runs one attempt of `job`, claimed under `token`, to its end (see the module docs).
/// `abort` cancels it (the worker is shutting down): the job is then released.
pub(crate) async fn run(context: &AttemptContext, job: Job, token: String, abort: CancellationToken) {
    let AttemptContext { services, settings } = context;
    services.metrics.transcodes_claimed.inc();
    let started = Instant::now();
    let cancel = abort.child_token();
    let lost = Arc::new(AtomicBool::new(false));
    let (progress, progress_seen) = watch::channel(0_u16);
    let done = CancellationToken::new();
    let lease = Lease {
        job_id: job.id.clone(),
        token: token.clone(),
        lease_secs: settings.lease_secs,
        renew_every: settings.renew_every,
    };
    let keeper =
        tokio::spawn(lease.keep(services.clone(), progress_seen, done.clone(), cancel.clone(), Arc::clone(&lost)));
    let work = tokio::spawn(make_ladder(context.clone(), job.clone(), progress, cancel.clone()));
    let result = work.await.unwrap_or_else(|e| {
        tracing::error!(job = %job.id, error = %e, "the attempt panicked");
        Err("the worker hit an internal error".to_owned())
    });
    done.cancel();
    let _ = keeper.await;
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(made) => finish(services, &job, &token, made, seconds).await,
        Err(_) if lost.load(Ordering::Acquire) => {
            services.metrics.transcode_leases_lost.inc();
            tracing::warn!(job = %job.id, "attempt stopped: another worker holds the job now");
        }
        Err(_) if abort.is_cancelled() => {
            let now = services.clock.now();
            match services.meta.release_job(&job.id, &token, now, now).await {
                Ok(_) => tracing::info!(job = %job.id, "shutting down: job given back to the queue"),
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "could not give the job back; its lease will run out")
                }
            }
        }
        Err(reason) => {
            let now = services.clock.now();
            let retry_at = now + settings.backoff.delay_secs(job.attempts, rand::random::<f64>());
            match services.meta.fail_job(&job.id, &token, &reason, retry_at, now).await {
                Ok(outcome) => {
                    match outcome {
                        FailOutcome::Retried => services.metrics.transcodes_retried.inc(),
                        FailOutcome::Dead => services.metrics.transcodes_dead.inc(),
                        FailOutcome::LeaseLost => services.metrics.transcode_leases_lost.inc(),
                    };
                    tracing::warn!(job = %job.id, attempt = job.attempts, ?outcome, %reason, "attempt failed");
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, %reason, "attempt failed and could not be recorded")
                }
            }
        }
    }
}

/// Makes the finished ladder the video's, or deletes it if the job is no longer ours.
async fn finish(services: &Services, job: &Job, token: &str, made: Made, seconds: f64) {
    for try_number in 1..=COMPLETE_TRIES {
        match services.meta.complete_transcode(&job.id, token, &made.hls, services.clock.now()).await {
            Ok(true) => {
                services.metrics.transcodes_done.inc();
                services.metrics.transcode_seconds.observe(seconds);
                let names: Vec<&str> = made.hls.renditions.iter().map(|r| r.name.as_str()).collect();
                tracing::info!(job = %job.id, video = %job.video_id, renditions = ?names, seconds, "video transcoded");
                remove_other_attempts(services, job, &made.hls.prefix).await;
                return;
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "the job was taken over before it finished; deleting this attempt's ladder");
                delete_keys(services, &made.keys).await;
                return;
            }
            Err(e) if try_number < COMPLETE_TRIES => {
                tracing::warn!(job = %job.id, error = %e, "could not record the finished ladder; trying again");
                tokio::time::sleep(Duration::from_secs(u64::from(try_number))).await;
            }
            // Unknown outcome: the ladder may be the video's now, so it stays (the job's
            // lease runs out and another attempt finds it done or makes its own).
            Err(e) => tracing::warn!(job = %job.id, error = %e, "could not record the finished ladder"),
        }
    }
}

/// Deletes what earlier attempts of `job` left in the store (a worker killed while
/// uploading cannot clean up after itself). None of it was ever served: only the
/// attempt that completes the job, `kept`, becomes the video's. Best effort.
async fn remove_other_attempts(services: &Services, job: &Job, kept: &str) {
    let job_prefix = format!("{}/hls/{}/", job.video_id, job.id);
    let kept = format!("{kept}/");
    let mut after: Option<String> = None;
    loop {
        let page = match services.objects.list_keys(Bucket::Videos, &job_prefix, after.as_deref(), 1000).await {
            Ok(page) => page,
            Err(e) => return tracing::warn!(job = %job.id, error = %e, "could not list earlier attempts' objects"),
        };
        let stale: Vec<String> = page.iter().filter(|k| !k.starts_with(&kept)).cloned().collect();
        if !stale.is_empty() {
            tracing::info!(job = %job.id, objects = stale.len(), "deleting what earlier attempts left");
            delete_keys(services, &stale).await;
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.clone()),
            _ => return,
        }
    }
}

/// Deletes uploaded objects (best effort: unreferenced ones are never served).
async fn delete_keys(services: &Services, keys: &[String]) {
    for key in keys {
        if let Err(e) = services.objects.delete(Bucket::Videos, key).await {
            tracing::warn!(%key, error = %e, "could not delete an unused ladder object");
        }
    }
}

/// The work of an attempt, in its own task: a ladder uploaded under the attempt's
/// prefix, or the reason (in words for the owner) why not.
async fn make_ladder(
    context: AttemptContext,
    job: Job,
    progress: watch::Sender<u16>,
    cancel: CancellationToken,
) -> Result<Made, String> {
    let AttemptContext { services, settings } = &context;
    let video = services.meta.video(&job.video_id).await.map_err(|e| format!("the metadata store failed: {e}"))?;
    let video = video.ok_or("the video no longer exists")?;
    tokio::fs::create_dir_all(&settings.work_dir)
        .await
        .map_err(|e| format!("the worker cannot use its work directory: {e}"))?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("job-{}-", job.id))
        .tempdir_in(&settings.work_dir)
        .map_err(|e| format!("the worker cannot use its work directory: {e}"))?;
    let input = dir.path().join("original");
    fetch(services, &job.input_key, &input, settings.transcode.timeout, &cancel).await?;

    let source = probe(services, &input, video.duration_ms).await?;
    let out = dir.path().join("hls");
    tokio::fs::create_dir_all(&out).await.map_err(|e| format!("the worker cannot write its output: {e}"))?;
    let encoding = progress.clone();
    let report = move |step: transcode::Progress| {
        // Encoding is the first 90 %, uploading the rest.
        let share = u32::from(step.permille.min(1000)) * u32::from(ENCODED) / 1000;
        let _ = encoding.send(u16::try_from(share).unwrap_or(ENCODED));
    };
    let ladder = transcode::transcode(&input, &out, &source, &settings.transcode, report, &cancel)
        .await
        .map_err(|e| e.to_string())?;
    let prefix = format!("{}/hls/{}/a{}", job.video_id, job.id, job.attempts);
    let keys = upload(services, &out, &prefix, &ladder.files, &progress, &cancel).await?;
    let renditions = ladder.renditions;
    Ok(Made { hls: HlsMedia { prefix, renditions }, keys })
}

/// Copies the original from the videos bucket to `to` (a local file: ffmpeg seeks in
/// it, and a long job never outlives a URL), within `limit`.
async fn fetch(
    services: &Services,
    key: &str,
    to: &Path,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let copy = async {
        let mut body = services
            .objects
            .get_stream(Bucket::Videos, key, None)
            .await
            .map_err(|e| format!("the original could not be read: {e}"))?;
        let mut file =
            tokio::fs::File::create(to).await.map_err(|e| format!("the worker cannot write its copy: {e}"))?;
        tokio::io::copy(&mut body, &mut file).await.map_err(|e| format!("the original could not be read: {e}"))?;
        Ok(())
    };
    tokio::select! {
        () = cancel.cancelled() => Err("stopped".to_owned()),
        copied = tokio::time::timeout(limit, copy) => copied.unwrap_or_else(|_| Err("fetching the original took too long".to_owned())),
    }
}

/// What the ladder is made from: the original's picture size and turn, audio, length.
async fn probe(services: &Services, input: &Path, duration_ms: Option<i64>) -> Result<SourceInfo, String> {
    let path = input.to_str().ok_or("the work directory's path is not UTF-8")?;
    let probed = media::probe(&services.settings.media, path)
        .await
        .map_err(|e| format!("the original could not be checked: {e}"))?;
    let (video, has_audio, claimed) = match probed {
        Probe::Media { video: Some(video), has_audio, claimed_seconds, .. } => (video, has_audio, claimed_seconds),
        Probe::Media { video: None, .. } => return Err("the file has no video stream".to_owned()),
        Probe::Unreadable(why) => return Err(why),
    };
    if video.width == 0 || video.height == 0 || video.width.saturating_mul(video.height) > media::MAX_PIXELS {
        return Err(format!("the picture size {}×{} is not one we transcode", video.width, video.height));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let claimed_ms = claimed.map(|s| (s * 1000.0) as i64);
    let duration_ms = duration_ms.or(claimed_ms).filter(|ms| *ms > 0).ok_or("the video's length is unknown")?;
    Ok(SourceInfo {
        width: u32::try_from(video.width).unwrap_or(u32::MAX),
        height: u32::try_from(video.height).unwrap_or(u32::MAX),
        rotation: i32::try_from(video.rotation).unwrap_or(0),
        has_audio,
        duration_ms: duration_ms.unsigned_abs(),
        fps: None,
    })
}

/// Uploads the ladder's files (relative to `dir`, master playlist last) under `prefix`;
/// on failure deletes what it uploaded. Returns the keys.
async fn upload(
    services: &Services,
    dir: &Path,
    prefix: &str,
    files: &[String],
    progress: &watch::Sender<u16>,
    cancel: &CancellationToken,
) -> Result<Vec<String>, String> {
    let mut keys = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let stored = async {
            if cancel.is_cancelled() {
                return Err("stopped".to_owned());
            }
            let key = format!("{prefix}/{file}");
            let body =
                tokio::fs::File::open(dir.join(file)).await.map_err(|e| format!("an output file vanished: {e}"))?;
            services
                .objects
                .put_stream(Bucket::Videos, &key, Box::pin(body))
                .await
                .map_err(|e| format!("the ladder could not be stored: {e}"))?;
            Ok(key)
        }
        .await;
        match stored {
            Ok(key) => keys.push(key),
            Err(why) => {
                delete_keys(services, &keys).await;
                return Err(why);
            }
        }
        let done = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let total = u32::try_from(files.len()).unwrap_or(u32::MAX).max(1);
        let _ = progress.send(ENCODED + u16::try_from(done.min(total) * 100 / total).unwrap_or(100));
    }
    Ok(keys)
}

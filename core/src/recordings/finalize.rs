//! [`finalize`]: an ended stream's recording into the stored video at its id (see the
//! parent module for the steps).

use std::path::PathBuf;

use myvid_store::meta::PublishedMedia;
use myvid_store::objects::media_type::MediaType;
use myvid_store::{Bucket, StoreError};

use super::join::{JoinError, Run, join_run, join_runs};
use super::{MAX_RUNS, SegmentFormat, run_format, segment_key};
use crate::media::{self, DecodeCheck, Probe};
use crate::services::Services;

/// How long a finalizer's claim lasts: a finalizer that dies is replaced after this.
pub const CLAIM_SECS: i64 = 600;

/// What [`finalize`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finalized {
    /// The stream is now a stored video of this many milliseconds.
    Published {
        /// Its decoded length.
        duration_ms: i64,
    },
    /// Another finalizer holds it, or it is not an ended stream with a recording.
    NotClaimed,
    /// Nothing playable was recorded; the recording was dropped (why).
    Dropped(String),
}

/// Why finalizing stopped without an answer (the claim expires; it is tried again).
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// The metadata or object store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// ffmpeg or ffprobe could not run, or timed out.
    #[error("media tools: {0}")]
    Tools(String),
}

/// Makes `stream`'s recording the stored video at its id, as `claimer` (this server's
/// id). Safe to call from several servers at once: one claims it, the others get
/// [`Finalized::NotClaimed`].
pub async fn finalize(services: &Services, stream: &str, claimer: &str) -> Result<Finalized, FinalizeError> {
    let now = services.clock.now();
    let Some(last) = services.meta.claim_recording(stream, claimer, now, now + CLAIM_SECS).await? else {
        return Ok(Finalized::NotClaimed);
    };
    let dir = tempfile::tempdir().map_err(|e| FinalizeError::Tools(format!("no temporary directory: {e}")))?;
    let mut runs = Vec::new();
    let mut run_files = Vec::new();
    for run in 1..=MAX_RUNS {
        let Some(format) = run_format(services.objects.as_ref(), stream, run).await? else { break };
        runs.push((run, format));
        let file = dir.path().join(format!("run{run}.{}", format.joined().extension()));
        let media = &services.settings.media;
        match join_run(services.objects.as_ref(), media, Run { stream, run, format, last }, &file).await {
            Ok(found) => {
                tracing::info!(%stream, run, found, last, "recording run joined");
                run_files.push((file, format));
            }
            Err(JoinError::Store(e)) => return Err(e.into()),
            Err(JoinError::Timeout(t)) => return Err(FinalizeError::Tools(format!("join took longer than {t:?}"))),
            Err(JoinError::Ffmpeg(why)) => tracing::warn!(%stream, run, %why, "a recording run could not be joined"),
        }
    }
    if run_files.is_empty() {
        return drop_recording(services, stream, &runs, last, "no run of the recording could be joined").await;
    }
    let joined = combine_runs(services, stream, dir.path(), run_files).await;
    publish(services, stream, &runs, last, joined).await
}

/// One file of the runs' joined files (at least one): the only one, or all of them joined
/// when they share a format; when that fails, or their codecs differ, the last run.
async fn combine_runs(
    services: &Services,
    stream: &str,
    dir: &std::path::Path,
    mut run_files: Vec<(PathBuf, SegmentFormat)>,
) -> PathBuf {
    let last_format = run_files.last().map(|(_, format)| *format);
    let last_file = |mut files: Vec<(PathBuf, SegmentFormat)>| files.pop().map(|(file, _)| file).unwrap_or_default();
    if run_files.len() == 1 {
        return run_files.remove(0).0;
    }
    let Some(format) = last_format.filter(|last| run_files.iter().all(|(_, format)| format == last)) else {
        tracing::warn!(%stream, "the runs were recorded in different codecs; keeping the last one");
        return last_file(run_files);
    };
    let kind = format.joined();
    let file = dir.join(format!("joined.{}", kind.extension()));
    let files: Vec<PathBuf> = run_files.iter().map(|(file, _)| file.clone()).collect();
    match join_runs(&services.settings.media, &files, kind, &file).await {
        Ok(()) if file.exists() => file,
        Ok(()) => last_file(run_files),
        Err(e) => {
            tracing::warn!(%stream, error = %e, "runs could not be joined; keeping the last one");
            last_file(run_files)
        }
    }
}

/// Checks the joined file, stores it and its thumbnail, and publishes the recording.
async fn publish(
    services: &Services,
    stream: &str,
    runs: &[(u32, SegmentFormat)],
    last: u32,
    file: PathBuf,
) -> Result<Finalized, FinalizeError> {
    let tools = &services.settings.media;
    let input = file.to_string_lossy().into_owned();
    let tool_failed = |e: media::ToolError| FinalizeError::Tools(e.to_string());
    let probed = media::probe(tools, &input).await.map_err(tool_failed)?;
    let kind = match media::video_type(&probed) {
        Ok(kind) => kind,
        Err(why) => return drop_recording(services, stream, runs, last, &why).await,
    };
    let claimed = match probed {
        Probe::Media { claimed_seconds, .. } => claimed_seconds,
        Probe::Unreadable(_) => None,
    };
    let duration_ms = match media::decode_check(tools, &input, claimed).await.map_err(tool_failed)? {
        DecodeCheck::Plays { duration_ms } => duration_ms,
        DecodeCheck::Broken(why) => return drop_recording(services, stream, runs, last, &why).await,
    };
    let jpeg = match media::thumbnail(tools, &input).await.map_err(tool_failed)? {
        Ok(jpeg) => jpeg,
        Err(why) => return drop_recording(services, stream, runs, last, &why).await,
    };
    let nonce = format!("{:016x}", rand::random::<u64>());
    let video_key = format!("{stream}/{nonce}.{}", kind.extension());
    let preview_key = format!("{stream}/{nonce}.{}", MediaType::Jpeg.extension());
    let body = tokio::fs::File::open(&file).await.map_err(|e| FinalizeError::Tools(e.to_string()))?;
    services.objects.put_stream(Bucket::Videos, &video_key, Box::pin(body)).await?;
    services.objects.put(Bucket::Previews, &preview_key, jpeg).await?;
    let media = PublishedMedia { video_key: video_key.clone(), preview_key: preview_key.clone(), duration_ms };
    match services.meta.publish_recording(stream, &media, services.clock.now()).await {
        Ok(published) => {
            crate::transcode::enqueue(services, &published).await;
            services.metrics.videos_published.inc();
            tracing::info!(%stream, duration_ms, "recording published");
            delete_segments(services, stream, runs, last).await;
            Ok(Finalized::Published { duration_ms })
        }
        Err(e) => {
            for (bucket, key) in [(Bucket::Videos, &video_key), (Bucket::Previews, &preview_key)] {
                let _ = services.objects.delete(bucket, key).await;
            }
            if matches!(e, StoreError::NotFound) { Ok(Finalized::NotClaimed) } else { Err(e.into()) }
        }
    }
}

/// Gives up a recording nothing playable came of, and removes its segments.
async fn drop_recording(
    services: &Services,
    stream: &str,
    runs: &[(u32, SegmentFormat)],
    last: u32,
    why: &str,
) -> Result<Finalized, FinalizeError> {
    tracing::warn!(%stream, %why, "the recording could not be made into a video; dropped");
    services.meta.drop_recording(stream).await?;
    delete_segments(services, stream, runs, last).await;
    Ok(Finalized::Dropped(why.to_owned()))
}

/// Removes every segment of `runs` (best effort: staging is never served).
async fn delete_segments(services: &Services, stream: &str, runs: &[(u32, SegmentFormat)], last: u32) {
    for &(run, format) in runs {
        for index in 0..=last {
            let key = segment_key(stream, run, index, format.extension());
            let _ = services.objects.delete(Bucket::Staging, &key).await;
        }
    }
}

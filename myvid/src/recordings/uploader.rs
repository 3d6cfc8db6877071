//! [`SegmentUploader`]: the [`RecordingSink`] the SFU's recorders write to. Segments
//! wait in a small bounded queue for one uploader task, which stores each one (with a
//! timeout and a few retries) and notes it in the metadata store; a full queue refuses
//! the segment at once, so a slow store never holds up a recorder (the recording gets a
//! gap there). When a recording ends, the uploader finalizes it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use myvid_core::Services;
use myvid_core::recordings::{self, Finalized, MAX_RUNS, segment_key};
use myvid_sfu::record::{RecordingSink, RecordingSummary, Segment, SinkFull};
use myvid_store::Bucket;
use tokio::sync::mpsc;

/// Segments waiting for the store, at most (about 30 s of one stream, or one segment
/// each of several): beyond it segments are dropped rather than held in memory.
pub const SEGMENT_QUEUE: usize = 4;
/// How long one segment's write may take.
const PUT_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts per segment.
const PUT_ATTEMPTS: u32 = 3;
/// Tries to finalize an ended recording whose stream is not marked ended yet.
const FINALIZE_ATTEMPTS: u32 = 6;

enum Job {
    Segment { stream: String, segment: Segment },
    Finished { stream: String, summary: RecordingSummary },
}

/// The recorders' sink (see the module docs).
pub struct SegmentUploader {
    jobs: mpsc::Sender<Job>,
}

impl SegmentUploader {
    /// Starts the uploader task; `server_id` claims recordings to finalize.
    pub fn start(services: Services, server_id: String) -> Arc<SegmentUploader> {
        let (jobs, queue) = mpsc::channel(SEGMENT_QUEUE);
        tokio::spawn(run(services, server_id, queue));
        Arc::new(SegmentUploader { jobs })
    }
}

impl RecordingSink for SegmentUploader {
    fn segment(&self, stream_id: &str, segment: Segment) -> Result<(), SinkFull> {
        self.jobs.try_send(Job::Segment { stream: stream_id.to_owned(), segment }).map_err(|_| SinkFull)
    }

    fn finished(&self, stream_id: &str, summary: RecordingSummary) {
        let job = Job::Finished { stream: stream_id.to_owned(), summary };
        // Never dropped: it waits behind the segments, off the recorder's task.
        let jobs = self.jobs.clone();
        tokio::spawn(async move {
            let _ = jobs.send(job).await;
        });
    }
}

async fn run(services: Services, server_id: String, mut queue: mpsc::Receiver<Job>) {
    // The run each recording in progress writes (one per publication of the stream).
    let mut runs: HashMap<String, u32> = HashMap::new();
    while let Some(job) = queue.recv().await {
        match job {
            Job::Segment { stream, segment } => {
                if segment.index == 0 {
                    let run = free_run(&services, &stream).await;
                    runs.insert(stream.clone(), run);
                }
                let Some(&run) = runs.get(&stream) else {
                    tracing::warn!(%stream, index = segment.index, "segment of a recording whose header was lost: dropped");
                    continue;
                };
                store_segment(&services, &stream, run, segment).await;
            }
            Job::Finished { stream, summary } => {
                runs.remove(&stream);
                if summary.segments > 1 {
                    let (services, server_id) = (services.clone(), server_id.clone());
                    tokio::spawn(async move { finalize_when_ended(&services, &stream, &server_id).await });
                }
            }
        }
    }
}

/// The first run number of `stream` with no header stored yet.
async fn free_run(services: &Services, stream: &str) -> u32 {
    for run in 1..=MAX_RUNS {
        match recordings::run_format(services.objects.as_ref(), stream, run).await {
            Ok(None) => return run,
            Ok(Some(_)) => {}
            Err(e) => {
                tracing::warn!(%stream, error = %e, "cannot look for earlier recording runs; taking run 1");
                return 1;
            }
        }
    }
    MAX_RUNS
}

async fn store_segment(services: &Services, stream: &str, run: u32, segment: Segment) {
    let key = segment_key(stream, run, segment.index, segment.container.extension());
    let bytes = segment.bytes.len();
    for attempt in 1..=PUT_ATTEMPTS {
        let put = services.objects.put(Bucket::Staging, &key, segment.bytes.clone());
        match tokio::time::timeout(PUT_TIMEOUT, put).await {
            Ok(Ok(())) => {
                services.metrics.recording_segments.inc();
                services.metrics.recording_bytes.inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
                if let Err(e) = services.meta.note_recording_segment(stream, segment.index).await {
                    tracing::warn!(%stream, %key, error = %e, "a stored segment could not be noted");
                }
                return;
            }
            Ok(Err(e)) => tracing::warn!(%stream, %key, attempt, error = %e, "segment not stored"),
            Err(_) => tracing::warn!(%stream, %key, attempt, "segment not stored in {PUT_TIMEOUT:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500) * attempt).await;
    }
    services.metrics.recording_segments_lost.inc();
    tracing::error!(%stream, %key, "a recording segment was lost: the recording has a gap");
}

/// Finalizes `stream`'s recording once the stream is marked ended (which its live-state
/// task does at about the same time as the recorder ends).
async fn finalize_when_ended(services: &Services, stream: &str, server_id: &str) {
    for attempt in 0..FINALIZE_ATTEMPTS {
        tokio::time::sleep(Duration::from_millis(500) * (1 << attempt)).await;
        match recordings::finalize(services, stream, server_id).await {
            Ok(Finalized::NotClaimed) => continue,
            Ok(Finalized::Published { duration_ms }) => {
                tracing::info!(%stream, duration_ms, "recording finalized");
                return;
            }
            Ok(Finalized::Dropped(why)) => {
                tracing::warn!(%stream, %why, "recording dropped");
                return;
            }
            Err(e) => {
                tracing::warn!(%stream, error = %e, "recording not finalized now; the sweeper will try again");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use myvid_core::recordings::SegmentFormat;
    use myvid_sfu::record::Container;

    #[test]
    fn every_container_the_sfu_writes_is_a_format_finalize_joins() {
        for container in [Container::Webm, Container::Matroska] {
            let named = SegmentFormat::ALL.iter().any(|f| f.extension() == container.extension());
            assert!(named, "{container:?} segments would never be found");
        }
    }
}

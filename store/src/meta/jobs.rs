//! The job queue's types: transcode jobs kept in the metadata store, claimed by workers
//! under a lease, retried with backoff and dead-lettered with their reason.
//!
//! A job's life:
//!
//! ```text
//!   enqueue ─► queued ──claim──► running ──complete──► done
//!                ▲                 │  │
//!                └──fail (retry)───┘  └──fail (last attempt) / lease lost on it──► dead
//! ```
//!
//! A claim writes a fresh token; every later change names it and happens only while
//! the job is still running under it, so a worker that lost its lease (its job was
//! taken over) can change nothing. A lease that runs out makes the job claimable again.

use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Turn a stored video's original into an adaptive HLS ladder.
    Transcode,
    /// Delete every object of a deleted video (its row is gone; the job outlives it).
    Purge,
}

impl JobKind {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Transcode => "transcode",
            JobKind::Purge => "purge",
        }
    }

    /// The kind a database value names.
    pub fn parse(text: &str) -> Option<JobKind> {
        match text {
            "transcode" => Some(JobKind::Transcode),
            "purge" => Some(JobKind::Purge),
            _ => None,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for a worker (first time, or again after a failed attempt).
    Queued,
    /// Held by a worker under a lease.
    Running,
    /// Finished with a result.
    Done,
    /// Failed its last attempt: kept with the reason (the dead letter).
    Dead,
}

impl JobState {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    /// The state a database value names.
    pub fn parse(text: &str) -> Option<JobState> {
        match text {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            "dead" => Some(JobState::Dead),
            _ => None,
        }
    }
}

/// What is needed to enqueue a transcode job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Random 128-bit id, 32 lowercase hex digits.
    pub id: String,
    /// The stored video to transcode.
    pub video_id: String,
    /// Its original's key in [`crate::Bucket::Videos`] (must be the video's key now).
    pub input_key: String,
    /// Attempts before the job is dead-lettered (1–100).
    pub max_attempts: u32,
    /// Unix seconds; the job may run from then on.
    pub created_at: i64,
}

/// What is needed to queue the purge of a video being deleted
/// ([`crate::MetaStore::delete_video`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurge {
    /// Random 128-bit id, 32 lowercase hex digits.
    pub id: String,
    /// Attempts before the job is dead-lettered (1–100).
    pub max_attempts: u32,
    /// Unix seconds; the job may run from then on (after running transcodes noticed
    /// their lost job and stopped writing).
    pub run_after: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Random id.
    pub id: String,
    /// What it does.
    pub kind: JobKind,
    /// The video it works on.
    pub video_id: String,
    /// Transcode: the original it reads, in [`crate::Bucket::Videos`]. Purge: the
    /// video's id (the prefix of its objects).
    pub input_key: String,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far (a claim counts one; a release gives it back).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Unix seconds before which a queued job is not claimed (backoff).
    pub run_after: i64,
    /// The worker that holds (or last held) it.
    pub claimed_by: Option<String>,
    /// Unix seconds when the running attempt's lease ends.
    pub lease_until: Option<i64>,
    /// Progress of the running (or last) attempt, 0–1000.
    pub progress_permille: Option<u16>,
    /// Why the last attempt failed (kept when the job is dead).
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last change.
    pub updated_at: i64,
    /// Unix seconds when it was done or dead-lettered.
    pub finished_at: Option<i64>,
}

/// Where a stored video is in being made into HLS (the video row's view of its job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TranscodeState {
    /// A job is queued or running; the original plays meanwhile.
    Processing,
    /// The HLS ladder is stored and plays.
    Ready,
    /// The job was dead-lettered; the original still plays.
    Failed,
}

impl TranscodeState {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TranscodeState::Processing => "processing",
            TranscodeState::Ready => "ready",
            TranscodeState::Failed => "failed",
        }
    }

    /// The state a database value names.
    pub fn parse(text: &str) -> Option<TranscodeState> {
        match text {
            "processing" => Some(TranscodeState::Processing),
            "ready" => Some(TranscodeState::Ready),
            "failed" => Some(TranscodeState::Failed),
            _ => None,
        }
    }
}

/// One rung of a stored HLS ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rendition {
    /// Its name and directory, e.g. `720p`.
    pub name: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Peak bits per second, as the master playlist declares it.
    pub bandwidth: u64,
}

/// A stored HLS ladder: `{prefix}/master.m3u8`, `{prefix}/{rendition}/index.m3u8` and
/// their segments, in [`crate::Bucket::Videos`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsMedia {
    /// Key prefix, without a trailing `/` (unique to the attempt that made it).
    pub prefix: String,
    /// The rungs, highest first.
    pub renditions: Vec<Rendition>,
}

impl HlsMedia {
    /// The master playlist's key.
    pub fn master_key(&self) -> String {
        format!("{}/master.m3u8", self.prefix)
    }
}

/// A stored video's transcoding, as its row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcode {
    /// Processing, ready or failed.
    pub state: TranscodeState,
    /// The ladder, once ready.
    pub hls: Option<HlsMedia>,
}

/// What a failed attempt did to its job ([`crate::MetaStore::fail_job`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, to run after its backoff.
    Retried,
    /// That was its last attempt: dead-lettered, and its video marked failed.
    Dead,
    /// The lease was no longer ours: nothing changed.
    LeaseLost,
}

/// The columns a job row reads, in the order of [`JobColumns`].
pub(crate) const JOB_COLUMNS: &str = "id, kind, video_id, input_key, state, attempts, max_attempts, run_after, \
     claimed_by, lease_until, progress_permille, last_error, created_at, updated_at, finished_at";

/// `kinds` as an SQL list of literals (`'transcode', 'purge'`); `NULL` (matching
/// nothing) when empty. The spellings are constants, never input.
pub(crate) fn kind_list(kinds: &[JobKind]) -> String {
    if kinds.is_empty() {
        return "NULL".to_owned();
    }
    kinds.iter().map(|kind| format!("'{}'", kind.as_str())).collect::<Vec<_>>().join(", ")
}

/// The longest `last_error` kept, in characters (the column's limit).
pub(crate) const MAX_ERROR_CHARS: usize = 1000;

/// `error` cut to what the `last_error` column holds.
pub(crate) fn kept_error(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// What a job ends with when its worker died on its last attempt.
pub(crate) const WORKER_LOST: &str = "the worker running its last attempt stopped answering";

/// A `jobs` row as read from any backend, in [`JOB_COLUMNS`] order.
pub(crate) struct JobColumns {
    pub id: String,
    pub kind: String,
    pub video_id: String,
    pub input_key: String,
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: i64,
    pub claimed_by: Option<String>,
    pub lease_until: Option<i64>,
    pub progress_permille: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl JobColumns {
    /// The job, or a description of the value the schema does not allow.
    pub fn into_job(self) -> Result<Job, String> {
        Ok(Job {
            kind: JobKind::parse(&self.kind).ok_or_else(|| format!("unknown job kind {:?}", self.kind))?,
            state: JobState::parse(&self.state).ok_or_else(|| format!("unknown job state {:?}", self.state))?,
            id: self.id,
            video_id: self.video_id,
            input_key: self.input_key,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            run_after: self.run_after,
            claimed_by: self.claimed_by,
            lease_until: self.lease_until,
            progress_permille: self.progress_permille,
            last_error: self.last_error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }
}

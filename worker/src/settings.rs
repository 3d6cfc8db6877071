//! [`WorkerSettings`]: what a worker is configured with.

use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::transcode::Settings;

/// A worker's settings (the `[worker]` section of the configuration).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This worker's name in the jobs it claims (unique per process).
    pub id: String,
    /// Jobs run at once (each is one ffmpeg, which uses several cores on its own).
    pub concurrency: usize,
    /// How long a claim holds without renewal, in seconds: a worker silent for this
    /// long is presumed dead and its job is taken over.
    pub lease_secs: i64,
    /// How often a running job's lease is renewed (with its progress).
    pub renew_every: Duration,
    /// How long a lane waits when there is nothing to do.
    pub poll_every: Duration,
    /// How often the housekeeping pass runs.
    pub housekeeping_every: Duration,
    /// The wait between attempts.
    pub backoff: Backoff,
    /// Where originals are fetched to and ladders written before upload.
    pub work_dir: PathBuf,
    /// How the ladder is made.
    pub transcode: Settings,
}

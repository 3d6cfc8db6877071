//! MyVid's transcode worker: claims jobs from the queue in the metadata store and
//! makes each published video into an adaptive HLS ladder with one ffmpeg pass.
//!
//! ```text
//!   metadata store (jobs table)                         object store
//!        │ claim / renew / complete / fail / release         ▲ put_stream (segments, playlists)
//!        ▼                                                    │
//!   pool: lanes ──► attempt ──► transcode: ffmpeg (every rung) ──► temp dir ──► validate ──► upload
//!         purge lane: deleted videos' objects (list + delete under the video's prefixes)
//!         housekeeping: dead workers' last attempts, videos without a job
//! ```
//!
//! [`transcode`] holds the media part (which rungs, the ffmpeg command, its progress,
//! the output check, the process runner); [`Worker`] the queue part.

mod attempt;
mod backoff;
mod housekeeping;
mod lease;
mod pool;
mod purge_lane;
mod settings;
pub mod transcode;

pub use backoff::Backoff;
pub use pool::Worker;
pub use settings::WorkerSettings;

/// A fresh random claim token or id (128 bits, 32 hex digits).
pub(crate) fn new_token() -> String {
    myvid_core::transcode::new_job_id()
}

//! `[worker]`: the transcode worker (`myvid worker`, and the one `myvid dev` runs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[worker]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Whether `myvid dev` runs a worker (default true). `myvid worker` always does.
    pub enabled: bool,
    /// Jobs one process runs at once (default 1: one ffmpeg already uses every core).
    pub concurrency: usize,
    /// Seconds a claimed job stays the worker's without a renewal (default 60): a worker
    /// silent for this long is presumed dead, and its job is taken over.
    pub lease_secs: i64,
    /// Attempts a transcode gets before it fails with its reason (default 5).
    pub max_attempts: u32,
    /// Seconds before the second attempt (default 30); each later wait doubles.
    pub backoff_base_secs: i64,
    /// The longest wait between attempts, in seconds (default 3600).
    pub backoff_max_secs: i64,
    /// Milliseconds an idle worker waits before looking for work again (default 2000).
    pub poll_ms: u64,
    /// The libx264 preset (default `veryfast`; `ultrafast` … `veryslow`).
    pub preset: String,
    /// Encoder threads per job (default 0: ffmpeg decides).
    pub threads: u32,
    /// The niceness ffmpeg runs at (default 10), so that serving stays responsive.
    pub nice: i32,
    /// Longest one transcode may run, in seconds (default 4 h).
    pub timeout_secs: u64,
    /// Seconds without progress from ffmpeg after which an attempt is stopped (default 120).
    pub stall_secs: u64,
    /// Seconds a stopping worker lets running jobs finish before giving them back to the
    /// queue (default 30).
    pub drain_timeout_secs: u64,
    /// Where originals are fetched to and ladders written (default `data_dir/work`).
    pub work_dir: Option<PathBuf>,
    /// Seconds between deleting a video and deleting its objects (default 60): running
    /// transcodes of it notice first (their lease renewal fails) and stop writing.
    pub purge_delay_secs: i64,
    /// Testing only: read the input at its own speed (ffmpeg `-re`), so a clip takes as
    /// long as it lasts (default false).
    pub simulated_realtime_input: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            enabled: true,
            concurrency: 1,
            lease_secs: 60,
            max_attempts: 5,
            backoff_base_secs: 30,
            backoff_max_secs: 3600,
            poll_ms: 2_000,
            preset: "veryfast".into(),
            threads: 0,
            nice: 10,
            timeout_secs: 4 * 3600,
            stall_secs: 120,
            drain_timeout_secs: 30,
            work_dir: None,
            purge_delay_secs: 60,
            simulated_realtime_input: false,
        }
    }
}

impl WorkerConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        let check = |ok: bool, field: &str, range: &str, got: String| {
            if ok { Ok(()) } else { bail!("`worker.{field}` must be {range}, got {got}") }
        };
        check((1..=16).contains(&self.concurrency), "concurrency", "between 1 and 16", self.concurrency.to_string())?;
        check((3..=3600).contains(&self.lease_secs), "lease_secs", "between 3 and 3600", self.lease_secs.to_string())?;
        let attempts = self.max_attempts;
        check((1..=100).contains(&attempts), "max_attempts", "between 1 and 100", attempts.to_string())?;
        let base = self.backoff_base_secs;
        check((0..=86_400).contains(&base), "backoff_base_secs", "between 0 and 86400", base.to_string())?;
        let max = self.backoff_max_secs;
        check(
            (base..=7 * 86_400).contains(&max),
            "backoff_max_secs",
            "between backoff_base_secs and 604800",
            max.to_string(),
        )?;
        check((50..=60_000).contains(&self.poll_ms), "poll_ms", "between 50 and 60000", self.poll_ms.to_string())?;
        check(self.threads <= 64, "threads", "between 0 and 64", self.threads.to_string())?;
        check((0..=19).contains(&self.nice), "nice", "between 0 and 19", self.nice.to_string())?;
        let timeout = self.timeout_secs;
        check((10..=86_400).contains(&timeout), "timeout_secs", "between 10 and 86400", timeout.to_string())?;
        check((5..=3600).contains(&self.stall_secs), "stall_secs", "between 5 and 3600", self.stall_secs.to_string())?;
        let delay = self.purge_delay_secs;
        check((0..=86_400).contains(&delay), "purge_delay_secs", "between 0 and 86400", delay.to_string())?;
        let drain = self.drain_timeout_secs;
        check(drain <= 86_400, "drain_timeout_secs", "between 0 and 86400", drain.to_string())?;
        if let Err(e) = self.preset.parse::<myvid_worker::transcode::Preset>() {
            bail!("`worker.preset` must be one of libx264's presets (ultrafast … veryslow): {e}");
        }
        Ok(())
    }

    /// The worker's settings, with `id` naming this process in the jobs it claims.
    pub fn settings(&self, id: String, data_dir: &Path, ffmpeg: &str) -> myvid_worker::WorkerSettings {
        let preset = self.preset.parse().unwrap_or_default();
        myvid_worker::WorkerSettings {
            id,
            concurrency: self.concurrency,
            lease_secs: self.lease_secs,
            // Four renewals per lease: a few failed renewals in a row do not lose it.
            renew_every: Duration::from_secs((self.lease_secs / 4).max(1).unsigned_abs()),
            poll_every: Duration::from_millis(self.poll_ms),
            housekeeping_every: Duration::from_secs(15).min(Duration::from_secs(self.lease_secs.unsigned_abs())),
            backoff: myvid_worker::Backoff { base_secs: self.backoff_base_secs, max_secs: self.backoff_max_secs },
            work_dir: self.work_dir.clone().unwrap_or_else(|| data_dir.join("work")),
            transcode: myvid_worker::transcode::Settings {
                ffmpeg: ffmpeg.into(),
                preset,
                threads: self.threads,
                nice: u8::try_from(self.nice).unwrap_or(10),
                timeout: Duration::from_secs(self.timeout_secs),
                stall: Duration::from_secs(self.stall_secs),
                realtime_input: self.simulated_realtime_input,
            },
        }
    }

    /// How long a stopping worker lets jobs finish.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
}

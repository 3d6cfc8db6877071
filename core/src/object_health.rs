//! [`ObjectHealth`]: whether the object store takes writes right now, learnt by probing it.
//!
//! An erasure-coded store that lost too many nodes refuses writes or stops answering
//! (Ceph hangs; MinIO turns read-only). Calls that write (a new upload, publish) check the
//! last known state first and answer `503 storage_read_only` / `storage_unavailable` at
//! once instead of handing out upload URLs that cannot work; any call that fails on its
//! own reports the failure here through [`Watched`] (the store as handlers see it), which
//! wakes the prober. The prober writes, reads back
//! and deletes a small object of its own every [`HEALTHY_PERIOD`] (every
//! [`DEGRADED_PERIOD`] while degraded), so recovery is noticed without anyone asking.
//!
//! ```text
//!  put staging/health/{instance} ──ok──────────────────────────▶ writable
//!           │ refused (read-only, quota, 403)  ─────────────────▶ read_only
//!           │ no answer in time ── head of an object answers? ─ yes ▶ read_only
//!           │                                                  └ no ─▶ unavailable
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

use myvid_store::objects::Bucket;
use myvid_store::{ObjectStore, StoreError};
use serde::Serialize;
use tokio::sync::Notify;

use crate::error::{ApiError, ErrorCode};

mod watched;
pub use watched::Watched;

/// Time between probes while the store is writable.
pub const HEALTHY_PERIOD: Duration = Duration::from_secs(10);
/// Time between probes while it is not.
pub const DEGRADED_PERIOD: Duration = Duration::from_secs(2);

/// What the store can do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    /// Reads and writes work.
    Writable,
    /// Reads work; writes are refused.
    ReadOnly,
    /// The store does not answer in time (or fails): neither reads nor writes can be
    /// relied on.
    Unavailable,
}

impl StoreState {
    fn from_u8(value: u8) -> StoreState {
        match value {
            0 => StoreState::Writable,
            1 => StoreState::ReadOnly,
            _ => StoreState::Unavailable,
        }
    }

    /// 0 writable, 1 read-only, 2 unavailable (also the metric's value).
    pub fn as_u8(self) -> u8 {
        match self {
            StoreState::Writable => 0,
            StoreState::ReadOnly => 1,
            StoreState::Unavailable => 2,
        }
    }

    /// The state a failed call tells of (`None`: the error says nothing about the store).
    fn of_error(err: &StoreError) -> Option<StoreState> {
        match err {
            StoreError::ReadOnly(_) => Some(StoreState::ReadOnly),
            StoreError::Unavailable(_) => Some(StoreState::Unavailable),
            _ => None,
        }
    }
}

/// The object store's last known state, shared by every handler of a process.
#[derive(Debug)]
pub struct ObjectHealth {
    state: AtomicU8,
    /// Unix seconds of the last change of `state` (0: never changed).
    since: AtomicI64,
    /// Unix seconds of the last finished probe (0: none yet).
    checked_at: AtomicI64,
    /// Wakes the prober early (a write just failed).
    wake: Notify,
    /// The probe object's key in the staging bucket.
    probe_key: String,
}

/// A snapshot of [`ObjectHealth`] for the health endpoint.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `writable`, `read_only` or `unavailable`.
    pub state: StoreState,
    /// When the state last changed (Unix seconds; 0: never since start).
    pub since: i64,
    /// When the store was last probed (Unix seconds; 0: not yet).
    pub checked_at: i64,
}

impl Default for ObjectHealth {
    fn default() -> Self {
        ObjectHealth::new()
    }
}

impl ObjectHealth {
    /// A store assumed writable until a probe or a failed write says otherwise.
    pub fn new() -> ObjectHealth {
        ObjectHealth {
            state: AtomicU8::new(StoreState::Writable.as_u8()),
            since: AtomicI64::new(0),
            checked_at: AtomicI64::new(0),
            wake: Notify::new(),
            probe_key: format!("health/{:016x}", rand::random::<u64>()),
        }
    }

    /// The last known state.
    pub fn state(&self) -> StoreState {
        StoreState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// For the health endpoint.
    pub fn report(&self) -> HealthReport {
        HealthReport {
            state: self.state(),
            since: self.since.load(Ordering::Acquire),
            checked_at: self.checked_at.load(Ordering::Acquire),
        }
    }

    /// `Ok` if the store takes writes as far as is known; else the 503 a writing call answers.
    pub fn require_writable(&self) -> Result<(), ApiError> {
        match self.state() {
            StoreState::Writable => Ok(()),
            StoreState::ReadOnly => Err(read_only_error()),
            StoreState::Unavailable => Err(unavailable_error()),
        }
    }

    /// Learns from a failed call: an unavailable or read-only store is recorded (the
    /// prober checks again at once, and notices recovery).
    pub fn note_failure(&self, err: &StoreError, now: i64) {
        if let Some(state) = StoreState::of_error(err) {
            self.set(state, now);
            self.wake.notify_one();
        }
    }

    fn set(&self, state: StoreState, now: i64) {
        let before = self.state.swap(state.as_u8(), Ordering::AcqRel);
        if before != state.as_u8() {
            self.since.store(now, Ordering::Release);
            let from = StoreState::from_u8(before);
            if state == StoreState::Writable {
                tracing::info!(?from, "object store is writable again");
            } else {
                tracing::warn!(?from, to = ?state, "object store degraded");
            }
        }
    }

    /// Probes the store once (write, read back, delete a small object) and records the result.
    pub async fn probe(&self, objects: &dyn ObjectStore, now: i64) -> StoreState {
        let state = match objects.put(Bucket::Staging, &self.probe_key, now.to_be_bytes().to_vec()).await {
            Ok(()) => match objects.head(Bucket::Staging, &self.probe_key).await {
                Ok(_) => {
                    // Best effort: a leftover probe object is a few bytes in a bucket never served.
                    let _ = objects.delete(Bucket::Staging, &self.probe_key).await;
                    StoreState::Writable
                }
                Err(e) => StoreState::of_error(&e).unwrap_or(StoreState::Unavailable),
            },
            Err(StoreError::ReadOnly(_)) => StoreState::ReadOnly,
            // Writes do not go through: can it still be read?
            Err(_) => match objects.head(Bucket::Staging, &self.probe_key).await {
                Ok(_) => StoreState::ReadOnly,
                Err(_) => StoreState::Unavailable,
            },
        };
        self.set(state, now);
        self.checked_at.store(now, Ordering::Release);
        state
    }

    /// Probes `objects` until the process ends: every [`HEALTHY_PERIOD`], every
    /// [`DEGRADED_PERIOD`] while degraded, and at once after [`ObjectHealth::note_failure`].
    /// `on_probe` sees every result (for the metric).
    pub fn spawn_prober(
        self: Arc<Self>,
        objects: Arc<dyn ObjectStore>,
        clock: crate::clock::Clock,
        on_probe: impl Fn(StoreState) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let state = self.probe(objects.as_ref(), clock.now()).await;
                on_probe(state);
                let period = if state == StoreState::Writable { HEALTHY_PERIOD } else { DEGRADED_PERIOD };
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    () = self.wake.notified() => {}
                }
            }
        })
    }
}

/// `503 storage_read_only`.
pub fn read_only_error() -> ApiError {
    ApiError::new(
        ErrorCode::StorageReadOnly,
        "video storage accepts no new files right now (it is degraded and read-only); watching still works, try uploading again later",
    )
}

/// `503 storage_unavailable`.
pub fn unavailable_error() -> ApiError {
    ApiError::new(ErrorCode::StorageUnavailable, "video storage is not answering right now; try again in a few minutes")
}

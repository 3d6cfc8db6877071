//! Where password hashing runs: a few long-lived threads of its own, fed through a
//! bounded queue.
//!
//! Argon2id with the default parameters fills 19 MiB of memory per hash. Run on
//! tokio's blocking pool, every concurrent log-in took a thread of its own and
//! allocated its 19 MiB, and the allocator kept most of it: a burst of 48 log-ins
//! left the process ~350 MiB larger, for good (measured with `myvid-soak` and
//! `tests/login_memory.rs`, docs/SECURITY.md). Here at most [`workers`] hashes run at
//! once, on the same threads every time, each reusing its own memory
//! ([`crate::passwords`]); the CPU work is bound by the cores anyway. When the queue
//! is full, callers are told to retry instead of piling up.
//!
//! ```text
//! log-in / sign-up ──try_send──▶ [queue: QUEUE_PER_WORKER × workers] ──▶ worker threads (argon2)
//!        ◀──────────── oneshot answer ─────────────────────────────────────┘
//! ```

use std::sync::OnceLock;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use tokio::sync::oneshot;

use crate::error::{ApiError, ErrorCode};

/// Jobs that may wait per worker before callers are refused: at ~15–50 ms a hash, a
/// full queue is a second or two of work.
const QUEUE_PER_WORKER: usize = 32;

/// A unit of password work.
type Job = Box<dyn FnOnce() + Send>;

/// How many hashing threads run: the cores, at most 4 (hashing beyond the cores only
/// adds memory).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

fn queue() -> &'static SyncSender<Job> {
    static QUEUE: OnceLock<SyncSender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let workers = workers();
        let (send, receive) = sync_channel::<Job>(QUEUE_PER_WORKER * workers);
        let receive = std::sync::Arc::new(std::sync::Mutex::new(receive));
        for n in 0..workers {
            let receive = receive.clone();
            let spawned = std::thread::Builder::new().name(format!("password-{n}")).spawn(move || {
                loop {
                    let job = match receive.lock() {
                        Ok(queue) => queue.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        send
    })
}

/// Runs `work` on a hashing thread and waits for its answer; `unavailable` (503)
/// when too much password work is already waiting.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(work());
    });
    match queue().try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(ApiError::new(ErrorCode::Unavailable, "too many log-ins at once; try again in a moment")
                .with_retry_after(1));
        }
        Err(TrySendError::Disconnected(_)) => return Err(ApiError::internal("no password hashing thread is running")),
    }
    answered.await.map_err(|_| ApiError::internal("a password hashing job was dropped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_hashing_threads() {
        let name = run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.is_some_and(|n| n.starts_with("password-")));
    }

    #[tokio::test]
    async fn at_most_workers_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let jobs: Vec<_> = (0..3 * workers())
            .map(|_| {
                tokio::spawn(run(|| {
                    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                    PEAK.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    RUNNING.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert!(PEAK.load(Ordering::SeqCst) <= workers());
    }
}

//! Aborting abandoned multipart uploads: the API role runs a pass every
//! [`REAP_EVERY`] (see `myvid_core::uploads::abandoned` for what counts as abandoned).
//!
//! ```text
//!  every 5 min: pending_multiparts(staging) ─▶ started > abandon_multipart_after_secs ago ─▶ abort
//! ```
//!
//! Several API processes may run it at once: aborting is idempotent.

use std::time::Duration;

use myvid_core::Services;
use myvid_core::ticks::Ticks;
use myvid_core::uploads::abandoned::reap_abandoned;
use tokio_util::sync::CancellationToken;

/// How often abandoned uploads are looked for: far below the deadline (hours), so an
/// upload is reaped soon after it passes it, and rare enough to cost nothing.
pub const REAP_EVERY: Duration = Duration::from_secs(300);

/// Longest a pass may take before it is given up until the next one (a store that
/// lost quorum may hang rather than answer).
pub const PASS_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs a pass every [`REAP_EVERY`] (the first one at once) until `stop`.
pub async fn run(services: Services, stop: CancellationToken) {
    let mut ticks = Ticks::new(REAP_EVERY, stop.clone());
    while ticks.next().await {
        let now = services.clock.now();
        let after = services.settings.abandon_multipart_after_secs;
        let pass = reap_abandoned(services.objects.as_ref(), now, after);
        tokio::select! {
            done = tokio::time::timeout(PASS_TIMEOUT, pass) => {
                if done.is_err() {
                    tracing::warn!("reaping abandoned multipart uploads timed out; trying again at the next pass");
                }
            }
            () = stop.cancelled() => break,
        }
    }
}

/// Starts [`run`] on its own task.
pub fn spawn(services: &Services, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(services.clone(), stop))
}

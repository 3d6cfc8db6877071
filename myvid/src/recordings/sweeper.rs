//! [`Sweeper`]: finalizes recordings nobody else does — those of streams whose SFU died
//! while they were live (the reaper ends such streams; their segments are stored).
//!
//! A recording is taken only when it was waiting in two passes in a row, so that the
//! SFU that recorded it, which finalizes it as soon as the stream ends, goes first.
//! Finalizing claims the recording, so sweepers on several SFUs never do it twice.

use std::collections::HashSet;
use std::time::Duration;

use myvid_core::Services;
use myvid_core::recordings::{self, Finalized};
use myvid_core::ticks::Ticks;
use tokio_util::sync::CancellationToken;

/// How often unfinished recordings are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(20);
/// Recordings looked at per pass.
const PER_PASS: u32 = 20;

/// One SFU's sweeper.
pub struct Sweeper {
    services: Services,
    server_id: String,
    every: Duration,
    /// Waiting at the previous pass.
    previous: HashSet<String>,
}

impl Sweeper {
    /// A sweeper claiming as `server_id`, passing every `every`.
    pub fn new(services: Services, server_id: String, every: Duration) -> Sweeper {
        Sweeper { services, server_id, every, previous: HashSet::new() }
    }

    /// Passes until `stop`.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut ticks = Ticks::new(self.every, stop);
        while ticks.next().await {
            self.pass().await;
        }
    }

    /// One pass; returns how many recordings it published.
    pub async fn pass(&mut self) -> usize {
        let now = self.services.clock.now();
        let waiting = match self.services.meta.unfinished_recordings(now, PER_PASS).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list unfinished recordings");
                return 0;
            }
        };
        let mut published = 0;
        for stream in waiting.iter().filter(|id| self.previous.contains(*id)) {
            match recordings::finalize(&self.services, stream, &self.server_id).await {
                Ok(Finalized::Published { duration_ms }) => {
                    published += 1;
                    tracing::info!(%stream, duration_ms, "swept recording published");
                }
                Ok(Finalized::Dropped(why)) => tracing::warn!(%stream, %why, "swept recording dropped"),
                Ok(Finalized::NotClaimed) => {}
                Err(e) => tracing::warn!(%stream, error = %e, "swept recording not finalized"),
            }
        }
        self.previous = waiting.into_iter().collect();
        published
    }
}

//! Ending the streams of a media server that died: every SFU records itself as the host
//! of the streams it puts live, and every SFU, every [`REAP_EVERY`], ends the live
//! streams whose host has left the server registry. Without this a crashed SFU's
//! streams would stay listed as live.
//!
//! A host is ended only when it was missing from two registry reads in a row (taken
//! [`REAP_EVERY`] apart, each trusting heartbeats up to [`ALIVE_WINDOW_SECS`] old), and
//! only while this SFU sees its own entry: after a metadata outage, when every
//! heartbeat is stale at once, servers get a full pass to beat again before anyone
//! judges them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use myvid_core::Clock;
use myvid_core::ticks::Ticks;
use myvid_store::{MetaStore, ServerKind};
use tokio_util::sync::CancellationToken;

/// How often the registry is checked for vanished hosts.
pub const REAP_EVERY: Duration = Duration::from_secs(10);

/// A host is alive while its last heartbeat is at most this old (heartbeats come every
/// 2 s: a host is judged only after many missed ones).
pub const ALIVE_WINDOW_SECS: i64 = 30;

/// One SFU's reaper.
pub struct Reaper {
    /// Where streams and the registry are.
    pub meta: Arc<dyn MetaStore>,
    /// The registry's time.
    pub clock: Clock,
    /// This SFU's registry id.
    pub own_id: String,
    /// Hosts alive at the previous read (`None` before the first).
    previous: Option<HashSet<String>>,
}

impl Reaper {
    /// A reaper for the SFU registered as `own_id`.
    pub fn new(meta: Arc<dyn MetaStore>, clock: Clock, own_id: String) -> Self {
        Reaper { meta, clock, own_id, previous: None }
    }

    /// Passes every [`REAP_EVERY`] until `stop`.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut ticks = Ticks::new(REAP_EVERY, stop);
        while ticks.next().await {
            self.pass().await;
        }
    }

    /// One check: reads the registry and ends the streams of hosts missing from this
    /// read and the previous one. Returns how many streams it ended.
    pub async fn pass(&mut self) -> usize {
        let since = self.clock.now() - ALIVE_WINDOW_SECS;
        let alive: HashSet<String> = match self.meta.live_servers(ServerKind::Sfu, since).await {
            Ok(entries) => entries.into_iter().map(|e| e.id).collect(),
            Err(err) => {
                tracing::debug!(%err, "cannot read the server registry; no stream ended");
                self.previous = None;
                return 0;
            }
        };
        let previous = self.previous.replace(alive.clone());
        let Some(previous) = previous.filter(|_| alive.contains(&self.own_id)) else { return 0 };
        let spared: Vec<String> = alive.union(&previous).cloned().collect();
        match self.meta.end_orphaned_live(&spared, self.clock.now()).await {
            Ok(0) => 0,
            Ok(ended) => {
                tracing::info!(ended, "ended the live streams of media servers that left the registry");
                ended
            }
            Err(err) => {
                tracing::warn!(%err, "cannot end the streams of vanished media servers");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use myvid_store::SqliteMeta;
    use myvid_store::meta::{LiveState, NewVideo, ServerEntry, VideoSource, Visibility};

    fn sfu(id: &str, at: i64) -> ServerEntry {
        ServerEntry {
            id: id.into(),
            kind: ServerKind::Sfu,
            url: format!("udp://{id}"),
            load: 0,
            turn: None,
            media: None,
            heartbeat_at: at,
        }
    }

    async fn live_stream(meta: &SqliteMeta, id: &str, host: &str) {
        let video = NewVideo {
            id: id.into(),
            owner_id: None,
            title: format!("Stream {id}"),
            description: String::new(),
            source: VideoSource::Live { state: LiveState::Pending, record: true },
            visibility: Visibility::Private,
            duration_ms: None,
            created_at: 0,
        };
        meta.create_video(video).await.unwrap();
        meta.set_live_state(id, LiveState::Live, Some(host), 1).await.unwrap();
    }

    async fn state(meta: &SqliteMeta, id: &str) -> VideoSource {
        meta.video(id).await.unwrap().unwrap().source
    }

    #[tokio::test]
    async fn a_dead_hosts_streams_end_after_two_reads_and_live_ones_stay() {
        let meta = Arc::new(SqliteMeta::open_in_memory().await.unwrap());
        let (clock, time) = Clock::manual(1_000);
        live_stream(&meta, "on-a", "sfu-a").await;
        live_stream(&meta, "on-b", "sfu-b").await;
        meta.heartbeat(sfu("sfu-a", 1_000)).await.unwrap();
        meta.heartbeat(sfu("sfu-b", 1_000)).await.unwrap();
        let mut reaper = Reaper::new(meta.clone(), clock.clone(), "sfu-a".into());
        assert_eq!(reaper.pass().await, 0, "the first read only learns who is alive");

        // sfu-b stops beating; sfu-a goes on.
        time.advance(ALIVE_WINDOW_SECS + 5);
        meta.heartbeat(sfu("sfu-a", clock.now())).await.unwrap();
        assert_eq!(reaper.pass().await, 0, "missing from one read is not enough");
        time.advance(10);
        meta.heartbeat(sfu("sfu-a", clock.now())).await.unwrap();
        assert_eq!(reaper.pass().await, 1);
        assert_eq!(state(&meta, "on-b").await, VideoSource::Live { state: LiveState::Ended, record: true });
        assert_eq!(state(&meta, "on-a").await, VideoSource::Live { state: LiveState::Live, record: true });
    }

    #[tokio::test]
    async fn nothing_ends_while_the_reaper_cannot_see_itself() {
        let meta = Arc::new(SqliteMeta::open_in_memory().await.unwrap());
        let (clock, time) = Clock::manual(1_000);
        live_stream(&meta, "on-b", "sfu-b").await;
        let mut reaper = Reaper::new(meta.clone(), clock.clone(), "sfu-a".into());
        // Every heartbeat stale (say, after a metadata outage): no judgement.
        for _ in 0..3 {
            time.advance(100);
            assert_eq!(reaper.pass().await, 0);
        }
        assert_eq!(state(&meta, "on-b").await, VideoSource::Live { state: LiveState::Live, record: true });
    }
}

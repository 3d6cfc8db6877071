//! The poll that finds streams going live: every `poll_ms` while this process has a
//! notification socket open, read the live set, compare it with the last one, and tell
//! the connected followers of each new stream.
//!
//! ```text
//!  no socket open ──▶ wait for one (no reads; the baseline is forgotten)
//!  every period:  list_live (pages of 500) ──▶ live_set::diff ──▶ for each new stream:
//!                 followers_among(owner, connected users, 500 at a time) ──▶ hub.send
//! ```
//!
//! Polling a state rather than reading an events table has no ordering problem: on
//! Galera a row's sequence is taken before commit, so a cursor over events could skip
//! a row that commits late (docs/plans/product.md §0).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use myvid_proto::notify::NotifyServerMessage;
use myvid_store::MetaStore;
use myvid_store::meta::PageToken;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::live_set::{self, WentLive};
use crate::metrics::Metrics;
use crate::ticks::Ticks;

/// Streams read per `list_live` call.
pub const PAGE: u32 = 500;

/// Users asked about per `followers_among` call: bounds the size of one `IN (…)` list.
pub const FOLLOWER_CHUNK: usize = 500;

/// Pages read per poll at most (100,000 live streams): a bound on one poll's work,
/// far above what one metadata store serves.
const MAX_PAGES: usize = 200;

/// The default poll period: a quarter of the 2 s a notice may take (docs/plans/product.md).
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// Runs the poll until `stop` (see the module docs).
pub fn spawn(
    meta: Arc<dyn MetaStore>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    period: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(run(meta, hub, metrics, period, stop))
}

async fn run(
    meta: Arc<dyn MetaStore>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    period: Duration,
    stop: CancellationToken,
) {
    loop {
        // Idle: nothing to read for. The first poll after this sets a new baseline.
        tokio::select! {
            () = hub.wait_for_subscriber() => {}
            () = stop.cancelled() => return,
        }
        let mut prev: Option<HashSet<String>> = None;
        let mut ticks = Ticks::new(period, stop.clone());
        while ticks.next().await {
            if hub.is_empty() {
                break;
            }
            let now = match read_live(meta.as_ref()).await {
                Ok(now) => now,
                Err(error) => {
                    // The next poll tries again against the same baseline, so nothing
                    // that went live meanwhile is missed.
                    tracing::warn!(%error, "cannot read the live streams for notifications");
                    continue;
                }
            };
            for live in live_set::diff(prev.as_ref(), &now) {
                notify_followers(meta.as_ref(), &hub, &metrics, &live).await;
            }
            prev = Some(live_set::ids(&now));
        }
        if stop.is_cancelled() {
            return;
        }
    }
}

/// Every stream live now.
async fn read_live(meta: &dyn MetaStore) -> Result<Vec<WentLive>, myvid_store::StoreError> {
    let mut live = Vec::new();
    let mut start: Option<PageToken> = None;
    for _ in 0..MAX_PAGES {
        let page = meta.list_live(PAGE, start).await?;
        live.extend(page.items.iter().filter_map(WentLive::from_video));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    Ok(live)
}

/// Sends `went_live` to the followers of `live`'s broadcaster who have a socket here.
/// The follower list is read each time (not cached): a follow made a moment ago, in
/// any process, counts.
async fn notify_followers(meta: &dyn MetaStore, hub: &Hub, metrics: &Metrics, live: &WentLive) {
    let connected = hub.user_ids();
    let message = NotifyServerMessage::WentLive(live.notice.clone());
    for chunk in connected.chunks(FOLLOWER_CHUNK) {
        match meta.followers_among(live.owner_id, chunk).await {
            Ok(followers) => {
                for follower in followers {
                    let sent = hub.send(follower, &message);
                    metrics.notify_sent.inc_by(u64::try_from(sent).unwrap_or(0));
                }
            }
            Err(error) => {
                tracing::warn!(%error, video_id = %live.notice.video_id, "cannot read followers to notify");
            }
        }
    }
}

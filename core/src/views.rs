//! View counting: the players report a view once playback starts (`POST
//! /v1/videos/{id}/views`); each API process deduplicates them in memory
//! ([`batch::ViewBatch`]) and counts them in the metadata store in one transaction
//! every few seconds ([`Views::flush`]), so no single view writes to the database
//! cluster. The store counts a viewer once per video per sliding window and ignores
//! a flush counted before (see `MetaStore::count_views`).
//!
//! A viewer is a keyed hash: of the account when signed in, else of the random id the
//! browser keeps (at most three per address per video per window), else of the
//! address (IPv6 cut to its /64). No id or address is stored.
//!
//! A crash loses the views of this process since its last flush (at most one flush
//! interval of first views); nothing is ever counted twice.

pub mod batch;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hmac::Mac;
use tokio_util::sync::CancellationToken;

use self::batch::{Offered, ViewBatch};
use crate::services::Services;
use crate::ticks::Ticks;

/// Views counted per store transaction.
const FLUSH_BATCH: usize = 500;

/// How view counting is tuned (`[views]`).
#[derive(Debug, Clone)]
pub struct ViewSettings {
    /// How often pending views are counted in the store.
    pub flush_every: Duration,
    /// A viewer counts once per video per this many seconds.
    pub window_secs: i64,
    /// Most views waiting for a flush (beyond it new ones are dropped and counted).
    pub max_pending: usize,
}

impl Default for ViewSettings {
    fn default() -> Self {
        ViewSettings { flush_every: Duration::from_secs(10), window_secs: 3600, max_pending: 50_000 }
    }
}

/// Who watched, as the request tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A signed-in account.
    Account(i64),
    /// An anonymous browser, by the random id it keeps, from an address.
    Browser {
        /// The id it keeps (see [`valid_browser_id`]).
        id: String,
        /// Where the request came from, when known.
        address: Option<IpAddr>,
    },
    /// Known only by its address.
    Address(IpAddr),
    /// Nothing to tell it by (a request without an address, in tests): not counted.
    Unknown,
}

/// An anonymous browser's id: 22 characters of URL-safe base64 (128 random bits).
pub fn valid_browser_id(id: &str) -> bool {
    id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The address a viewer is known by: IPv6 addresses by their /64 (one household).
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// One API process's view counting (see the module docs).
#[derive(Debug)]
pub struct Views {
    settings: ViewSettings,
    batch: Mutex<ViewBatch>,
}

impl Views {
    /// Counting tuned by `settings`.
    pub fn new(settings: ViewSettings) -> Views {
        let batch = Mutex::new(ViewBatch::new(settings.window_secs, settings.max_pending));
        Views { settings, batch }
    }

    /// Takes in a view of `video_id` by `viewer` at `now`; what became of it.
    pub fn record(&self, services: &Services, video_id: &str, viewer: &Viewer, now: i64) -> Option<Offered> {
        let (key, anonymous_from) = match viewer {
            Viewer::Account(id) => (format!("u:{id}"), None),
            Viewer::Browser { id, address } => (format!("a:{id}"), *address),
            Viewer::Address(address) => (format!("i:{}", address_key(*address)), None),
            Viewer::Unknown => return None,
        };
        let digest = services.stream_tokens.mac_for("views", &key, 0).finalize().into_bytes();
        let mut hashed = [0u8; 16];
        hashed.copy_from_slice(&digest[..16]);
        let offered = self.lock().offer(video_id, hashed, anonymous_from, now);
        if offered == Offered::Dropped {
            services.metrics.views_dropped.inc();
        }
        Some(offered)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ViewBatch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts every pending view in the store, a batch per transaction; returns how
    /// many counted. Views the store could not take are kept for the next flush.
    pub async fn flush(&self, services: &Services) -> u64 {
        let mut counted = 0;
        loop {
            let marks = self.lock().take(FLUSH_BATCH);
            if marks.is_empty() {
                return counted;
            }
            let started = std::time::Instant::now();
            match services.meta.count_views(&marks, self.settings.window_secs, services.clock.now()).await {
                Ok(n) => {
                    counted += n;
                    services.metrics.views_counted.inc_by(n);
                    services.metrics.views_flush_seconds.observe(started.elapsed().as_secs_f64());
                }
                Err(e) => {
                    let dropped = self.lock().put_back(marks);
                    services.metrics.views_dropped.inc_by(dropped as u64);
                    tracing::warn!(error = %e, "could not count views; keeping them for the next flush");
                    return counted;
                }
            }
        }
    }

    /// Flushes every `flush_every` (± a fifth, so processes spread their writes) until
    /// `stop`, then once more within 5 s; forgets store marks older than two windows
    /// every few minutes.
    pub fn spawn_flusher(self: &Arc<Self>, services: Services, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let views = Arc::clone(self);
        tokio::spawn(async move {
            let jitter = views.settings.flush_every.mul_f64(rand::random::<f64>() / 5.0);
            let mut ticks = Ticks::new(views.settings.flush_every + jitter, stop);
            let mut rounds: u64 = 0;
            while ticks.next().await {
                views.flush(&services).await;
                rounds += 1;
                if rounds.is_multiple_of(30) {
                    let before = services.clock.now() - 2 * views.settings.window_secs;
                    if let Err(e) = services.meta.prune_view_marks(before, 5_000).await {
                        tracing::warn!(error = %e, "could not prune old view marks");
                    }
                }
            }
            if tokio::time::timeout(Duration::from_secs(5), views.flush(&services)).await.is_err() {
                tracing::warn!("views not counted at shutdown: the store did not answer in time");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_ids_are_22_url_safe_characters() {
        assert!(valid_browser_id("AAAAAAAAAAAAAAAAAAAA-_"));
        assert!(!valid_browser_id("AAAAAAAAAAAAAAAAAAAA-"));
        assert!(!valid_browser_id("AAAAAAAAAAAAAAAAAAAA+/"));
    }

    #[test]
    fn ipv6_viewers_are_known_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}

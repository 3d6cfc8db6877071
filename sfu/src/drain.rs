//! Draining: how an SFU shuts down on purpose without cutting live streams.
//!
//! Once a drain begins, signalling refuses every new `publish`, `join` and `view` with
//! `error{code: "draining"}` (the client reconnects and is placed elsewhere), while the
//! media sessions already open keep flowing. The drain ends when no media session is
//! left, or at its deadline; either way the media plane is then stopped, which ends every
//! remaining stream (its viewers hear `ended`).
//!
//! ```text
//!  Drain::run(media, deadline)
//!    ├─ begin: is_draining() = true ─▶ Signalling refuses publish/join/view ("draining")
//!    ├─ every DRAIN_POLL: media.stats().sessions ─ 0 ─▶ DrainEnd::Empty
//!    ├─ deadline passed ──────────────────────────────▶ DrainEnd::DeadlineReached
//!    └─ stop.cancel(): the media plane ends what is left
//! ```
//!
//! Lifecycle: one `Drain` per SFU, created with the media plane's stop token and shared
//! (cloned) with its [`crate::session::Signalling`]; it only ever goes from serving to
//! draining, never back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::media::MediaHandle;

/// How often a drain looks at the media plane's session count: often enough that the
/// process exits promptly after the last stream ends, rarely enough to cost nothing.
pub const DRAIN_POLL: Duration = Duration::from_millis(250);

/// The stable code of the `error` frame refusing new work during a drain.
pub const DRAINING_CODE: &str = "draining";

/// The message of that `error` frame.
pub const DRAINING_MESSAGE: &str = "this media server is shutting down; reconnect";

/// Whether an SFU is draining, and the token that stops its media plane when the drain
/// is over. Clones share both.
#[derive(Clone, Debug)]
pub struct Drain {
    draining: Arc<AtomicBool>,
    stop: CancellationToken,
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainEnd {
    /// Every media session had ended (or the media plane was already gone).
    Empty,
    /// The deadline passed with this many media sessions still open; they were closed.
    DeadlineReached {
        /// Media sessions open at the deadline.
        sessions: u64,
    },
}

impl Drain {
    /// A drain that, when over, cancels `stop` (the media plane's shutdown token).
    pub fn new(stop: CancellationToken) -> Self {
        Drain { draining: Arc::new(AtomicBool::new(false)), stop }
    }

    /// Whether new work is refused now.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Refuses new work from now on (media already flowing is untouched).
    pub fn begin(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Begins the drain, waits until `media` holds no session or `deadline` has passed
    /// (on tokio's clock, so tests may pause it), then stops the media plane.
    pub async fn run(&self, media: &MediaHandle, deadline: Duration) -> DrainEnd {
        self.begin();
        info!(?deadline, "SFU draining: new sessions refused, live streams go on");
        let end = tokio::time::Instant::now() + deadline;
        let mut poll = tokio::time::interval(DRAIN_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outcome = loop {
            tokio::select! {
                _ = poll.tick() => {}
                () = tokio::time::sleep_until(end) => {
                    let sessions = media.stats().await.map(|s| s.sessions).unwrap_or(0);
                    break if sessions == 0 { DrainEnd::Empty } else { DrainEnd::DeadlineReached { sessions } };
                }
            }
            match media.stats().await {
                Ok(stats) if stats.sessions > 0 => {}
                _ => break DrainEnd::Empty,
            }
        };
        info!(?outcome, "SFU drain over: stopping the media plane");
        self.stop.cancel();
        outcome
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::watch;

    use super::*;
    use crate::media::{Command, MediaStats};

    /// A media task that only answers `stats`, with the session count `sessions` holds.
    fn fake_media(sessions: watch::Receiver<u64>) -> MediaHandle {
        let (handle, mut commands) = MediaHandle::channel();
        tokio::spawn(async move {
            while let Some(command) = commands.recv().await {
                if let Command::Stats { reply } = command {
                    let _ = reply.send(MediaStats { sessions: *sessions.borrow(), ..MediaStats::default() });
                }
            }
        });
        handle
    }

    #[test]
    fn a_drain_only_goes_from_serving_to_draining() {
        let drain = Drain::new(CancellationToken::new());
        let shared = drain.clone();
        assert!(!shared.is_draining(), "a new SFU serves");
        drain.begin();
        assert!(shared.is_draining(), "clones see the drain");
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_ends_at_its_deadline_and_stops_the_media_plane() {
        let (_sessions, count) = watch::channel(3);
        let stop = CancellationToken::new();
        let drain = Drain::new(stop.clone());
        let started = tokio::time::Instant::now();
        let end = drain.run(&fake_media(count), Duration::from_secs(60)).await;
        assert_eq!(end, DrainEnd::DeadlineReached { sessions: 3 });
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(60) && waited < Duration::from_secs(60) + DRAIN_POLL, "{waited:?}");
        assert!(stop.is_cancelled(), "what is left is ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_ends_as_soon_as_the_last_session_does() {
        let (sessions, count) = watch::channel(2);
        let stop = CancellationToken::new();
        let drain = Drain::new(stop.clone());
        let media = fake_media(count);
        let started = tokio::time::Instant::now();
        let running = tokio::spawn(async move { drain.run(&media, Duration::from_secs(60)).await });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!running.is_finished() && !stop.is_cancelled(), "two sessions still flow");
        sessions.send(0).unwrap();
        assert_eq!(running.await.unwrap(), DrainEnd::Empty);
        let waited = started.elapsed();
        assert!(waited <= Duration::from_secs(10) + DRAIN_POLL, "within one poll of the end: {waited:?}");
        assert!(stop.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_sfu_drains_at_once() {
        let (_sessions, count) = watch::channel(0);
        let started = tokio::time::Instant::now();
        let end = Drain::new(CancellationToken::new()).run(&fake_media(count), Duration::from_secs(60)).await;
        assert_eq!((end, started.elapsed()), (DrainEnd::Empty, Duration::ZERO));
    }
}

//! The SFU's streams in the metadata store: each going live or ending is recorded, in
//! order, off the session tasks; and the publish gate keeps an ended stream ended.
//!
//! ```text
//!  Signalling ─LiveChange─▶ hook (session task): Ended → `ending` set ─▶ channel ─▶ recorder task
//!  recorder:  set_live_state(live | ended), hosted streams for the endpoints; once an end is
//!             written, the stream leaves `ending` (the store answers for it from then on)
//!  publish ─▶ gate: in `ending`, or ended in the store ─▶ stream_ended; store down ─▶ unavailable
//! ```
//!
//! The `ending` set closes a race: a broadcaster who leaves and publishes again at once
//! could otherwise ask the gate before the recorder has written the end. The store also
//! refuses to take an ended stream back to live (`Conflict("live_state")`), so every
//! SFU and backend agrees even without this gate.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use myvid_core::Clock;
use myvid_sfu::link::HostedStreams;
use myvid_sfu::session::gate::{Admission, PublishGate, PublishRefusal};
use myvid_sfu::session::{LiveChange, LiveHook};
use myvid_store::meta::{LiveState, VideoSource};
use myvid_store::{MetaStore, StoreError};
use tokio::sync::mpsc;

/// How the recorder tries a write again while the metadata store is unavailable (a
/// cluster without quorum, a restart): a stream's end must not be lost, or it would stay
/// listed as live.
#[derive(Debug, Clone, Copy)]
struct Retry {
    /// Give up after this long.
    for_at_most: Duration,
    /// The first pause; each next one doubles…
    first_delay: Duration,
    /// …up to this.
    max_delay: Duration,
}

/// Ten minutes, pausing 0.5 s, 1 s, 2 s … 15 s.
const RECORD_RETRY: Retry = Retry {
    for_at_most: Duration::from_secs(600),
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(15),
};

/// Runs `write` until it answers anything but "unavailable", or `retry` gives up.
async fn until_available<T, F, Fut>(retry: Retry, mut write: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let give_up = tokio::time::Instant::now() + retry.for_at_most;
    let mut delay = retry.first_delay;
    loop {
        match write().await {
            Err(StoreError::MetadataUnavailable(why) | StoreError::Unavailable(why))
                if tokio::time::Instant::now() + delay < give_up =>
            {
                tracing::warn!(%why, ?delay, "the metadata store is unavailable; trying again");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(retry.max_delay);
            }
            other => return other,
        }
    }
}

/// Streams whose end this SFU reported but the recorder has not written yet.
type Ending = Arc<Mutex<HashSet<String>>>;

/// The live state of one SFU's streams: hand [`StreamStates::hook`] and
/// [`StreamStates::gate`] to its `Signalling`.
pub struct StreamStates {
    meta: Arc<dyn MetaStore>,
    ending: Ending,
    changes: mpsc::UnboundedSender<LiveChange>,
}

impl StreamStates {
    /// Starts the recorder task, which writes to `meta` at `clock`'s time (naming this
    /// SFU, registry id `host`, as the host of streams going live) and keeps `hosted`
    /// (the streams this SFU announces to endpoints) up to date.
    pub fn start(meta: Arc<dyn MetaStore>, clock: Clock, hosted: HostedStreams, host: String) -> Self {
        let ending = Ending::default();
        let (changes, rx) = mpsc::unbounded_channel();
        tokio::spawn(record(rx, meta.clone(), clock, hosted, ending.clone(), host));
        StreamStates { meta, ending, changes }
    }

    /// The hook that reports live changes to the recorder (it never blocks).
    pub fn hook(&self) -> LiveHook {
        let (ending, changes) = (self.ending.clone(), self.changes.clone());
        Box::new(move |change| {
            if let LiveChange::Ended { stream_id } = &change {
                ending.lock().unwrap_or_else(PoisonError::into_inner).insert(stream_id.clone());
            }
            let _ = changes.send(change);
        })
    }

    /// The publish gate: an ended stream never goes live again.
    pub fn gate(&self) -> PublishGate {
        let (meta, ending) = (self.meta.clone(), self.ending.clone());
        Box::new(move |stream_id| {
            let ended_here = ending.lock().unwrap_or_else(PoisonError::into_inner).contains(stream_id);
            let (meta, stream_id) = (meta.clone(), stream_id.to_owned());
            Box::pin(async move {
                if ended_here {
                    return Err(PublishRefusal::Ended);
                }
                match meta.video(&stream_id).await {
                    Ok(Some(video)) => match video.source {
                        VideoSource::Live { state: LiveState::Ended, .. } => Err(PublishRefusal::Ended),
                        // Pending, or live with no broadcaster here (the media task
                        // refuses a second one).
                        VideoSource::Live { record, .. } => Ok(Admission { record }),
                        _ => Ok(Admission { record: false }),
                    },
                    // A valid token for a record that is gone has nothing to protect, and
                    // nothing to record into.
                    Ok(None) => Ok(Admission { record: false }),
                    Err(err) => {
                        tracing::warn!(stream = %stream_id, %err, "cannot read the stream's state; publish refused");
                        Err(PublishRefusal::Unavailable)
                    }
                }
            })
        })
    }
}

/// The recorder: writes each change in order until every sender is gone.
async fn record(
    mut changes: mpsc::UnboundedReceiver<LiveChange>,
    meta: Arc<dyn MetaStore>,
    clock: Clock,
    hosted: HostedStreams,
    ending: Ending,
    host: String,
) {
    while let Some(change) = changes.recv().await {
        let (id, state) = match &change {
            LiveChange::Live { stream_id } => {
                hosted.add(stream_id);
                (stream_id, LiveState::Live)
            }
            LiveChange::Ended { stream_id } => {
                hosted.remove(stream_id);
                (stream_id, LiveState::Ended)
            }
        };
        let written =
            until_available(RECORD_RETRY, || meta.set_live_state(id, state, Some(host.as_str()), clock.now())).await;
        match &written {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                // Only the gate's race could bring this: the stream stays ended.
                tracing::warn!(stream = %id, ?state, "the stream has ended already: it stays ended");
                hosted.remove(id);
            }
            Err(err) => tracing::warn!(stream = %id, ?state, error = %err, "could not record the stream's live state"),
        }
        // Once the store answers for an end (written, or no record left to protect), the
        // stream leaves `ending`; after a failed write it stays, and this SFU keeps
        // refusing it.
        if state == LiveState::Ended && matches!(written, Ok(_) | Err(StoreError::NotFound)) {
            ending.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Retry = Retry {
        for_at_most: Duration::from_secs(5),
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };

    #[tokio::test]
    async fn a_write_is_tried_again_while_the_store_is_unavailable() {
        let tries = std::sync::atomic::AtomicU32::new(0);
        let started = std::time::Instant::now();
        let written = until_available(QUICK, || async {
            match tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0..=3 => Err(StoreError::MetadataUnavailable("no quorum".into())),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(written.unwrap(), 7);
        assert_eq!(tries.into_inner(), 5);
        assert!(started.elapsed() >= Duration::from_millis(5 + 10 + 20 + 20), "paused between tries, doubling");
    }

    #[tokio::test]
    async fn other_answers_are_final_and_unavailability_ends_in_time() {
        let conflict =
            until_available(QUICK, || async { Err::<(), _>(StoreError::Conflict("live_state".into())) }).await;
        assert!(matches!(conflict, Err(StoreError::Conflict(_))));
        let retry = Retry { for_at_most: Duration::from_millis(200), ..QUICK };
        let started = std::time::Instant::now();
        let down = until_available(retry, || async { Err::<(), _>(StoreError::Unavailable("down".into())) }).await;
        assert!(matches!(down, Err(StoreError::Unavailable(_))));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(150) && took <= Duration::from_millis(400),
            "gave up at its limit: {took:?}"
        );
    }
}

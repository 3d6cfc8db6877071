//! [`RecordTap`]: the media task's side of a recording — a bounded queue of forwarded
//! packets to the recorder task, and a flag the recorder raises to ask for a keyframe.
//!
//! The media task never waits on it: when the recorder falls behind the queue is full,
//! the packet is dropped and counted, and the recorder sees a gap in sequence numbers
//! (which it handles like network loss: it waits for the next keyframe).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::codec::Codec;
use crate::forward::{InPacket, MediaKind};

/// Packets queued for the recorder before the tap drops: about 2.5 s of a 2.5 Mbit/s
/// stream with its audio, which covers a recorder that stalls while handing over a
/// segment.
pub const TAP_QUEUE: usize = 2048;

/// What the publisher negotiated, sent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapTracks {
    /// The video codec, if the publisher sends video.
    pub video: Option<Codec>,
    /// Whether it sends Opus audio.
    pub audio: bool,
}

/// One forwarded packet, with the recorder's own sequence number and timestamp
/// (continuous across simulcast layer switches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapPacket {
    /// Audio or video.
    pub kind: MediaKind,
    /// The recorder's sequence number.
    pub seq: u16,
    /// The recorder's RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// Starts a keyframe.
    pub keyframe: bool,
    /// The payload (shared with the viewers' copies).
    pub payload: Bytes,
    /// When the media task got it.
    pub arrived: Instant,
}

impl TapPacket {
    /// `input` as forwarded to the recorder, renumbered `seq` and `timestamp`, got at `now`.
    pub fn forwarded(input: &InPacket, seq: u16, timestamp: u32, now: Instant) -> TapPacket {
        TapPacket {
            kind: input.kind,
            seq,
            timestamp,
            marker: input.marker,
            keyframe: input.keyframe,
            payload: input.payload.clone(),
            arrived: now,
        }
    }
}

/// What goes through the tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapItem {
    /// The tracks (first item).
    Tracks(TapTracks),
    /// A packet.
    Packet(TapPacket),
}

/// State shared by both ends.
#[derive(Debug, Default)]
struct Shared {
    keyframe_wanted: AtomicBool,
    dropped: AtomicU64,
}

/// The media task's end (see the module docs).
#[derive(Debug)]
pub struct RecordTap {
    tx: mpsc::Sender<TapItem>,
    shared: Arc<Shared>,
}

/// The recorder's end.
#[derive(Debug)]
pub struct TapReceiver {
    rx: mpsc::Receiver<TapItem>,
    shared: Arc<Shared>,
}

/// A tap holding up to `capacity` items (at least 1).
pub fn tap(capacity: usize) -> (RecordTap, TapReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let shared = Arc::new(Shared::default());
    (RecordTap { tx, shared: shared.clone() }, TapReceiver { rx, shared })
}

impl RecordTap {
    /// Offers an item; returns whether it was queued (a full queue or a finished
    /// recorder drops it, counted).
    pub fn offer(&self, item: TapItem) -> bool {
        let queued = self.tx.try_send(item).is_ok();
        if !queued {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }

    /// Whether the recorder asked for a keyframe since the last call (clears the ask).
    pub fn take_keyframe_request(&self) -> bool {
        self.shared.keyframe_wanted.swap(false, Ordering::Relaxed)
    }
}

impl TapReceiver {
    /// The next item; `None` once the media task dropped its end (the stream ended).
    pub async fn recv(&mut self) -> Option<TapItem> {
        self.rx.recv().await
    }

    /// Asks the media task for a keyframe.
    pub fn request_keyframe(&self) {
        self.shared.keyframe_wanted.store(true, Ordering::Relaxed);
    }

    /// Items the tap dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_tap_drops_and_counts_instead_of_waiting() {
        let (tap, mut rx) = tap(2);
        let tracks = TapItem::Tracks(TapTracks { video: Some(Codec::Vp8), audio: true });
        assert!(tap.offer(tracks.clone()));
        assert!(tap.offer(tracks.clone()));
        assert!(!tap.offer(tracks.clone()), "the third does not fit");
        assert_eq!(rx.dropped(), 1);
        assert_eq!(rx.recv().await, Some(tracks));
        rx.request_keyframe();
        assert!(tap.take_keyframe_request());
        assert!(!tap.take_keyframe_request(), "asked once, taken once");
        drop(tap);
        assert!(rx.recv().await.is_some());
        assert_eq!(rx.recv().await, None, "the stream ended");
    }
}

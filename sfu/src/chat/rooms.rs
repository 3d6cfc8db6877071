//! [`Rooms`]: the SFU's chat rooms by stream id, each a [`Room`] behind a mutex plus a
//! broadcast channel that fans its events out to every member's session.
//!
//! ```text
//!  publish ok ─▶ Rooms::publish ─▶ Publisher (guard) ── viewer_count ─▶ Room ─▶ broadcast
//!  chat_join  ─▶ Rooms::join ─▶ no publisher here? ─▶ None (not_live)
//!                             └▶ Member (guard) ── send/delete/mute ─▶ Room ─▶ broadcast
//!                                               ◀─ recv ── broadcast::Receiver (lag: skipped)
//!  guard dropped ─▶ leave; no members and no publisher left ─▶ room dropped
//! ```
//!
//! Lifecycle: a room is created by the first `publish` (or `chat_join`, which needs a
//! publisher to be there) and dropped once it has neither members nor a publisher; its
//! history, buckets and mutes go with it. The guards keep the count, so a session that
//! ends in any way (`bye`, a lost socket, a panic) leaves the room by dropping them.
//!
//! This is the async layer over the pure [`Room`]: it reads the wall clock (messages are
//! stamped with it) and spawns the timer that sends a held-back viewer count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;

use super::refusal::Refusal;
use super::room::{ChatIdentity, ChatLimits, MemberId, Room, RoomEvent, Welcome};

/// Events a room's broadcast channel holds for its slowest member. A member further
/// behind skips the oldest (counted in [`Rooms::lagged`]): 256 is minutes of a busy chat
/// at the per-user rate, so only a member whose socket is stuck ever lags.
pub const ROOM_EVENT_QUEUE: usize = 256;

/// Milliseconds since the Unix epoch, the rooms' time (it stamps messages).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One stream's room, shared by its members and publisher.
#[derive(Debug)]
struct Shared {
    room: Mutex<Room>,
    events: broadcast::Sender<RoomEvent>,
    /// Whether a timer for a held-back viewer count is running.
    timer_armed: AtomicBool,
}

impl Shared {
    fn room(&self) -> MutexGuard<'_, Room> {
        self.room.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `event` to every member (none listening is fine).
    fn broadcast(&self, event: RoomEvent) {
        let _ = self.events.send(event);
    }
}

/// A room and who keeps it alive.
#[derive(Debug)]
struct Slot {
    shared: Arc<Shared>,
    members: usize,
    publishers: usize,
}

/// Counts of what the rooms did, for metrics.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    lagged: AtomicU64,
}

/// Every chat room of this SFU. Share it in an `Arc`.
#[derive(Debug)]
pub struct Rooms {
    limits: ChatLimits,
    slots: Mutex<HashMap<String, Slot>>,
    counters: Counters,
}

impl Rooms {
    /// No rooms yet; new rooms get `limits`.
    pub fn new(limits: ChatLimits) -> Arc<Rooms> {
        Arc::new(Rooms { limits, slots: Mutex::new(HashMap::new()), counters: Counters::default() })
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rooms open now.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether no room is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Ordering::Relaxed)
    }

    /// Chat requests refused so far.
    pub fn refused(&self) -> u64 {
        self.counters.refused.load(Ordering::Relaxed)
    }

    /// Events skipped by members that fell behind their room's broadcast.
    pub fn lagged(&self) -> u64 {
        self.counters.lagged.load(Ordering::Relaxed)
    }

    /// The stream's publisher is here (its `publish` was answered): the room exists while
    /// the returned guard lives.
    pub fn publish(self: &Arc<Self>, stream_id: &str) -> Publisher {
        let mut slots = self.slots();
        let slot = slots.entry(stream_id.to_owned()).or_insert_with(|| Slot {
            shared: Arc::new(Shared {
                room: Mutex::new(Room::new(self.limits)),
                events: broadcast::channel(ROOM_EVENT_QUEUE).0,
                timer_armed: AtomicBool::new(false),
            }),
            members: 0,
            publishers: 0,
        });
        slot.publishers += 1;
        Publisher { rooms: self.clone(), stream_id: stream_id.to_owned(), shared: slot.shared.clone() }
    }

    /// A connection joins the chat of `stream_id` with the identity its token proved
    /// (`None`: read only). `None` when the stream is not published on this SFU.
    pub fn join(self: &Arc<Self>, stream_id: &str, identity: Option<ChatIdentity>) -> Option<(Member, Welcome)> {
        let shared = {
            let mut slots = self.slots();
            let slot = slots.get_mut(stream_id).filter(|slot| slot.publishers > 0)?;
            slot.members += 1;
            slot.shared.clone()
        };
        // Subscribe before joining: nothing sent after the welcome's history is missed.
        let events = shared.events.subscribe();
        let (id, welcome) = shared.room().handle_join(identity);
        let member = Member { rooms: self.clone(), stream_id: stream_id.to_owned(), shared, id, events };
        Some((member, welcome))
    }

    /// One fewer member or publisher of `stream_id`; the room goes with the last.
    fn release(&self, stream_id: &str, member: bool) {
        let mut slots = self.slots();
        let Some(slot) = slots.get_mut(stream_id) else { return };
        if member {
            slot.members = slot.members.saturating_sub(1);
        } else {
            slot.publishers = slot.publishers.saturating_sub(1);
        }
        if slot.members == 0 && slot.publishers == 0 {
            slots.remove(stream_id);
        }
    }

    fn count(&self, outcome: &Result<Option<RoomEvent>, Refusal>) {
        let counter = match outcome {
            Ok(Some(RoomEvent::Message(_))) => &self.counters.accepted,
            Ok(_) => return,
            Err(_) => &self.counters.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The publisher's hold on its stream's room. Dropped when its media session ends for
/// good (a parked session keeps it).
#[derive(Debug)]
pub struct Publisher {
    rooms: Arc<Rooms>,
    stream_id: String,
    shared: Arc<Shared>,
}

impl Publisher {
    /// The stream's viewer count changed: members hear of it at most once a second
    /// (a count held back is sent by a timer when its second is up).
    pub fn viewer_count(&self, count: u32) {
        let now = now_ms();
        // The timer flag changes only under the room's lock, so a count held back just
        // as the timer finds nothing left to send still gets a timer.
        let (event, arm) = {
            let mut room = self.shared.room();
            let event = room.handle_viewer_count(count, now);
            let arm = room.poll_timeout().filter(|_| !self.shared.timer_armed.swap(true, Ordering::AcqRel));
            (event, arm)
        };
        if let Some(event) = event {
            self.shared.broadcast(event);
        }
        if let Some(due) = arm {
            spawn_viewer_timer(Arc::downgrade(&self.shared), due.saturating_sub(now));
        }
    }
}

/// Sends the held-back viewer count when it is due, for as long as the room holds one
/// back and exists.
fn spawn_viewer_timer(shared: std::sync::Weak<Shared>, first_wait_ms: u64) {
    tokio::spawn(async move {
        let mut wait_ms = first_wait_ms;
        loop {
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            let Some(shared) = shared.upgrade() else { return };
            let now = now_ms();
            let (event, due) = {
                let mut room = shared.room();
                let event = room.handle_timeout(now);
                let due = room.poll_timeout();
                if due.is_none() {
                    // Under the lock: see `Publisher::viewer_count`.
                    shared.timer_armed.store(false, Ordering::Release);
                }
                (event, due)
            };
            if let Some(event) = event {
                shared.broadcast(event);
            }
            match due {
                Some(due) => wait_ms = due.saturating_sub(now).max(1),
                None => return,
            }
        }
    });
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.rooms.release(&self.stream_id, false);
    }
}

/// What a member's [`Member::recv`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The next event.
    Event(RoomEvent),
    /// The member fell behind and this many events were skipped.
    Skipped(u64),
}

/// One connection's membership of a room. Dropping it leaves the room.
#[derive(Debug)]
pub struct Member {
    rooms: Arc<Rooms>,
    stream_id: String,
    shared: Arc<Shared>,
    id: MemberId,
    events: broadcast::Receiver<RoomEvent>,
}

impl Member {
    /// The next event of the room for this member. Never ends while the member lives
    /// (the member itself keeps the room, and so its channel, alive).
    pub async fn recv(&mut self) -> Received {
        match self.events.recv().await {
            Ok(event) => Received::Event(event),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                self.rooms.counters.lagged.fetch_add(skipped, Ordering::Relaxed);
                Received::Skipped(skipped)
            }
            // Unreachable while `self.shared` holds the sender; wait forever rather than spin.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }

    fn act(&self, act: impl FnOnce(&mut Room, u64) -> Result<Option<RoomEvent>, Refusal>) -> Result<(), Refusal> {
        let outcome = act(&mut self.shared.room(), now_ms());
        self.rooms.count(&outcome);
        if let Some(event) = outcome? {
            self.shared.broadcast(event);
        }
        Ok(())
    }

    /// Sends a message to everyone in the room (this member included).
    pub fn send(&self, text: &str, nonce: Option<String>) -> Result<(), Refusal> {
        self.act(|room, now| room.handle_send(self.id, text, nonce, now).map(Some))
    }

    /// Deletes message `id` for everyone (moderators).
    pub fn delete(&self, id: &str) -> Result<(), Refusal> {
        self.act(|room, now| room.handle_delete(self.id, id, now))
    }

    /// Mutes the author of message `id` for `seconds` (0 lifts it; moderators).
    pub fn mute(&self, id: &str, seconds: u32) -> Result<(), Refusal> {
        self.act(|room, now| room.handle_mute(self.id, id, seconds, now))
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.shared.room().handle_leave(self.id, now_ms());
        self.rooms.release(&self.stream_id, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Option<ChatIdentity> {
        Some(ChatIdentity { user_id: 1, name: "alice".into(), moderator: false })
    }

    #[tokio::test]
    async fn a_room_needs_a_publisher_and_goes_with_the_last_holder() {
        let rooms = Rooms::new(ChatLimits::default());
        assert!(rooms.join("s1", None).is_none(), "not published here");
        let publisher = rooms.publish("s1");
        let (mut member, welcome) = rooms.join("s1", alice()).expect("published");
        assert!(welcome.can_write);
        member.send("hi", Some("n1".into())).unwrap();
        let Received::Event(RoomEvent::Message(line)) = member.recv().await else { panic!("a message") };
        assert_eq!((line.text.as_str(), line.nonce.as_deref()), ("hi", Some("n1")));
        drop(publisher);
        assert_eq!(rooms.len(), 1, "a member keeps the room");
        assert!(rooms.join("s1", None).is_none(), "no publisher: nobody new joins");
        drop(member);
        assert!(rooms.is_empty());
        assert_eq!((rooms.accepted(), rooms.refused()), (1, 0));
    }

    #[tokio::test]
    async fn a_member_that_falls_behind_skips_and_is_counted() {
        let rooms = Rooms::new(ChatLimits { burst: 1_000, ..ChatLimits::default() });
        let _publisher = rooms.publish("s1");
        let (mut slow, _) = rooms.join("s1", None).unwrap();
        let (writer, _) = rooms.join("s1", alice()).unwrap();
        for i in 0..ROOM_EVENT_QUEUE + 10 {
            writer.send(&format!("{i}"), None).unwrap();
        }
        assert_eq!(slow.recv().await, Received::Skipped(10));
        assert_eq!(rooms.lagged(), 10);
        let Received::Event(RoomEvent::Message(line)) = slow.recv().await else { panic!("a message") };
        assert_eq!(line.text, "10");
    }
}

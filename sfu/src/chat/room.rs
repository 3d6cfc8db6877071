//! [`Room`]: one stream's chat. A plain state machine: every method takes `now_ms`,
//! nothing reads a clock or touches a socket.
//!
//! ```text
//!  handle_join(identity?) ─▶ MemberId + Welcome (rights, history, viewers, max_chars)
//!  handle_send ─▶ identity? ─▶ muted? ─▶ clean + trim ─▶ empty? too long? ─▶ user's bucket ─▶ Message
//!  handle_delete ─▶ moderator? ─▶ id issued here? ─▶ drop from history ─▶ Deleted
//!  handle_mute ─▶ moderator? ─▶ author of the id ─▶ mute until now + seconds (0 lifts) ─▶ Muted
//!  handle_viewer_count / poll_timeout / handle_timeout ─▶ Viewers (≤ 1 per second)
//!  handle_leave ─▶ forget the member; drop full buckets and ended mutes
//! ```
//!
//! Lifecycle: a room lives as long as its stream has chat members or a publisher (the
//! session layer decides); mutes, buckets and history go with it.
//!
//! Time is milliseconds since the Unix epoch, because it also stamps messages
//! (`at_ms`) and mute ends (`until_ms`) that clients read. A room never lets its time
//! go backwards: a `now_ms` older than one already seen counts as that one, so a wall
//! clock stepped back cannot refill buckets or lift mutes early — it only stands still.

use std::collections::{HashMap, VecDeque};

use myvid_proto::chat::{ChatLine, MAX_MUTE_SECONDS};
use myvid_proto::signal::ServerMessage;

use super::bucket::TokenBucket;
use super::refusal::Refusal;
use super::viewer_count::ViewerCount;

/// How many recent messages' authors a room remembers, deleted ones included, so that a
/// moderator can mute the author of a message after deleting it, or of one that has
/// scrolled out of the history newcomers get. A few hundred lines is what a chat pane
/// keeps on screen; a thousand is ample and costs tens of kilobytes in the busiest room.
pub const AUTHORS_KEPT: usize = 1_000;

/// The room's rules. The defaults are the product's: 300 characters, 5 messages at
/// once then one every 2 s per user, 50 lines of history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatLimits {
    /// Most characters (Unicode scalar values) in a message after trimming. The
    /// signalling limit is 1,200 bytes of text, so more than 300 only helps text of
    /// narrower characters.
    pub max_chars: u32,
    /// Messages a user may send at once.
    pub burst: u32,
    /// Milliseconds until a user may send one more, after the burst.
    pub refill_ms: u64,
    /// Messages kept for newcomers (at most `myvid_proto::chat::MAX_CHAT_HISTORY`).
    pub history: usize,
}

impl Default for ChatLimits {
    fn default() -> Self {
        ChatLimits { max_chars: 300, burst: 5, refill_ms: 2_000, history: 50 }
    }
}

/// Who a member is, as proved by its chat token. A member without one is anonymous
/// and may only read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatIdentity {
    /// The account's id: buckets and mutes are per account, so two tabs share them.
    pub user_id: i64,
    /// The display name shown on messages.
    pub name: String,
    /// Whether the account may delete messages and mute users in this stream.
    pub moderator: bool,
}

/// A member's handle within one room (one per connection). Never reused, so a stale
/// handle cannot act for a newer member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(u64);

/// What a joining member is told (`chat_joined`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Whether it may send.
    pub can_write: bool,
    /// Whether it may delete and mute.
    pub moderator: bool,
    /// Its display name, when it has an identity.
    pub name: Option<String>,
    /// The last messages, oldest first.
    pub history: Vec<ChatLine>,
    /// The latest viewer count.
    pub viewers: u32,
    /// The room's `max_chars`.
    pub max_chars: u32,
}

impl Welcome {
    /// The `chat_joined` frame.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::ChatJoined {
            can_write: self.can_write,
            moderator: self.moderator,
            name: self.name.clone(),
            history: self.history.clone(),
            viewers: self.viewers,
            max_chars: self.max_chars,
        }
    }
}

/// Something every member of the room should be told. `Clone`, so that a session layer
/// can fan it out through a broadcast channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// A new message (with the sender's nonce: only the sender knows what it means).
    Message(ChatLine),
    /// The message with this id was deleted.
    Deleted(String),
    /// A user was muted until `until_ms`, or unmuted (`until_ms` 0).
    Muted {
        /// The user's display name.
        user: String,
        /// When the mute ends; 0 when it was lifted.
        until_ms: u64,
    },
    /// The stream's viewer count changed.
    Viewers(u32),
}

impl RoomEvent {
    /// The frame every member gets.
    pub fn to_message(&self) -> ServerMessage {
        match self {
            RoomEvent::Message(line) => ServerMessage::ChatMessage(line.clone()),
            RoomEvent::Deleted(id) => ServerMessage::ChatDeleted { id: id.clone() },
            RoomEvent::Muted { user, until_ms } => ServerMessage::ChatMuted { user: user.clone(), until_ms: *until_ms },
            RoomEvent::Viewers(count) => ServerMessage::Viewers { count: *count },
        }
    }
}

/// Who wrote a recent message.
#[derive(Debug, Clone)]
struct Author {
    number: u64,
    user_id: i64,
    name: String,
}

/// One stream's chat.
#[derive(Debug)]
pub struct Room {
    limits: ChatLimits,
    /// The latest `now_ms` seen: the room's time never goes backwards.
    clock_ms: u64,
    members: HashMap<MemberId, Option<ChatIdentity>>,
    /// Connections per user id, to know when a user has left altogether.
    connections: HashMap<i64, usize>,
    next_member: u64,
    /// The number of the next message (`m{n}`); the first is `m1`.
    next_message: u64,
    history: VecDeque<ChatLine>,
    authors: VecDeque<Author>,
    buckets: HashMap<i64, TokenBucket>,
    /// Mute ends by user id.
    mutes: HashMap<i64, u64>,
    viewers: ViewerCount,
}

impl Room {
    /// An empty room with these rules.
    pub fn new(limits: ChatLimits) -> Self {
        Room {
            limits,
            clock_ms: 0,
            members: HashMap::new(),
            connections: HashMap::new(),
            next_member: 0,
            next_message: 1,
            history: VecDeque::new(),
            authors: VecDeque::new(),
            buckets: HashMap::new(),
            mutes: HashMap::new(),
            viewers: ViewerCount::default(),
        }
    }

    /// The room's rules.
    pub fn limits(&self) -> &ChatLimits {
        &self.limits
    }

    /// How many members (connections) are in the room.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The messages a newcomer gets, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &ChatLine> {
        self.history.iter()
    }

    /// The latest viewer count the room was given.
    pub fn viewers(&self) -> u32 {
        self.viewers.current()
    }

    /// When the mute of `user_id` ends, if it is muted at `now_ms`.
    pub fn muted_until(&self, user_id: i64, now_ms: u64) -> Option<u64> {
        let now_ms = now_ms.max(self.clock_ms);
        self.mutes.get(&user_id).copied().filter(|until| *until > now_ms)
    }

    fn tick(&mut self, now_ms: u64) -> u64 {
        self.clock_ms = self.clock_ms.max(now_ms);
        self.clock_ms
    }

    /// A connection joins, with the identity its chat token proved (`None`: anonymous,
    /// read only).
    pub fn handle_join(&mut self, identity: Option<ChatIdentity>) -> (MemberId, Welcome) {
        let member = MemberId(self.next_member);
        self.next_member += 1;
        let welcome = Welcome {
            can_write: identity.is_some(),
            moderator: identity.as_ref().is_some_and(|i| i.moderator),
            name: identity.as_ref().map(|i| i.name.clone()),
            history: self.history.iter().cloned().collect(),
            viewers: self.viewers.current(),
            max_chars: self.limits.max_chars,
        };
        self.viewers.told_newcomer();
        if let Some(identity) = &identity {
            *self.connections.entry(identity.user_id).or_default() += 1;
        }
        self.members.insert(member, identity);
        (member, welcome)
    }

    /// A connection leaves (or closes). Its user's bucket and mute stay while they
    /// matter: a user cannot refill its bucket by reconnecting, nor lift a mute.
    pub fn handle_leave(&mut self, member: MemberId, now_ms: u64) {
        let now_ms = self.tick(now_ms);
        let Some(identity) = self.members.remove(&member) else { return };
        if let Some(identity) = identity
            && let Some(count) = self.connections.get_mut(&identity.user_id)
        {
            *count -= 1;
            if *count == 0 {
                self.connections.remove(&identity.user_id);
            }
        }
        // Housekeeping, bounded by the users who wrote or were muted: a full bucket
        // is the same as none, an ended mute the same as none.
        let ChatLimits { burst, refill_ms, .. } = self.limits;
        let connections = &self.connections;
        self.buckets.retain(|user, bucket| connections.contains_key(user) || !bucket.is_full(burst, refill_ms, now_ms));
        self.mutes.retain(|_, until| *until > now_ms);
    }

    /// A member sends `text`. On success every member (the sender included) gets the
    /// returned [`RoomEvent::Message`], which carries `nonce`; otherwise only the sender
    /// hears of it. A refused message costs no token.
    ///
    /// The text is cleaned first: control characters (newlines included; chat lines are
    /// one line) become spaces, so that escaping cannot blow a line up sixfold on the
    /// wire; then it is trimmed, and its characters counted.
    pub fn handle_send(
        &mut self,
        member: MemberId,
        text: &str,
        nonce: Option<String>,
        now_ms: u64,
    ) -> Result<RoomEvent, Refusal> {
        let now_ms = self.tick(now_ms);
        let Some(Some(identity)) = self.members.get(&member) else { return Err(Refusal::SignInRequired) };
        let (user_id, name) = (identity.user_id, identity.name.clone());
        if let Some(until_ms) = self.muted_until(user_id, now_ms) {
            return Err(Refusal::Muted { until_ms, retry_after_ms: until_ms - now_ms });
        }
        let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let text = cleaned.trim();
        if text.is_empty() {
            return Err(Refusal::Empty);
        }
        let chars = text.chars().count();
        if chars > self.limits.max_chars as usize {
            return Err(Refusal::TooLong { chars, max_chars: self.limits.max_chars });
        }
        let ChatLimits { burst, refill_ms, .. } = self.limits;
        self.buckets
            .entry(user_id)
            .or_insert_with(|| TokenBucket::full(burst))
            .take(burst, refill_ms, now_ms)
            .map_err(|retry_after_ms| Refusal::RateLimited { retry_after_ms })?;

        let number = self.next_message;
        self.next_message += 1;
        let line =
            ChatLine { id: format!("m{number}"), user: name.clone(), text: text.to_owned(), at_ms: now_ms, nonce };
        if self.limits.history > 0 {
            if self.history.len() >= self.limits.history {
                self.history.pop_front();
            }
            self.history.push_back(ChatLine { nonce: None, ..line.clone() });
        }
        if self.authors.len() >= AUTHORS_KEPT {
            self.authors.pop_front();
        }
        self.authors.push_back(Author { number, user_id, name });
        Ok(RoomEvent::Message(line))
    }

    fn moderator(&self, member: MemberId) -> Result<(), Refusal> {
        match self.members.get(&member) {
            Some(Some(identity)) if identity.moderator => Ok(()),
            _ => Err(Refusal::NotModerator),
        }
    }

    /// The number of a message id this room issued (`m1` … the latest), if it is one.
    fn issued(&self, id: &str) -> Option<u64> {
        let number: u64 = id.strip_prefix('m')?.parse().ok()?;
        (number >= 1 && number < self.next_message && format!("m{number}") == id).then_some(number)
    }

    /// A moderator deletes a message for everyone.
    ///
    /// Any id this room issued gives [`RoomEvent::Deleted`], even one no longer in the
    /// history (scrolled out, or deleted already: clients that still show it drop it,
    /// the others ignore it). An id the room never issued changes nothing and
    /// gives `Ok(None)`: a harmless no-op, not a refusal, since two moderators deleting
    /// the same line at once is normal and there is nothing to tell either of them.
    pub fn handle_delete(&mut self, member: MemberId, id: &str, now_ms: u64) -> Result<Option<RoomEvent>, Refusal> {
        self.tick(now_ms);
        self.moderator(member)?;
        if self.issued(id).is_none() {
            return Ok(None);
        }
        self.history.retain(|line| line.id != id);
        Ok(Some(RoomEvent::Deleted(id.to_owned())))
    }

    /// A moderator mutes the author of message `id` for `seconds` (at most a day;
    /// longer is cut to a day), replacing any mute it had; 0 lifts the mute. The
    /// author's earlier messages stay (delete them separately).
    ///
    /// An id whose author the room no longer remembers (older than the last
    /// [`AUTHORS_KEPT`] messages, or never issued) gives `Ok(None)`, a no-op.
    pub fn handle_mute(
        &mut self,
        member: MemberId,
        id: &str,
        seconds: u32,
        now_ms: u64,
    ) -> Result<Option<RoomEvent>, Refusal> {
        let now_ms = self.tick(now_ms);
        self.moderator(member)?;
        let Some(number) = self.issued(id) else { return Ok(None) };
        let Some(author) = self.authors.iter().find(|a| a.number == number) else { return Ok(None) };
        let (user_id, user) = (author.user_id, author.name.clone());
        if seconds == 0 {
            self.mutes.remove(&user_id);
            return Ok(Some(RoomEvent::Muted { user, until_ms: 0 }));
        }
        let until_ms = now_ms.saturating_add(u64::from(seconds.min(MAX_MUTE_SECONDS)) * 1_000);
        self.mutes.insert(user_id, until_ms);
        Ok(Some(RoomEvent::Muted { user, until_ms }))
    }

    /// The stream's viewer count changed (the publisher's session reports it). Returns
    /// the event to send now, if the throttle allows; a held-back count comes from
    /// [`Room::handle_timeout`] at [`Room::poll_timeout`].
    pub fn handle_viewer_count(&mut self, count: u32, now_ms: u64) -> Option<RoomEvent> {
        let now_ms = self.tick(now_ms);
        self.viewers.update(count, now_ms).map(RoomEvent::Viewers)
    }

    /// When the room next needs [`Room::handle_timeout`] (a held-back viewer count).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.viewers.poll_timeout()
    }

    /// Whatever has become due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Option<RoomEvent> {
        let now_ms = self.tick(now_ms);
        self.viewers.handle_timeout(now_ms).map(RoomEvent::Viewers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Option<ChatIdentity> {
        Some(ChatIdentity { user_id: 1, name: "alice".into(), moderator: false })
    }

    fn text_of(event: Result<RoomEvent, Refusal>) -> String {
        match event {
            Ok(RoomEvent::Message(line)) => line.text,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn control_characters_become_spaces_before_trimming() {
        let mut room = Room::new(ChatLimits::default());
        let (a, _) = room.handle_join(alice());
        assert_eq!(text_of(room.handle_send(a, "\n a\u{0}b\tc \r\n", None, 0)), "a b c");
        assert_eq!(room.handle_send(a, "\u{0}\u{7}\n", None, 0), Err(Refusal::Empty));
    }

    #[test]
    fn ids_count_up_and_only_exact_issued_ids_are_deletable() {
        let mut room = Room::new(ChatLimits::default());
        let moderator = Some(ChatIdentity { user_id: 9, name: "mod".into(), moderator: true });
        let (m, _) = room.handle_join(moderator);
        let ids: Vec<String> = (0..3)
            .map(|i| match room.handle_send(m, &format!("{i}"), None, 0) {
                Ok(RoomEvent::Message(line)) => line.id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["m1", "m2", "m3"]);
        for never in ["m0", "m4", "m01", "m+1", "x1", "m", ""] {
            assert_eq!(room.handle_delete(m, never, 0), Ok(None), "{never}");
        }
        assert_eq!(room.history().count(), 3);
    }

    #[test]
    fn time_never_goes_backwards_for_a_mute() {
        let mut room = Room::new(ChatLimits::default());
        let moderator = Some(ChatIdentity { user_id: 9, name: "mod".into(), moderator: true });
        let (m, _) = room.handle_join(moderator);
        let (a, _) = room.handle_join(alice());
        room.handle_send(a, "hi", None, 10_000).unwrap();
        assert!(room.handle_mute(m, "m1", 60, 10_000).unwrap().is_some());
        // A clock stepped back a minute neither lifts nor shortens the mute.
        assert_eq!(
            room.handle_send(a, "again", None, 1_000),
            Err(Refusal::Muted { until_ms: 70_000, retry_after_ms: 60_000 })
        );
    }
}

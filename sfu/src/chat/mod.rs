//! Live chat's core: one [`Room`] per stream, a plain state machine with no I/O and no
//! clock (every `handle_*` takes `now_ms`, milliseconds since the Unix epoch).
//!
//! ```text
//!  session: chat_join ──▶ Room::handle_join ──▶ (MemberId, Welcome) ──▶ chat_joined to that client
//!           chat_send ──▶ Room::handle_send ─┐
//!         chat_delete ──▶ Room::handle_delete├─▶ Ok(RoomEvent) ──▶ broadcast to every member
//!           chat_mute ──▶ Room::handle_mute ─┘   Err(Refusal) ──▶ chat_refused to the sender only
//!  publisher's ViewerCount ──▶ handle_viewer_count ─┐
//!  poll_timeout / handle_timeout ───────────────────┴─▶ RoomEvent::Viewers (≤ 1 per second)
//! ```
//!
//! The rules: anonymous members only read; text is trimmed and counted in characters;
//! each *user* (not each connection) has a token bucket; moderators delete messages and
//! mute users by the id of one of their messages. [`rooms`] is the async layer over it:
//! the rooms by stream id, each with the broadcast channel its members' sessions read
//! (`session/chat.rs` is the chat arm of a connection).

mod bucket;
mod refusal;
mod room;
pub mod rooms;
mod viewer_count;

pub use myvid_proto::chat::MAX_CHAT_HISTORY;
pub use refusal::Refusal;
pub use room::{AUTHORS_KEPT, ChatIdentity, ChatLimits, MemberId, Room, RoomEvent, Welcome};
pub use rooms::{Member, Publisher, Received, Rooms};
pub use viewer_count::VIEWER_COUNT_INTERVAL_MS;

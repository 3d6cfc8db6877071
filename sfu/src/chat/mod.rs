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
//! mute users by the id of one of their messages. The async layer that owns the
//! sockets and the broadcast channel comes separately.

mod bucket;
mod refusal;
mod room;
mod viewer_count;

pub use refusal::Refusal;
pub use room::{AUTHORS_KEPT, ChatIdentity, ChatLimits, MemberId, Room, RoomEvent, Welcome};
pub use viewer_count::VIEWER_COUNT_INTERVAL_MS;

//! The chat arm of a connection's `serve` loop: `chat_*` frames in, room events out.
//!
//! ```text
//!  chat frame ─▶ over 20 this second? ─▶ dropped
//!            ├─ chat_join{token?} ─▶ check token (bad_token) ─▶ Rooms::join (not_live) ─▶ chat_joined
//!            ├─ chat_send ─────────▶ Member::send ──┐
//!            ├─ chat_delete ───────▶ Member::delete ├─▶ Err ─▶ chat_refused to this client
//!            └─ chat_mute ─────────▶ Member::mute ──┘   Ok ─▶ the room broadcasts the event
//!  room event ─▶ chat_message │ chat_deleted │ chat_muted │ viewers    (lagging: skipped)
//! ```
//!
//! Chat is opt-in: a connection that never sent `chat_join` gets no chat frame at all,
//! not even a refusal (old clients and the load generator see the protocol as before);
//! its `chat_send`, `chat_delete` and `chat_mute` are ignored. A connection is in at
//! most one room, its stream's; a second `chat_join` (a client joining again with a
//! fresh token) replaces the membership.
//!
//! Clients send `chat_join` after their `offer` or `answer`, so that the stream is
//! hosted on this SFU; a `chat_join` where the stream is not published is refused with
//! `not_live`.

use std::sync::Arc;

use myvid_proto::chat::ChatRefusalCode;
use myvid_proto::signal::{ClientMessage, ServerMessage};
use tokio::sync::mpsc::Sender;
use tracing::{debug, info};

use super::per_second::PerSecond;
use super::{Flow, send};
use crate::chat::{ChatIdentity, ChatLimits, Member, Received, Rooms};

/// Checks a chat token for a stream: the identity it proves, or `Err(reason)` (logged,
/// never sent). The production check is `myvid_core::chat_token::ChatTokens::verify`.
pub type ChatTokenCheck = Box<dyn Fn(&str, &str) -> Result<ChatIdentity, String> + Send + Sync>;

/// Chat's settings for [`super::Signalling::with_chat`].
pub struct ChatConfig {
    /// Verifies chat tokens.
    pub check: ChatTokenCheck,
    /// Every room's rules.
    pub limits: ChatLimits,
}

impl Default for ChatConfig {
    /// Default limits and no valid token: everybody reads, nobody writes.
    fn default() -> Self {
        ChatConfig {
            check: Box::new(|_, _| Err("no chat token check configured".to_owned())),
            limits: ChatLimits::default(),
        }
    }
}

/// Chat frames a connection may send per second; beyond it they are dropped unread.
/// Sending is limited per user by the room (5, then one every 2 s); this bounds what a
/// client can make the SFU parse and lock for, refusals included.
pub const MAX_CHAT_FRAMES_PER_SECOND: u32 = 20;

/// The SFU's chat: the token check and the rooms.
pub(super) struct Chat {
    check: ChatTokenCheck,
    rooms: Arc<Rooms>,
}

impl Chat {
    pub(super) fn new(config: ChatConfig) -> Chat {
        Chat { check: config.check, rooms: Rooms::new(config.limits) }
    }

    /// The rooms (the publish arm registers its publisher in them).
    pub(super) fn rooms(&self) -> &Arc<Rooms> {
        &self.rooms
    }
}

/// One connection's chat state.
pub(super) struct ChatConn {
    member: Option<Member>,
    frames: PerSecond,
}

impl ChatConn {
    pub(super) fn new() -> ChatConn {
        ChatConn { member: None, frames: PerSecond::default() }
    }

    /// The next room event for this connection; never, when it is in no room.
    pub(super) async fn next(&mut self) -> Received {
        match &mut self.member {
            Some(member) => member.recv().await,
            None => std::future::pending().await,
        }
    }
}

fn refused(code: ChatRefusalCode, message: &str) -> ServerMessage {
    ServerMessage::ChatRefused { code, message: message.to_owned(), retry_after_ms: None, nonce: None }
}

impl Chat {
    /// A `chat_*` frame from the client (any other message is ignored here).
    pub(super) async fn on_frame(
        &self,
        stream_id: &str,
        message: ClientMessage,
        conn: &mut ChatConn,
        out: &Sender<String>,
    ) -> Flow {
        if !conn.frames.admit(MAX_CHAT_FRAMES_PER_SECOND) {
            debug!(stream = %stream_id, "chat frame over the per-connection rate dropped");
            return Flow::Continue;
        }
        let (outcome, nonce) = match message {
            ClientMessage::ChatJoin { token } => return self.join(stream_id, token.as_deref(), conn, out).await,
            ClientMessage::ChatSend { text, nonce } => match &conn.member {
                Some(member) => (member.send(&text, nonce.clone()), nonce),
                None => return Flow::Continue,
            },
            ClientMessage::ChatDelete { id } => match &conn.member {
                Some(member) => (member.delete(&id), None),
                None => return Flow::Continue,
            },
            ClientMessage::ChatMute { id, seconds } => match &conn.member {
                Some(member) => (member.mute(&id, seconds), None),
                None => return Flow::Continue,
            },
            _ => return Flow::Continue,
        };
        match outcome {
            Ok(()) => Flow::Continue,
            Err(refusal) => send(out, &refusal.to_message(nonce)).await,
        }
    }

    async fn join(&self, stream_id: &str, token: Option<&str>, conn: &mut ChatConn, out: &Sender<String>) -> Flow {
        // Leave first: a client joining again gets a fresh welcome, not two memberships.
        conn.member = None;
        let identity = match token {
            None => None,
            Some(token) => match (self.check)(stream_id, token) {
                Ok(identity) => Some(identity),
                Err(reason) => {
                    info!(stream = %stream_id, %reason, "chat token refused");
                    let message = "The chat token was refused: reload the page to get a new one.";
                    return send(out, &refused(ChatRefusalCode::BadToken, message)).await;
                }
            },
        };
        let Some((member, welcome)) = self.rooms.join(stream_id, identity) else {
            return send(out, &refused(ChatRefusalCode::NotLive, "The stream is not live here.")).await;
        };
        conn.member = Some(member);
        send(out, &welcome.to_message()).await
    }

    /// A room event (or a skip) for the client.
    pub(super) async fn on_event(&self, stream_id: &str, received: Received, out: &Sender<String>) -> Flow {
        match received {
            Received::Event(event) => send(out, &event.to_message()).await,
            Received::Skipped(skipped) => {
                info!(stream = %stream_id, skipped, "chat member fell behind: events skipped");
                Flow::Continue
            }
        }
    }
}

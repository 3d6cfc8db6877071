//! Live notifications: the messages of the API's `GET /v1/me/notifications` WebSocket,
//! one JSON object per text frame, like the signalling channel.
//!
//! ```text
//!  client ──{"type":"auth","token":"…"}──────────────────────────────▶ API
//!         ◀─{"type":"ready","live":[{channel,video_id,title,started_at}…]}
//!         ◀─{"type":"went_live","channel":"alice","video_id":"k3J9…","title":"…","started_at":1767000000}
//!         ◀─{"type":"error","code":"…","message":"…"}   (then a close frame)
//! ```
//!
//! The first client frame carries the session token (browsers cannot set headers on a
//! WebSocket). `ready` lists the followed channels that are live at the moment the
//! socket subscribed, so a page that reconnects misses nothing; `went_live` follows for
//! each followed channel that goes live later. Keep-alive pings use
//! [`crate::keepalive`].

use serde::{Deserialize, Serialize};

use crate::{ProtoError, Validate, check_len};

/// Longest session token accepted in `auth`: tokens are 32 random bytes in hex or
/// base64 (at most 64 characters); the slack keeps the wire format from depending on
/// that encoding.
pub const MAX_NOTIFY_TOKEN_BYTES: usize = 256;

/// Longest channel name in a notice. Usernames are 3–32 ASCII characters.
pub const MAX_CHANNEL_BYTES: usize = 64;

/// Longest video id in a notice (ids are 12 URL-safe characters).
pub const MAX_VIDEO_ID_BYTES: usize = 64;

/// Longest title in a notice: 200 characters (the title limit) of up to four bytes.
pub const MAX_NOTICE_TITLE_BYTES: usize = 800;

/// Longest error code and message.
pub const MAX_NOTIFY_CODE_BYTES: usize = 64;
/// See [`MAX_NOTIFY_CODE_BYTES`].
pub const MAX_NOTIFY_MESSAGE_BYTES: usize = 512;

/// Most notices in `ready`: 50 notices of the longest title (about 41 KiB) stay under
/// one frame ([`crate::MAX_FRAME_BYTES`]); someone who follows more channels that are
/// live at the same moment sees the first 50 (the Following page lists them all).
pub const MAX_READY_NOTICES: usize = 50;

/// One followed channel that is live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveNotice {
    /// The broadcaster's username (their channel is `/c/{channel}`).
    pub channel: String,
    /// The live stream's video id (watched at `/watch.html?v={video_id}`).
    pub video_id: String,
    /// The stream's title.
    pub title: String,
    /// Unix seconds when the stream went live.
    pub started_at: i64,
}

impl Validate for LiveNotice {
    fn validate(&self) -> Result<(), ProtoError> {
        check_len("channel", &self.channel, MAX_CHANNEL_BYTES)?;
        check_len("video_id", &self.video_id, MAX_VIDEO_ID_BYTES)?;
        check_len("title", &self.title, MAX_NOTICE_TITLE_BYTES)
    }
}

/// What a client sends on the notification socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NotifyClientMessage {
    /// The first frame: who is listening.
    Auth {
        /// The session token (what `Authorization: Bearer` carries elsewhere).
        token: String,
    },
}

impl Validate for NotifyClientMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            NotifyClientMessage::Auth { token } => check_len("token", token, MAX_NOTIFY_TOKEN_BYTES),
        }
    }
}

/// What the server sends on the notification socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NotifyServerMessage {
    /// Subscribed: the followed channels live now (at most [`MAX_READY_NOTICES`]).
    Ready {
        /// Live channels, as [`LiveNotice`]s.
        live: Vec<LiveNotice>,
    },
    /// A followed channel went live.
    WentLive(LiveNotice),
    /// Something went wrong; a close frame follows when it ends the socket.
    Error {
        /// Stable code (`unauthorized`, `malformed_message`, …).
        code: String,
        /// For people.
        message: String,
    },
}

impl Validate for NotifyServerMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            NotifyServerMessage::Ready { live } => {
                if live.len() > MAX_READY_NOTICES {
                    return Err(ProtoError::Invalid(format!(
                        "`live` has {} notices; the limit is {MAX_READY_NOTICES}",
                        live.len()
                    )));
                }
                live.iter().try_for_each(Validate::validate)
            }
            NotifyServerMessage::WentLive(notice) => notice.validate(),
            NotifyServerMessage::Error { code, message } => {
                check_len("code", code, MAX_NOTIFY_CODE_BYTES)?;
                check_len("message", message, MAX_NOTIFY_MESSAGE_BYTES)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, to_frame};

    fn notice() -> LiveNotice {
        LiveNotice {
            channel: "alice".into(),
            video_id: "k3J9xQ2mPa0Z".into(),
            title: "Morning stream".into(),
            started_at: 1_767_000_000,
        }
    }

    #[test]
    fn auth_reads_the_token() {
        let message: NotifyClientMessage = parse(r#"{"type":"auth","token":"abc"}"#).unwrap();
        assert_eq!(message, NotifyClientMessage::Auth { token: "abc".into() });
    }

    #[test]
    fn went_live_is_flat_on_the_wire() {
        let frame = to_frame(&NotifyServerMessage::WentLive(notice()));
        assert_eq!(
            frame,
            r#"{"type":"went_live","channel":"alice","video_id":"k3J9xQ2mPa0Z","title":"Morning stream","started_at":1767000000}"#
        );
        assert_eq!(parse::<NotifyServerMessage>(&frame).unwrap(), NotifyServerMessage::WentLive(notice()));
    }

    #[test]
    fn every_server_message_round_trips() {
        for message in [
            NotifyServerMessage::Ready { live: vec![] },
            NotifyServerMessage::Ready { live: vec![notice(), notice()] },
            NotifyServerMessage::WentLive(notice()),
            NotifyServerMessage::Error { code: "unauthorized".into(), message: "log in again".into() },
        ] {
            assert_eq!(parse::<NotifyServerMessage>(&to_frame(&message)).unwrap(), message);
        }
    }

    #[test]
    fn limits_are_enforced() {
        let long_token = format!(r#"{{"type":"auth","token":"{}"}}"#, "x".repeat(MAX_NOTIFY_TOKEN_BYTES + 1));
        assert_eq!(parse::<NotifyClientMessage>(&long_token).unwrap_err().code(), "invalid_message");
        let many = NotifyServerMessage::Ready { live: vec![notice(); MAX_READY_NOTICES + 1] };
        assert_eq!(parse::<NotifyServerMessage>(&to_frame(&many)).unwrap_err().code(), "invalid_message");
        let unknown = r#"{"type":"auth","token":"a","extra":1}"#;
        assert_eq!(parse::<NotifyClientMessage>(unknown).unwrap_err().code(), "malformed_message");
    }
}

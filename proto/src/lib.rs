//! # myvid-proto — the live signalling protocol
//!
//! JSON messages over WebSocket, one message per text frame, each an object with a
//! `"type"` field. Two channels use them:
//!
//! ```text
//!  client ──WS /ENDPOINT/{stream_id}──▶ endpoint ◀──WS /SFU/attach/{client_id}── SFU
//!          (signal::ClientMessage / ServerMessage, relayed verbatim)
//!                                       endpoint ◀──WS /SFU (control::…)──────── SFU
//! ```
//!
//! - [`signal`]: between a browser (or any client) and the SFU, relayed unchanged by
//!   the endpoint: publish, join, offer/answer, trickle ICE, errors, bye.
//! - [`chat`]: live chat's line, refusal codes and limits, shared by the `chat_*`
//!   messages of [`signal`].
//! - [`control`]: between an SFU and an endpoint: registration and "a client is
//!   waiting for you" notices.
//! - [`notify`]: the API's live-notification socket (`GET /v1/me/notifications`):
//!   `auth`, then `ready` and `went_live` notices.
//!
//! Every frame is limited to [`MAX_FRAME_BYTES`]; [`parse`] refuses larger frames and
//! malformed JSON with a [`ProtoError`] that the receiver answers with an error frame
//! (it never ends the session by itself).

pub mod chat;
pub mod control;
pub mod keepalive;
pub mod notify;
pub mod signal;

use serde::de::DeserializeOwned;

/// Largest frame accepted on either channel: 64 KiB holds a simulcast SDP offer
/// (typically 5–10 KiB) with ample room, while bounding what a peer can make us parse.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Largest SDP accepted inside a frame.
pub const MAX_SDP_BYTES: usize = 32 * 1024;

/// Largest ICE candidate string accepted.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// Over [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not a JSON object of a known `type` with the right fields.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A field is over its limit or otherwise invalid.
    #[error("invalid message: {0}")]
    Invalid(String),
}

impl ProtoError {
    /// The stable error code sent back in an error frame.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::TooLarge(_) => "frame_too_large",
            ProtoError::Malformed(_) => "malformed_message",
            ProtoError::Invalid(_) => "invalid_message",
        }
    }
}

/// A message that checks its own field limits after parsing.
pub trait Validate {
    /// `Err` with what is wrong, if anything.
    fn validate(&self) -> Result<(), ProtoError>;
}

/// Parses one frame: size limit, JSON shape, then field limits.
pub fn parse<T: DeserializeOwned + Validate>(frame: &str) -> Result<T, ProtoError> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(ProtoError::TooLarge(frame.len()));
    }
    let message: T = serde_json::from_str(frame).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    message.validate()?;
    Ok(message)
}

/// Serialises a message into a text frame.
pub fn to_frame<T: serde::Serialize>(message: &T) -> String {
    // Our message types contain only strings, numbers and enums: serialising cannot fail.
    serde_json::to_string(message).unwrap_or_else(|_| String::from("{}"))
}

pub(crate) fn check_len(field: &str, value: &str, max: usize) -> Result<(), ProtoError> {
    if value.len() > max {
        return Err(ProtoError::Invalid(format!("`{field}` is {} bytes; the limit is {max}", value.len())));
    }
    Ok(())
}

//! What every relay socket shares: keep-alive pings with a silence limit, the
//! endpoint's own error frames, and closing with a code.
//!
//! ```text
//!  every `keepalive` ──▶ Ping ──▶ peer answers Pong (any frame counts as heard)
//!  nothing heard for `idle_timeout` ──▶ Due::Silent ──▶ the socket is closed
//! ```

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use myvid_proto::signal::ServerMessage;
use myvid_proto::{MAX_FRAME_BYTES, ProtoError, to_frame};

use super::conn::ClientConn;

pub(crate) use myvid_proto::keepalive::{Due, KeepAlive, WS_MAX_MESSAGE_BYTES};

/// Why the endpoint itself refuses or ends a client session. Each has a stable
/// `code`, sent in a `{"type":"error","code",…}` frame (see `docs/SIGNALLING.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No SFU is registered with this endpoint.
    NoMediaServer,
    /// The SFU did not attach within the park timeout.
    MediaServerTimeout,
    /// The SFU disconnected (or failed to attach).
    MediaServerGone,
    /// Too many clients are waiting for an SFU.
    Busy,
    /// A text frame over [`MAX_FRAME_BYTES`]; not forwarded.
    FrameTooLarge(usize),
    /// A binary frame; not forwarded.
    BinaryNotSupported,
}

impl Refusal {
    /// The error frame.
    pub fn frame(self) -> Message {
        let (code, message) = match self {
            Refusal::NoMediaServer => ("no_media_server", "no media server is available; try again shortly".to_owned()),
            Refusal::MediaServerTimeout => {
                ("media_server_timeout", "the media server did not answer in time; try again".to_owned())
            }
            Refusal::MediaServerGone => ("media_server_gone", "the media server went away; reconnect".to_owned()),
            Refusal::Busy => ("busy", "too many clients are waiting; try again shortly".to_owned()),
            Refusal::FrameTooLarge(len) => {
                let err = ProtoError::TooLarge(len);
                (err.code(), err.to_string())
            }
            Refusal::BinaryNotSupported => {
                ("binary_not_supported", "binary frames are not supported; send JSON text frames".to_owned())
            }
        };
        let error = ServerMessage::Error { code: code.to_owned(), message };
        Message::Text(to_frame(&error).into())
    }
}

/// The close code for a session the endpoint ends with `refusal`: all of them are
/// worth retrying later (RFC 6455 1013, "try again later").
pub(crate) const RETRY_LATER: u16 = close_code::AGAIN;

/// Sends `refusal` as an error frame, then closes with [`RETRY_LATER`].
pub(crate) async fn refuse(socket: &mut impl ClientConn, refusal: Refusal) {
    if socket.send(refusal.frame()).await.is_ok() {
        close(socket, RETRY_LATER, "").await;
    }
}

/// Sends a close frame. Errors are ignored: the socket is being dropped anyway.
pub(crate) async fn close(socket: &mut impl ClientConn, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// Closes for endpoint shutdown (1001, "going away").
pub(crate) async fn going_away(socket: &mut impl ClientConn) {
    close(socket, close_code::AWAY, "endpoint shutting down").await;
}

/// How a client's text frame is handled: forwarded, or answered with an error frame.
pub(crate) fn check_client_text(text: &str) -> Result<(), Refusal> {
    if text.len() > MAX_FRAME_BYTES { Err(Refusal::FrameTooLarge(text.len())) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_frames_carry_stable_codes() {
        let cases = [
            (Refusal::NoMediaServer, "no_media_server"),
            (Refusal::MediaServerTimeout, "media_server_timeout"),
            (Refusal::MediaServerGone, "media_server_gone"),
            (Refusal::Busy, "busy"),
            (Refusal::FrameTooLarge(70_000), "frame_too_large"),
            (Refusal::BinaryNotSupported, "binary_not_supported"),
        ];
        for (refusal, code) in cases {
            let Message::Text(text) = refusal.frame() else { panic!("not text") };
            let parsed: ServerMessage = myvid_proto::parse(text.as_str()).unwrap();
            assert!(matches!(parsed, ServerMessage::Error { code: c, .. } if c == code), "{text}");
        }
        assert_eq!(check_client_text(&"x".repeat(MAX_FRAME_BYTES)), Ok(()));
        assert_eq!(
            check_client_text(&"x".repeat(MAX_FRAME_BYTES + 1)),
            Err(Refusal::FrameTooLarge(MAX_FRAME_BYTES + 1))
        );
    }
}

//! What every relay socket shares: keep-alive pings with a silence limit, the
//! endpoint's own error frames, and closing with a code.
//!
//! ```text
//!  every `keepalive` ──▶ Ping ──▶ peer answers Pong (any frame counts as heard)
//!  nothing heard for `idle_timeout` ──▶ Due::Silent ──▶ the socket is closed
//! ```

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use myvid_proto::signal::ServerMessage;
use myvid_proto::{MAX_FRAME_BYTES, ProtoError, to_frame};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at, sleep_until};

use super::conn::ClientConn;

/// The WebSocket library's own limit on one message (and one frame). Well above
/// [`MAX_FRAME_BYTES`] so that a too-large signalling frame reaches us and is answered
/// with a `frame_too_large` error frame instead of the library dropping the
/// connection; anything above this is not a mistake but abuse, and does end it.
pub(crate) const WS_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// What a [`KeepAlive`] wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send a ping.
    Ping,
    /// Nothing heard for the idle timeout: close.
    Silent,
}

/// Pings a socket on a fixed period and notices when its peer has gone quiet.
pub(crate) struct KeepAlive {
    ping: Interval,
    idle: Duration,
    last_heard: Instant,
}

impl KeepAlive {
    /// Pings every `every`; silent after `idle` without a frame from the peer.
    pub fn new(every: Duration, idle: Duration) -> Self {
        let mut ping = interval_at(Instant::now() + every, every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        KeepAlive { ping, idle, last_heard: Instant::now() }
    }

    /// The peer sent something (any frame, pongs included).
    pub fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Waits for the next ping or for the silence limit. Cancel-safe.
    pub async fn due(&mut self) -> Due {
        tokio::select! {
            // Silence first: when both are due, a ping would not help any more.
            biased;
            () = sleep_until(self.last_heard + self.idle) => Due::Silent,
            _ = self.ping.tick() => Due::Ping,
        }
    }
}

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

    #[tokio::test(start_paused = true)]
    async fn keepalive_pings_then_notices_silence() {
        let mut keep = KeepAlive::new(Duration::from_secs(20), Duration::from_secs(60));
        assert_eq!(keep.due().await, Due::Ping);
        keep.heard();
        assert_eq!(keep.due().await, Due::Ping);
        assert_eq!(keep.due().await, Due::Ping);
        // At 80 s the ping and the silence limit (60 s after the frame heard at 20 s)
        // fall together: silence wins.
        assert_eq!(keep.due().await, Due::Silent);
    }
}

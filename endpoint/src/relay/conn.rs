//! The client side of a relayed session: a browser's WebSocket, or a *virtual client*
//! inside this process (the WHIP/WHEP handlers), which speaks the same signalling frames
//! over a pair of channels. Both go through the same park → attach → bridge path.
//!
//! ```text
//!  WebSocket            ──recv/send Message──▶ client.rs / bridge.rs
//!  VirtualClient        ──recv/send Message──▶      (the same code)
//!    ▲ frames: mpsc<String>   ▼ Message (text, close): mpsc<Message>
//!  VirtualSession (held by an HTTP handler, then by its resource's task)
//! ```
//!
//! A virtual client answers the relay's keep-alive pings at once (it is in this process:
//! it cannot go silent on the network), so only its holder decides when it ends: by
//! dropping its sender, which the relay sees as the client going away.

use std::future::Future;

use axum::extract::ws::{Message, WebSocket};
use tokio::sync::mpsc;

/// One side of a relayed session, as the relay reads and writes it.
pub(crate) trait ClientConn: Send {
    /// The next message; `None` once the peer is gone.
    fn recv(&mut self) -> impl Future<Output = Option<Result<Message, axum::Error>>> + Send;
    /// Sends one message; `Err` once the peer is gone.
    fn send(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send;
}

impl ClientConn for WebSocket {
    fn recv(&mut self) -> impl Future<Output = Option<Result<Message, axum::Error>>> + Send {
        WebSocket::recv(self)
    }

    fn send(&mut self, message: Message) -> impl Future<Output = Result<(), axum::Error>> + Send {
        WebSocket::send(self, message)
    }
}

/// Frames a virtual client may queue towards the SFU before its holder waits: a
/// `publish` or `view` and a `bye` are all it ever sends.
const TO_SFU_FRAMES: usize = 8;

/// Messages queued towards a virtual client's holder: it drains them continuously
/// (`viewers` counts, `ended`, `bye`), so a few suffice; when full, the relay waits.
const FROM_SFU_MESSAGES: usize = 64;

/// The relay's end of an in-process client.
pub(crate) struct VirtualClient {
    incoming: mpsc::Receiver<String>,
    outgoing: mpsc::Sender<Message>,
    /// A ping was sent: the next `recv` answers with a pong.
    pong_due: bool,
}

/// The holder's end of an in-process client: send signalling frames, receive what the
/// SFU (or the relay) answers. Dropping `to_sfu` ends the session; `from_sfu` yields
/// `None` (or a close message) once it has ended.
pub struct VirtualSession {
    /// Client → SFU text frames (`publish`, `view`, `bye`, …).
    pub to_sfu: mpsc::Sender<String>,
    /// SFU → client messages: text frames, then possibly a close.
    pub from_sfu: mpsc::Receiver<Message>,
}

/// A connected pair.
pub(crate) fn virtual_pair() -> (VirtualClient, VirtualSession) {
    let (to_sfu, incoming) = mpsc::channel(TO_SFU_FRAMES);
    let (outgoing, from_sfu) = mpsc::channel(FROM_SFU_MESSAGES);
    (VirtualClient { incoming, outgoing, pong_due: false }, VirtualSession { to_sfu, from_sfu })
}

fn gone() -> axum::Error {
    axum::Error::new(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "virtual client gone"))
}

impl ClientConn for VirtualClient {
    async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        if self.pong_due {
            self.pong_due = false;
            return Some(Ok(Message::Pong(Default::default())));
        }
        self.incoming.recv().await.map(|frame| Ok(Message::Text(frame.into())))
    }

    async fn send(&mut self, message: Message) -> Result<(), axum::Error> {
        match message {
            Message::Ping(_) => {
                self.pong_due = true;
                Ok(())
            }
            Message::Pong(_) => Ok(()),
            other => self.outgoing.send(other).await.map_err(|_| gone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_virtual_client_answers_pings_and_relays_frames_both_ways() {
        let (mut client, mut session) = virtual_pair();
        client.send(Message::Ping(Default::default())).await.unwrap();
        assert!(matches!(client.recv().await, Some(Ok(Message::Pong(_)))));
        session.to_sfu.send(r#"{"type":"join"}"#.into()).await.unwrap();
        assert!(matches!(client.recv().await, Some(Ok(Message::Text(t))) if t.as_str() == r#"{"type":"join"}"#));
        client.send(Message::Text("hello".into())).await.unwrap();
        assert!(matches!(session.from_sfu.recv().await, Some(Message::Text(t)) if t.as_str() == "hello"));
        drop(session.to_sfu);
        assert!(client.recv().await.is_none(), "the holder went away");
        drop(session.from_sfu);
        assert!(client.send(Message::Text("late".into())).await.is_err());
    }
}

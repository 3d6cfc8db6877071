//! The relay loop between a bridged client socket and its SFU attach socket.
//!
//! ```text
//!  client ── text ≤ MAX_FRAME_BYTES ──────────────▶ SFU   (verbatim)
//!         ◀─ error frame (too large, binary) ─┘
//!  client ◀───────────────────────────── text ── SFU   (verbatim; binary dropped)
//!  close on either side ─▶ forwarded to the other, bridge ends
//!  SFU control socket gone ─▶ client gets media_server_gone and is closed
//! ```

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, close_code};
use tokio_util::sync::CancellationToken;

use super::Relay;
use super::conn::ClientConn;
use super::socket::{Due, KeepAlive, Refusal, check_client_text, close, going_away, refuse};

/// What happened to one side.
enum Side {
    /// Keep relaying.
    Open,
    /// The bridge is over.
    Done,
}

/// Relays until either side closes. `buffered` are the client's frames sent while it
/// was parked; they go to the SFU first.
pub(super) async fn run(
    relay: &Relay,
    mut client: impl ClientConn,
    mut sfu: WebSocket,
    gone: &CancellationToken,
    buffered: Vec<Utf8Bytes>,
) {
    for frame in buffered {
        if sfu.send(Message::Text(frame)).await.is_err() {
            refuse(&mut client, Refusal::MediaServerGone).await;
            return;
        }
    }
    let mut client_keep = KeepAlive::new(relay.config.keepalive, relay.config.idle_timeout);
    let mut sfu_keep = KeepAlive::new(relay.config.keepalive, relay.config.idle_timeout);
    loop {
        let side = tokio::select! {
            // On shutdown the SFU's control session ends too, so `gone` may fire as well:
            // either way, shutdown is what the client is told about.
            () = first_of(&relay.shutdown, gone) => {
                if relay.is_shut_down() {
                    going_away(&mut client).await;
                    going_away(&mut sfu).await;
                } else {
                    refuse(&mut client, Refusal::MediaServerGone).await;
                    close(&mut sfu, close_code::AWAY, "media server unregistered").await;
                }
                Side::Done
            }
            incoming = client.recv() => {
                client_keep.heard();
                from_client(incoming, &mut client, &mut sfu).await
            }
            incoming = sfu.recv() => {
                sfu_keep.heard();
                from_sfu(incoming, &mut client, &mut sfu).await
            }
            due = client_keep.due() => match due {
                Due::Ping => ping(&mut client, &mut sfu, "client went away").await,
                Due::Silent => {
                    close(&mut client, close_code::AWAY, "idle").await;
                    close(&mut sfu, close_code::AWAY, "client went away").await;
                    Side::Done
                }
            },
            due = sfu_keep.due() => match due {
                Due::Ping => match sfu.send(Message::Ping(Default::default())).await {
                    Ok(()) => Side::Open,
                    Err(_) => {
                        refuse(&mut client, Refusal::MediaServerGone).await;
                        Side::Done
                    }
                },
                Due::Silent => {
                    refuse(&mut client, Refusal::MediaServerGone).await;
                    close(&mut sfu, close_code::AWAY, "idle").await;
                    Side::Done
                }
            },
        };
        if let Side::Done = side {
            return;
        }
    }
}

/// Completes when either token is cancelled.
pub(super) async fn first_of(a: &CancellationToken, b: &CancellationToken) {
    tokio::select! {
        () = a.cancelled() => {}
        () = b.cancelled() => {}
    }
}

/// One frame (or the end) from the client.
async fn from_client(
    incoming: Option<Result<Message, axum::Error>>,
    client: &mut impl ClientConn,
    sfu: &mut WebSocket,
) -> Side {
    match incoming {
        Some(Ok(Message::Text(text))) => match check_client_text(text.as_str()) {
            Ok(()) => {
                if sfu.send(Message::Text(text)).await.is_err() {
                    refuse(client, Refusal::MediaServerGone).await;
                    return Side::Done;
                }
                Side::Open
            }
            Err(refusal) => answer(client, sfu, refusal).await,
        },
        Some(Ok(Message::Binary(_))) => answer(client, sfu, Refusal::BinaryNotSupported).await,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Side::Open,
        Some(Ok(Message::Close(frame))) => {
            let _ = sfu.send(Message::Close(frame)).await;
            Side::Done
        }
        Some(Err(_)) | None => {
            close(sfu, close_code::AWAY, "client went away").await;
            Side::Done
        }
    }
}

/// One frame (or the end) from the SFU.
async fn from_sfu(
    incoming: Option<Result<Message, axum::Error>>,
    client: &mut impl ClientConn,
    sfu: &mut WebSocket,
) -> Side {
    match incoming {
        Some(Ok(Message::Text(text))) => {
            if client.send(Message::Text(text)).await.is_err() {
                close(sfu, close_code::AWAY, "client went away").await;
                return Side::Done;
            }
            Side::Open
        }
        Some(Ok(Message::Binary(_))) => {
            tracing::warn!("dropping a binary frame from an SFU");
            Side::Open
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Side::Open,
        Some(Ok(Message::Close(frame))) => {
            let _ = client.send(Message::Close(frame)).await;
            Side::Done
        }
        Some(Err(_)) | None => {
            refuse(client, Refusal::MediaServerGone).await;
            Side::Done
        }
    }
}

/// Answers a refused client frame; the session goes on.
async fn answer(client: &mut impl ClientConn, sfu: &mut WebSocket, refusal: Refusal) -> Side {
    if client.send(refusal.frame()).await.is_err() {
        close(sfu, close_code::AWAY, "client went away").await;
        return Side::Done;
    }
    Side::Open
}

/// Pings the client; if that fails the client is gone.
async fn ping(client: &mut impl ClientConn, sfu: &mut WebSocket, reason: &str) -> Side {
    if client.send(Message::Ping(Default::default())).await.is_err() {
        close(sfu, close_code::AWAY, reason).await;
        return Side::Done;
    }
    Side::Open
}

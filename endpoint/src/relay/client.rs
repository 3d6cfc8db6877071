//! A client's socket (`/ENDPOINT/{stream_id}`) from upgrade to close. The same
//! session runs for an in-process virtual client ([`super::conn`]), for WHIP and WHEP.
//!
//! ```text
//!  upgrade ─▶ park (no SFU yet: wait up to sfu_wait for one, then no_media_server
//!                   · cap reached: busy)
//!          ─▶ attach notice to the SFU's control socket
//!          ─▶ wait: client frames buffered (in order, up to PARKED_FRAMES)
//!               timeout ─▶ media_server_timeout · SFU gone ─▶ media_server_gone
//!          ─▶ SFU's attach socket arrives ─▶ bridge (buffered frames first)
//!  drop of the session guard: unpark if still parked, release stream and SFU counts
//! ```

use std::sync::Arc;

use axum::extract::ws::{
    Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use myvid_core::{ApiError, ErrorCode};
use myvid_proto::control::EndpointMessage;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::conn::ClientConn;
use super::registry::ParkRefusal;
use super::socket::{Due, KeepAlive, Refusal, WS_MAX_MESSAGE_BYTES, check_client_text, close, going_away, refuse};
use super::{Relay, bridge};

/// Frames a parked client may send before its SFU attaches (a `publish` or `join`
/// and a few trickled candidates); they reach the SFU in order once bridged. When the
/// buffer is full the relay stops reading the socket until the bridge is up, so a
/// client cannot make a parked session hold more than this many frames.
const PARKED_FRAMES: usize = 32;

/// Longest stream id accepted in the path (the protocol's id limit).
const MAX_STREAM_ID_BYTES: usize = 64;

impl From<ParkRefusal> for Refusal {
    fn from(refusal: ParkRefusal) -> Self {
        match refusal {
            ParkRefusal::NoMediaServer => Refusal::NoMediaServer,
            ParkRefusal::Busy => Refusal::Busy,
        }
    }
}

/// `GET /ENDPOINT/{stream_id}`: a broadcaster's or viewer's signalling socket.
pub(super) async fn handle(
    State(relay): State<Arc<Relay>>,
    Path(stream_id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if relay.is_shut_down() {
        return ApiError::new(ErrorCode::Unavailable, "this endpoint is shutting down").into_response();
    }
    if !valid_stream_id(&stream_id) {
        let message = format!("stream id must be 1 to {MAX_STREAM_ID_BYTES} letters, digits, `-` or `_`");
        return ApiError::invalid(message).into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(e) => return ApiError::invalid(format!("expected a WebSocket upgrade: {e}")).into_response(),
    };
    upgrade
        .max_message_size(WS_MAX_MESSAGE_BYTES)
        .max_frame_size(WS_MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(relay, stream_id, socket))
}

fn valid_stream_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_STREAM_ID_BYTES
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Releases a session's place in the registry however the session ends.
struct SessionGuard {
    relay: Arc<Relay>,
    client_id: String,
    stream_id: String,
    sfu_id: String,
    bridged: bool,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.relay.update(|registry| {
            registry.unpark(&self.client_id);
            registry.session_ended(&self.stream_id, &self.sfu_id, self.bridged);
        });
    }
}

pub(super) async fn session(relay: Arc<Relay>, stream_id: String, mut socket: impl ClientConn) {
    let client_id = relay.new_id("c-");
    let (deliver, attached) = oneshot::channel();
    let mut parked = relay.update(|registry| registry.park(client_id.clone(), &stream_id, deliver));
    if let Err((ParkRefusal::NoMediaServer, deliver)) = parked {
        // An endpoint that just started, or whose SFUs are reconnecting: wait for one.
        // (The watch's read guard must be gone before `update` publishes a new status.)
        let mut status = relay.watch_status();
        let registered =
            matches!(timeout(relay.config.sfu_wait, status.wait_for(|s| !s.sfus.is_empty())).await, Ok(Ok(_)));
        parked = if registered {
            relay.update(|registry| registry.park(client_id.clone(), &stream_id, deliver))
        } else {
            Err((ParkRefusal::NoMediaServer, deliver))
        };
    }
    let placement = match parked {
        Ok(placement) => placement,
        Err((refusal, _)) => {
            tracing::info!(%stream_id, ?refusal, "client refused");
            refuse(&mut socket, refusal.into()).await;
            return;
        }
    };
    let mut guard = SessionGuard {
        relay: relay.clone(),
        client_id: client_id.clone(),
        stream_id: stream_id.clone(),
        sfu_id: placement.sfu_id.clone(),
        bridged: false,
    };
    tracing::debug!(%client_id, %stream_id, sfu_id = %placement.sfu_id, "client parked");
    // A closed channel means the SFU's control session is ending: `gone` fires next.
    let _ = placement.control.send(EndpointMessage::Attach { client_id: client_id.clone(), stream_id });
    let Some((sfu, buffered)) = wait_for_attach(&relay, &client_id, &mut socket, attached, &placement.gone).await
    else {
        return;
    };
    relay.update(|registry| registry.bridge_started(&placement.sfu_id));
    guard.bridged = true;
    tracing::debug!(%client_id, "client bridged");
    bridge::run(&relay, socket, sfu, &placement.gone, buffered).await;
    drop(guard);
}

/// Waits until the SFU's attach socket arrives, buffering the client's frames; `None`
/// if the session ended meanwhile (the client has been told why).
async fn wait_for_attach(
    relay: &Relay,
    client_id: &str,
    socket: &mut impl ClientConn,
    mut attached: oneshot::Receiver<WebSocket>,
    gone: &CancellationToken,
) -> Option<(WebSocket, Vec<Utf8Bytes>)> {
    let deadline = Instant::now() + relay.config.park_timeout;
    let mut buffered = Vec::new();
    let mut keep = KeepAlive::new(relay.config.keepalive, relay.config.idle_timeout);
    loop {
        tokio::select! {
            // On shutdown the SFU's control session ends too, so `gone` may fire as well:
            // either way, shutdown is what the client is told about.
            () = bridge::first_of(&relay.shutdown, gone) => {
                if relay.is_shut_down() {
                    going_away(socket).await;
                } else {
                    refuse(socket, Refusal::MediaServerGone).await;
                }
                return None;
            }
            sfu = &mut attached => {
                return match sfu {
                    Ok(sfu) => Some((sfu, buffered)),
                    Err(_) => {
                        refuse(socket, Refusal::MediaServerGone).await;
                        None
                    }
                };
            }
            () = sleep_until(deadline) => {
                if relay.update(|registry| registry.unpark(client_id)) {
                    tracing::info!(%client_id, "SFU did not attach in time");
                    refuse(socket, Refusal::MediaServerTimeout).await;
                    return None;
                }
                // The SFU took the client just now; its upgrade is under way.
                return match timeout(relay.config.park_timeout, attached).await {
                    Ok(Ok(sfu)) => Some((sfu, buffered)),
                    _ => {
                        refuse(socket, Refusal::MediaServerGone).await;
                        None
                    }
                };
            }
            incoming = socket.recv(), if buffered.len() < PARKED_FRAMES => {
                keep.heard();
                match incoming {
                    Some(Ok(Message::Text(text))) => match check_client_text(text.as_str()) {
                        Ok(()) => buffered.push(text),
                        Err(refusal) => {
                            if socket.send(refusal.frame()).await.is_err() {
                                return None;
                            }
                        }
                    },
                    Some(Ok(Message::Binary(_))) => {
                        if socket.send(Refusal::BinaryNotSupported.frame()).await.is_err() {
                            return None;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                }
            }
            due = keep.due() => match due {
                Due::Ping => {
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                }
                Due::Silent => {
                    close(socket, close_code::AWAY, "idle").await;
                    return None;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_path_safe() {
        assert!(valid_stream_id("k3J9xQ2mPa0Z"));
        assert!(valid_stream_id("a-b_c"));
        for bad in ["", "a/b", "a b", "ü", &"x".repeat(65)] {
            assert!(!valid_stream_id(bad), "{bad}");
        }
    }
}

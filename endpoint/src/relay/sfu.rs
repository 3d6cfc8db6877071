//! The SFU's two sockets: the control socket (`/SFU`), which registers the SFU and
//! carries `attach` notices and `load` reports, and the attach socket
//! (`/SFU/attach/{client_id}`), which is handed to the parked client's task to bridge.
//! Both require `Authorization: Bearer <sfu secret>`.
//!
//! ```text
//!  control loop:  registered ─▶ { attach notices ─▶ SFU | SFU ─▶ load | ping/idle }
//!                 ─▶ closed: unregister, every session on this SFU ends
//!  attach:        secret ✓ ─▶ take parked client (404 if none) ─▶ upgrade ─▶ hand over
//! ```

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, close_code, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use myvid_core::{ApiError, ErrorCode};
use myvid_proto::control::{EndpointMessage, SfuMessage};
use myvid_proto::{parse, to_frame};
use tokio::sync::mpsc;

use super::Relay;
use super::socket::{Due, KeepAlive, WS_MAX_MESSAGE_BYTES, close, going_away};

/// `GET /SFU`: an SFU's control socket.
pub(super) async fn control(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match admit(&relay, &headers, upgrade) {
        Ok(upgrade) => upgrade,
        Err(err) => return err.into_response(),
    };
    upgrade.on_upgrade(move |socket| control_session(relay, socket))
}

/// `GET /SFU/attach/{client_id}`: an SFU answering an `attach` notice.
pub(super) async fn attach(
    State(relay): State<Arc<Relay>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match admit(&relay, &headers, upgrade) {
        Ok(upgrade) => upgrade,
        Err(err) => return err.into_response(),
    };
    let Some(deliver) = relay.update(|registry| registry.take_parked(&client_id)) else {
        return ApiError::not_found("parked client").into_response();
    };
    // If the upgrade fails, `deliver` is dropped and the client's task learns of it.
    upgrade.on_upgrade(move |socket| async move {
        if deliver.send(socket).is_err() {
            tracing::debug!(%client_id, "client left while its SFU was attaching");
        }
    })
}

/// Checks shutdown, the secret and the upgrade, in that order, so that a wrong secret
/// is a 401 whatever else is wrong.
fn admit(
    relay: &Relay,
    headers: &HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    if relay.is_shut_down() {
        return Err(ApiError::new(ErrorCode::Unavailable, "this endpoint is shutting down"));
    }
    let presented = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer);
    if !presented.is_some_and(|secret| same_secret(secret, &relay.config.sfu_secret)) {
        return Err(ApiError::new(ErrorCode::Unauthorized, "a valid `Authorization: Bearer <sfu secret>` is required"));
    }
    let upgrade = upgrade.map_err(|e| ApiError::invalid(format!("expected a WebSocket upgrade: {e}")))?;
    Ok(upgrade.max_message_size(WS_MAX_MESSAGE_BYTES).max_frame_size(WS_MAX_MESSAGE_BYTES))
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares secrets in time independent of where they differ. An empty expected
/// secret matches nothing.
fn same_secret(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    !b.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Unregisters the SFU however its control session ends (even by panic).
struct Registration {
    relay: Arc<Relay>,
    sfu_id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.relay.update(|registry| registry.unregister_sfu(&self.sfu_id));
        tracing::info!(sfu_id = %self.sfu_id, "SFU unregistered");
    }
}

async fn control_session(relay: Arc<Relay>, mut socket: WebSocket) {
    let sfu_id = relay.new_id("sfu-");
    let (control, mut notices) = mpsc::unbounded_channel();
    relay.update(|registry| registry.register_sfu(sfu_id.clone(), control));
    let registration = Registration { relay: relay.clone(), sfu_id: sfu_id.clone() };
    tracing::info!(%sfu_id, "SFU registered");
    let registered = EndpointMessage::Registered { sfu_id: sfu_id.clone() };
    if socket.send(Message::Text(to_frame(&registered).into())).await.is_err() {
        return;
    }
    let mut keep = KeepAlive::new(relay.config.keepalive, relay.config.idle_timeout);
    loop {
        tokio::select! {
            () = relay.shutdown.cancelled() => {
                going_away(&mut socket).await;
                break;
            }
            // The registry holds the sender until this SFU is unregistered: never `None` here.
            Some(notice) = notices.recv() => {
                if socket.send(Message::Text(to_frame(&notice).into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                keep.heard();
                match incoming {
                    Some(Ok(Message::Text(text))) => match parse::<SfuMessage>(text.as_str()) {
                        Ok(SfuMessage::Load { sessions }) => {
                            relay.update(|registry| registry.report_load(&sfu_id, sessions));
                        }
                        Ok(SfuMessage::Hosting { stream_id }) => {
                            relay.update(|registry| registry.host(&stream_id, &sfu_id));
                        }
                        Ok(SfuMessage::Released { stream_id }) => {
                            relay.update(|registry| registry.release(&stream_id, &sfu_id));
                        }
                        Err(err) => tracing::warn!(%sfu_id, %err, "ignoring a bad control frame from an SFU"),
                    },
                    Some(Ok(Message::Binary(_))) => tracing::warn!(%sfu_id, "ignoring a binary control frame"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                }
            }
            due = keep.due() => match due {
                Due::Ping => {
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
                Due::Silent => {
                    tracing::warn!(%sfu_id, "SFU control socket silent; closing");
                    close(&mut socket, close_code::AWAY, "idle").await;
                    break;
                }
            },
        }
    }
    drop(registration);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_secrets_are_checked_exactly() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
        assert!(!same_secret("", ""));
    }
}

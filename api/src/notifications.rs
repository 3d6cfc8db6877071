//! `GET /v1/me/notifications`: the live-notification WebSocket of a signed-in page.
//!
//! ```text
//!  upgrade ──▶ wait ≤ 5 s for {"type":"auth","token"} ── bad/none: error frame, close 4401
//!          ──▶ hub.subscribe(user) ── too many here: error frame, close 4429
//!          ──▶ {"type":"ready","live":[…]}   (followed channels live now)
//!          ──▶ {"type":"went_live",…} as the poller finds them (core::notify)
//!  ends: the peer closes or goes silent (keep-alive), its queue overflows (1008), or
//!        the process stops (1001, so that the HTTP drain is not held up)
//! ```
//!
//! A WebSocket rather than server-sent events: over HTTP/1.1 a browser allows six
//! connections per host, and a stream per open tab would starve `fetch` and HLS
//! (docs/plans/product.md §0). Browsers cannot set headers on a WebSocket, so the
//! token comes in the first frame.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use myvid_core::ids::token_hash;
use myvid_core::notify::{Hub, Subscription};
use myvid_core::{ApiError, ErrorCode, Services};
use myvid_proto::keepalive::{Due, KeepAlive};
use myvid_proto::notify::{LiveNotice, MAX_READY_NOTICES, NotifyClientMessage, NotifyServerMessage};
use myvid_proto::{parse, to_frame};
use myvid_store::meta::User;

/// The route's path.
pub const PATH: &str = "/v1/me/notifications";

/// How long a socket may stay open without sending `auth`: enough for a slow page,
/// short enough that anonymous sockets cannot pile up.
const AUTH_WAIT: Duration = Duration::from_secs(5);

/// Ping period and the silence after which a socket is given up (like the signalling
/// sockets: a dead connection is noticed within a minute).
const PING_EVERY: Duration = Duration::from_secs(20);
const IDLE: Duration = Duration::from_secs(60);

/// Largest frame a client may send: `auth` is well under 1 KiB.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Close codes (4000–4999 are the application's own).
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_TOO_MANY: u16 = 4429;

/// The route, answering with sockets of `hub`.
pub(crate) fn routes(hub: Arc<Hub>) -> Router<Services> {
    Router::new().route(
        PATH,
        get(move |State(services): State<Services>, upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>| {
            handle(services, hub.clone(), upgrade)
        }),
    )
}

async fn handle(
    services: Services,
    hub: Arc<Hub>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if hub.is_closing() {
        return ApiError::new(ErrorCode::Unavailable, "this server is shutting down; try again").into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(e) => {
            return ApiError::new(ErrorCode::UpgradeRequired, format!("this path is a WebSocket: {e}")).into_response();
        }
    };
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session(services, hub, socket))
}

async fn session(services: Services, hub: Arc<Hub>, mut socket: WebSocket) {
    let user = tokio::select! {
        user = tokio::time::timeout(AUTH_WAIT, authenticate(&services, &mut socket)) => user,
        () = hub.closed() => {
            close(&mut socket, close_code::AWAY, "server shutting down").await;
            return;
        }
    };
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) | Err(_) => {
            let message = "send {\"type\":\"auth\",\"token\":…} with a valid session token first";
            refuse(&mut socket, "unauthorized", message, CLOSE_UNAUTHORIZED).await;
            return;
        }
    };
    // Subscribe before reading the snapshot: a stream that goes live in between is in
    // both (the client shows it once), never in neither.
    let subscription = match hub.subscribe(user.id) {
        Ok(subscription) => subscription,
        Err(too_many) => {
            refuse(&mut socket, "too_many_sockets", &too_many.to_string(), CLOSE_TOO_MANY).await;
            return;
        }
    };
    let live = match followed_live(&services, &user).await {
        Ok(live) => live,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read followed live channels for a notification socket");
            refuse(&mut socket, "unavailable", "cannot read your followed channels; try again", close_code::ERROR)
                .await;
            return;
        }
    };
    if send(&mut socket, &NotifyServerMessage::Ready { live }).await.is_err() {
        return;
    }
    stream(&mut socket, subscription, &hub).await;
}

/// Reads frames until `auth`: the user its token belongs to, or `None` for a bad
/// token, a malformed frame or a closed socket.
async fn authenticate(services: &Services, socket: &mut WebSocket) -> Option<User> {
    loop {
        let text = match socket.recv().await? {
            Ok(Message::Text(text)) => text,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Binary(_) | Message::Close(_)) | Err(_) => return None,
        };
        let NotifyClientMessage::Auth { token } = parse(text.as_str()).ok()?;
        return match services.meta.session_user(&token_hash(&token), services.clock.now()).await {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(error = %e, "cannot check a notification socket's session");
                None
            }
        };
    }
}

/// The followed channels live now, live ones first (the store's order), at most
/// [`MAX_READY_NOTICES`].
async fn followed_live(services: &Services, user: &User) -> Result<Vec<LiveNotice>, myvid_store::StoreError> {
    let page = services.meta.following(user.id, u32::try_from(MAX_READY_NOTICES).unwrap_or(50), None).await?;
    Ok(page
        .items
        .into_iter()
        .filter_map(|followed| {
            let video = followed.live?;
            Some(LiveNotice {
                channel: followed.user.username,
                title: video.title,
                // Going live publishes a stream: its publication is when it went live.
                started_at: video.published_at.unwrap_or(video.created_at),
                video_id: video.id,
            })
        })
        .collect())
}

/// Forwards the hub's notices until the socket ends.
async fn stream(socket: &mut WebSocket, mut subscription: Subscription, hub: &Hub) {
    let mut keepalive = KeepAlive::new(PING_EVERY, IDLE);
    loop {
        tokio::select! {
            biased;
            () = hub.closed() => {
                close(socket, close_code::AWAY, "server shutting down").await;
                return;
            }
            notice = subscription.recv() => match notice {
                Some(notice) => {
                    if send(socket, &notice).await.is_err() {
                        return;
                    }
                }
                None => {
                    // The hub dropped this socket: it let its queue fill up.
                    close(socket, close_code::POLICY, "too slow").await;
                    return;
                }
            },
            due = keepalive.due() => match due {
                Due::Ping => {
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
                Due::Silent => {
                    close(socket, close_code::AWAY, "idle").await;
                    return;
                }
            },
            frame = socket.recv() => match frame {
                // Anything the client sends after `auth` only shows it is alive.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => keepalive.heard(),
            },
        }
    }
}

async fn send(socket: &mut WebSocket, message: &NotifyServerMessage) -> Result<(), axum::Error> {
    socket.send(Message::Text(Utf8Bytes::from(to_frame(message)))).await
}

/// An error frame, then a close with `code`.
async fn refuse(socket: &mut WebSocket, code: &str, message: &str, close_with: u16) {
    let error = NotifyServerMessage::Error { code: code.to_owned(), message: message.to_owned() };
    if send(socket, &error).await.is_ok() {
        close(socket, close_with, code).await;
    }
}

/// Sends a close frame; errors are ignored (the socket is being dropped anyway).
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

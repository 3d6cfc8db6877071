//! # myvid-api — the HTTP API tier
//!
//! ```text
//!  /API/...   the original MyVid calls, same paths and shapes   (legacy.rs)
//!  /v1/...    the same capabilities, versioned, cursor-paged    (v1.rs)
//!  /v1/uploads/{id}/multipart: resumable uploads in parts     (multipart.rs)
//!  /v1 edit/delete, channels, follows, related, view reports    (social.rs)
//!  NEWSTREAM, ICE, /v1/streams, /v1/ice: live set-up             (live.rs)
//!  /v1/streams/{id}/chat-token: a live chat token           (chat.rs)
//!  /playback/hls/… signed HLS playlists of ready videos       (playback.rs)
//!  /v1/me/notifications: the live-notification WebSocket      (notifications.rs)
//!  /metrics   Prometheus text;  /healthz  liveness              (ops.rs)
//!  the OpenAPI document of the calls above, from their handlers  (openapi.rs)
//!  /*         the browser client from client-js/web, embedded   (web.rs)
//! ```
//!
//! Every handler is a thin shell over `myvid_core`; every failure is answered as
//! `{"error":{"code","message"}}` by `myvid_core::ApiError`.

mod chat;
mod legacy;
mod live;
mod multipart;
pub mod notifications;
pub mod openapi;
mod ops;
mod pagination;
mod playback;
mod social;
mod v1;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use myvid_core::limits::MAX_JSON_BODY;
use myvid_core::notify::Hub;
use myvid_core::route_table::RouteTable;
use myvid_core::{ApiError, ErrorCode, Services};

/// The calls the OpenAPI document describes: original, `/v1` and live set-up.
fn documented() -> RouteTable<Services> {
    legacy::routes()
        .merge(v1::routes())
        .merge(social::routes())
        .merge(multipart::routes())
        .merge(live::routes())
        .merge(chat::routes())
}

/// The `(method, path)` of every route [`openapi::document`] must describe.
pub fn documented_routes() -> Vec<(Method, &'static str)> {
    documented().registered().to_vec()
}

/// The API router: original calls, `/v1`, ops endpoints and the web pages; live
/// notifications go to the sockets `notify` holds (the role runs its poller).
pub fn router(services: Services, notify: Arc<Hub>) -> Router {
    Router::new()
        .merge(documented().into_router())
        .merge(ops::routes())
        .merge(playback::routes())
        // A WebSocket: outside the OpenAPI document, like the playback routes.
        .merge(notifications::routes(notify))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(web::serve)
        .with_state(services)
}

/// Just `/metrics` and `/healthz`, for processes that serve no API (`myvid endpoint`).
pub fn ops_router(services: Services) -> Router {
    ops::routes().with_state(services)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this path does not accept that HTTP method")
}

//! WHIP (RFC 9725) and WHEP over the signalling relay: broadcasters and viewers that
//! speak HTTP instead of the WebSocket protocol (OBS, GStreamer, ffmpeg, WHEP players).
//!
//! Each `POST` opens a signalling session to the stream's SFU as an in-process virtual
//! client ([`Relay::open_virtual`]), sends `publish{token,sdp}` (WHIP) or `view{sdp}`
//! (WHEP) and answers `201 Created` with the SFU's answer and the resource's `Location`.
//! The session lives as long as the resource: `DELETE` ends it, and so does the SFU.
//!
//! ```text
//!  POST   /whip/{stream_id}        Bearer <stream token>, application/sdp offer ─▶ 201 answer + Location
//!  DELETE /whip/{stream_id}/{id}   ─▶ bye ─▶ 200
//!  POST   /whep/{stream_id}        application/sdp offer (recvonly) ─▶ 201 answer + Location
//!  DELETE /whep/{stream_id}/{id}   ─▶ bye ─▶ 200
//!  PATCH  …/{id}                   ─▶ 405: no trickle, no ICE restart (see below)
//!  OPTIONS …                       ─▶ 204 CORS preflight; every answer carries CORS headers
//! ```
//!
//! No trickle: the SFU is ICE-lite and its one host candidate is in every answer, and
//! it learns the client's address from the client's own connectivity checks, so neither
//! side has candidates to send later. An ICE restart means a new `POST`.

mod offer;
mod resource;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW, CONTENT_TYPE, ETAG, HeaderName, LOCATION,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use myvid_core::{ApiError, ErrorCode, Services};
use myvid_proto::signal::ClientMessage;
use myvid_store::meta::VideoSource;

use crate::relay::Relay;
use resource::{Kind, Open, Resources};

/// Settings of the WHIP/WHEP routes.
#[derive(Debug, Clone)]
pub struct WhipConfig {
    /// Most resources (broadcasters plus viewers) held at once, sessions being opened
    /// included; beyond it `POST` answers 503 (default 10,000, the relay's own cap on
    /// parked clients: each resource is one relayed session and a small task).
    pub max_resources: usize,
    /// How long a `POST` waits for the SFU's answer before 504 (default 10 s, the
    /// relay's park timeout: an SFU answers in milliseconds once attached).
    pub answer_timeout: Duration,
    /// How long a `DELETE` waits for the SFU to close the session before answering
    /// anyway (default 5 s; the resource is gone from the table at once either way).
    pub delete_wait: Duration,
}

impl Default for WhipConfig {
    fn default() -> Self {
        WhipConfig {
            max_resources: 10_000,
            answer_timeout: Duration::from_secs(10),
            delete_wait: Duration::from_secs(5),
        }
    }
}

/// What every handler shares.
struct WhipState {
    services: Services,
    relay: Arc<Relay>,
    config: WhipConfig,
    resources: Arc<Resources>,
}

/// Methods a client may use on an endpoint URL (`/whip/{stream_id}`).
const ENDPOINT_METHODS: &str = "POST, OPTIONS";
/// Methods a client may use on a resource URL (`/whip/{stream_id}/{id}`).
const RESOURCE_METHODS: &str = "DELETE, OPTIONS";
/// What CORS preflights allow: PATCH too, so that a browser player's trickle attempt
/// reaches us and gets its 405 instead of failing as a CORS error.
const CORS_METHODS: &str = "POST, DELETE, PATCH, OPTIONS";
/// Request headers browsers may send.
const CORS_HEADERS: &str = "Content-Type, Authorization, If-Match";
/// Response headers scripts may read.
const CORS_EXPOSE: &str = "Location, ETag, Link, Accept-Patch";

/// The WHIP and WHEP routes over `relay`; stream records are looked up in `services`.
pub fn routes(services: Services, relay: Arc<Relay>, config: WhipConfig) -> Router {
    let resources = Resources::new(config.max_resources);
    let state = Arc::new(WhipState { services, relay, config, resources });
    Router::new()
        .route("/whip/{stream_id}", endpoint_url(post(whip_post)))
        .route("/whip/{stream_id}/{resource_id}", resource_url(axum::routing::delete(whip_delete)))
        .route("/whep/{stream_id}", endpoint_url(post(whep_post)))
        .route("/whep/{stream_id}/{resource_id}", resource_url(axum::routing::delete(whep_delete)))
        .layer(middleware::map_response(with_cors))
        .with_state(state)
}

fn endpoint_url(router: MethodRouter<Arc<WhipState>>) -> MethodRouter<Arc<WhipState>> {
    router.options(preflight).fallback(|| async { method_not_allowed(ENDPOINT_METHODS) })
}

fn resource_url(router: MethodRouter<Arc<WhipState>>) -> MethodRouter<Arc<WhipState>> {
    router
        .patch(|| async { no_trickle() })
        .options(preflight)
        .fallback(|| async { method_not_allowed(RESOURCE_METHODS) })
}

/// CORS on every answer of these routes: any origin may use them (WHEP players on other
/// sites are the point; WHIP is guarded by its token, not by the origin).
async fn with_cors(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(CORS_EXPOSE));
    response
}

/// `OPTIONS`: the CORS preflight (and, per RFC 9725, a harmless probe).
async fn preflight() -> Response {
    let headers = [
        (ACCESS_CONTROL_ALLOW_METHODS, CORS_METHODS),
        (ACCESS_CONTROL_ALLOW_HEADERS, CORS_HEADERS),
        (ACCESS_CONTROL_MAX_AGE, "86400"),
        (ALLOW, CORS_METHODS),
        (HeaderName::from_static("accept-post"), offer::SDP_MIME),
    ];
    (StatusCode::NO_CONTENT, headers).into_response()
}

fn method_not_allowed(allow: &'static str) -> Response {
    let err = ApiError::new(ErrorCode::MethodNotAllowed, format!("use {allow} here"));
    ([(ALLOW, allow)], err).into_response()
}

/// `PATCH` on a resource: trickle ICE and ICE restarts are not supported (module docs).
fn no_trickle() -> Response {
    let err = ApiError::new(
        ErrorCode::MethodNotAllowed,
        "trickle ICE and ICE restarts are not supported: the server is ICE-lite and its candidate is in the \
         answer; send your candidates in the offer, and POST a new offer to restart",
    );
    ([(ALLOW, RESOURCE_METHODS)], err).into_response()
}

/// `POST /whip/{stream_id}`: a broadcaster's offer.
async fn whip_post(
    State(state): State<Arc<WhipState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    offer::check_sdp_type(&headers)?;
    let token = offer::bearer_token(&headers)?;
    check_stream(&state, &stream_id).await?;
    let sdp = offer::read_offer(&headers, body).await?;
    create(&state, Kind::Whip, stream_id, ClientMessage::Publish { token, sdp }).await
}

/// `POST /whep/{stream_id}`: a viewer's offer.
async fn whep_post(
    State(state): State<Arc<WhipState>>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    offer::check_sdp_type(&headers)?;
    check_stream(&state, &stream_id).await?;
    let sdp = offer::read_offer(&headers, body).await?;
    create(&state, Kind::Whep, stream_id, ClientMessage::View { sdp }).await
}

/// 404 unless `stream_id` is a live-stream record (any state: the SFU decides whether
/// it can be published or watched now).
async fn check_stream(state: &WhipState, stream_id: &str) -> Result<(), ApiError> {
    if state.relay.is_shut_down() {
        return Err(ApiError::new(ErrorCode::Unavailable, "this endpoint is shutting down"));
    }
    let valid = !stream_id.is_empty()
        && stream_id.len() <= 64
        && stream_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let video = if valid { state.services.meta.video(stream_id).await? } else { None };
    match video {
        Some(video) if matches!(video.source, VideoSource::Live { .. }) => Ok(()),
        _ => Err(ApiError::not_found("live stream")),
    }
}

async fn create(state: &WhipState, kind: Kind, stream_id: String, first: ClientMessage) -> Result<Response, ApiError> {
    let Some(slot) = state.resources.reserve() else {
        return Err(ApiError::new(ErrorCode::Unavailable, "too many sessions on this endpoint; try again shortly"));
    };
    let open = Open {
        kind,
        stream_id: stream_id.clone(),
        first,
        answer_timeout: state.config.answer_timeout,
        close_wait: state.config.delete_wait,
    };
    let created = resource::open(&state.relay, &state.resources, slot, open).await?;
    let location = format!("/{}/{stream_id}/{}", kind.prefix(), created.id);
    let headers =
        [(CONTENT_TYPE, offer::SDP_MIME.to_owned()), (LOCATION, location), (ETAG, format!("\"{}\"", created.id))];
    Ok((StatusCode::CREATED, headers, created.answer_sdp).into_response())
}

async fn delete(state: &WhipState, kind: Kind, stream_id: &str, resource_id: &str) -> Result<StatusCode, ApiError> {
    if state.resources.delete(kind, stream_id, resource_id, state.config.delete_wait).await {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found("resource"))
    }
}

/// `DELETE /whip/{stream_id}/{resource_id}`: the broadcast stops.
async fn whip_delete(
    State(state): State<Arc<WhipState>>,
    Path((stream_id, resource_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&state, Kind::Whip, &stream_id, &resource_id).await
}

/// `DELETE /whep/{stream_id}/{resource_id}`: the viewer leaves.
async fn whep_delete(
    State(state): State<Arc<WhipState>>,
    Path((stream_id, resource_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&state, Kind::Whep, &stream_id, &resource_id).await
}

//! # myvid-endpoint — the edge that clients reach
//!
//! It hands out uploads, serves the signed object URLs itself with the embedded
//! object store, relays WebSocket signalling between clients and SFUs ([`relay`]),
//! speaks WHIP and WHEP over the same relay ([`whip_whep`]), and runs a TURN server on
//! UDP with time-limited credentials ([`turn`]) next to its HTTP routes.
//!
//! ```text
//!  POST /NEWVIDEOUPLOAD            auth → private video + two presigned PUT URLs
//!  PUT  /objects/{bucket}/{key}?…  signed upload, streamed to a temp file, renamed
//!  PUT  /objects/staging/{key}?upload=…&part=…  one signed part of a multipart upload → ETag
//!  GET  /objects/{bucket}/{key}?…  signed download, Range → 206
//!  WS   /ENDPOINT/{stream_id}      client signalling: parked, then bridged to an SFU
//!  WS   /SFU, /SFU/attach/{id}     SFU control socket and attach sockets (Bearer secret)
//!  POST /whip/{stream_id}          WHIP offer (Bearer stream token) → 201 answer; DELETE …/{id}
//!  POST /whep/{stream_id}          WHEP offer → 201 answer; DELETE …/{id}
//!  UDP  turn listener               STUN Binding, TURN Allocate/Refresh/Permission/Channel (turn::TurnServer)
//! ```

mod objects_http;
pub mod relay;
pub mod turn;
mod upload;
pub mod whip_whep;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::http::header::{ACCEPT_RANGES, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE};
use myvid_core::Services;
use myvid_core::limits::MAX_JSON_BODY;
use myvid_store::LocalObjects;
pub use relay::{Relay, RelayConfig};
use tower_http::cors::{Any, CorsLayer};
pub use turn::{TurnConfig, TurnServer};
pub use whip_whep::WhipConfig;

/// The `(method, path)` of every route [`openapi`] describes.
pub fn documented_routes() -> Vec<(Method, &'static str)> {
    upload::routes().registered().to_vec()
}

/// The OpenAPI description of the endpoint's JSON call (`NEWVIDEOUPLOAD`), to merge
/// into the API's document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(upload::new_video_upload))]
    struct EndpointDoc;
    <EndpointDoc as utoipa::OpenApi>::openapi()
}

/// CORS for uploads and object URLs: any origin, the methods and headers the upload
/// page and players use, and the headers a ranged download answers with and the `ETag`
/// of a stored part (a page completing a multipart upload must read it).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::POST])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, RANGE])
        .expose_headers([CONTENT_LENGTH, CONTENT_RANGE, ACCEPT_RANGES, ETAG])
        .max_age(Duration::from_secs(86_400))
}

/// Only the signed object URLs of the embedded store (download with Range, signed
/// upload), with the same CORS: for a process that signs object URLs but runs no
/// endpoint (`myvid api`).
pub fn objects_router(services: Services, local: Arc<LocalObjects>) -> Router {
    objects_http::routes(services, local).layer(cors())
}

/// The endpoint's routes. `local` is the embedded object store when this process
/// serves object URLs itself (`myvid dev`); `None` when objects live in S3. `relay`
/// adds the signalling routes and WHIP/WHEP over them (default [`WhipConfig`]); `None`
/// serves uploads only.
pub fn router(services: Services, local: Option<Arc<LocalObjects>>, relay: Option<Arc<Relay>>) -> Router {
    let mut router =
        upload::routes().into_router().layer(DefaultBodyLimit::max(MAX_JSON_BODY)).with_state(services.clone());
    if let Some(local) = local {
        router = router.merge(objects_http::routes(services.clone(), local));
    }
    // The pages come from the API's origin, and with several endpoints uploads go to
    // another one: allow any origin (uploads are authorised by a bearer token, object
    // URLs by their signature, never by cookies).
    router = router.layer(cors());
    if let Some(relay) = relay {
        router = router.merge(whip_whep::routes(services, relay.clone(), WhipConfig::default()));
        router = router.merge(relay::routes(relay));
    }
    router
}

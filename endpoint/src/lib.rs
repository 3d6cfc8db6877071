//! # myvid-endpoint — the edge that clients reach
//!
//! It hands out uploads, serves the signed object URLs itself with the embedded
//! object store, and relays WebSocket signalling between clients and SFUs
//! ([`relay`]); TURN and WHIP/WHEP join it with the rest of the live work.
//!
//! ```text
//!  POST /NEWVIDEOUPLOAD            auth → private video + two presigned PUT URLs
//!  PUT  /objects/{bucket}/{key}?…  signed upload, streamed to a temp file, renamed
//!  GET  /objects/{bucket}/{key}?…  signed download, Range → 206
//!  WS   /ENDPOINT/{stream_id}      client signalling: parked, then bridged to an SFU
//!  WS   /SFU, /SFU/attach/{id}     SFU control socket and attach sockets (Bearer secret)
//! ```

mod objects_http;
pub mod relay;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use myvid_core::Services;
use myvid_core::limits::MAX_JSON_BODY;
use myvid_store::LocalObjects;
pub use relay::{Relay, RelayConfig};

/// The endpoint's routes. `local` is the embedded object store when this process
/// serves object URLs itself (`myvid dev`); `None` when objects live in S3. `relay`
/// adds the signalling routes; `None` serves uploads only.
pub fn router(services: Services, local: Option<Arc<LocalObjects>>, relay: Option<Arc<Relay>>) -> Router {
    let mut router = upload::routes().layer(DefaultBodyLimit::max(MAX_JSON_BODY)).with_state(services.clone());
    if let Some(local) = local {
        router = router.merge(objects_http::routes(services, local));
    }
    if let Some(relay) = relay {
        router = router.merge(relay::routes(relay));
    }
    router
}

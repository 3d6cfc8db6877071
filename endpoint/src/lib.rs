//! # myvid-endpoint — the edge that clients reach
//!
//! Today it hands out uploads and, with the embedded object store, serves the signed
//! object URLs themselves; WebSocket signalling, TURN and WHIP/WHEP join it with the
//! live work.
//!
//! ```text
//!  POST /NEWVIDEOUPLOAD            auth → private video + two presigned PUT URLs
//!  PUT  /objects/{bucket}/{key}?…  signed upload, streamed to a temp file, renamed
//!  GET  /objects/{bucket}/{key}?…  signed download, Range → 206
//! ```

mod objects_http;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use myvid_core::Services;
use myvid_core::limits::MAX_JSON_BODY;
use myvid_store::LocalObjects;

/// The endpoint's routes. `local` is the embedded object store when this process
/// serves object URLs itself (`myvid dev`); `None` when objects live in S3.
pub fn router(services: Services, local: Option<Arc<LocalObjects>>) -> Router {
    let mut router = upload::routes().layer(DefaultBodyLimit::max(MAX_JSON_BODY)).with_state(services.clone());
    if let Some(local) = local {
        router = router.merge(objects_http::routes(services, local));
    }
    router
}

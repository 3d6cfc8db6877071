//! `POST /NEWVIDEOUPLOAD`: create a private video and presigned upload URLs.

use axum::Json;
use axum::extract::State;
use myvid_core::route_table::RouteTable;
use myvid_core::uploads::{UploadGrant, UploadRequest, create_upload};
use myvid_core::{ApiError, AuthUser, ErrorBody, JsonBody, Services};

/// `/NEWVIDEOUPLOAD` (and its alias with a trailing slash).
pub fn routes() -> RouteTable<Services> {
    RouteTable::new().post("/NEWVIDEOUPLOAD", new_video_upload).post("/NEWVIDEOUPLOAD/", new_video_upload)
}

/// `{"title","description","preview_filename","video_filename"}` →
/// `{"id","preview_upload_url","video_upload_url"}`.
#[utoipa::path(post, path = "/NEWVIDEOUPLOAD", tag = "original", request_body = UploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the new private video's id and its upload URLs", body = UploadGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`unavailable`, `read_only`", body = ErrorBody),
    ))]
pub(crate) async fn new_video_upload(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<UploadRequest>,
) -> Result<Json<UploadGrant>, ApiError> {
    Ok(Json(create_upload(&services, &caller.user, req).await?))
}

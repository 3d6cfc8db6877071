//! `POST /NEWVIDEOUPLOAD`: create a private video and presigned upload URLs.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use myvid_core::uploads::{UploadGrant, UploadRequest, create_upload};
use myvid_core::{ApiError, AuthUser, JsonBody, Services};

pub fn routes() -> Router<Services> {
    Router::new().route("/NEWVIDEOUPLOAD", post(new_video_upload)).route("/NEWVIDEOUPLOAD/", post(new_video_upload))
}

/// `{"title","description","preview_filename","video_filename"}` →
/// `{"id","preview_upload_url","video_upload_url"}`.
async fn new_video_upload(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<UploadRequest>,
) -> Result<Json<UploadGrant>, ApiError> {
    Ok(Json(create_upload(&services, &caller.user, req).await?))
}

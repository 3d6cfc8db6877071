//! `/v1/uploads/{id}/multipart`: resumable uploads of a video file in parts through
//! presigned part URLs (see `myvid_core::uploads::multipart`). Documented in docs/API.md.
//!
//! ```text
//!  POST   /v1/uploads/{id}/multipart            start          {size} → {upload_id, part_size, part_count}
//!  POST   /v1/uploads/{id}/multipart/parts      part URLs      {upload_id, size, parts} → {parts, expires_at}
//!  GET    /v1/uploads/{id}/multipart?upload_id= status         → {upload_id, parts}
//!  POST   /v1/uploads/{id}/multipart/complete   complete       {upload_id, size} → {id, size}
//!  DELETE /v1/uploads/{id}/multipart?upload_id= abort          → 204
//! ```

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use myvid_core::route_table::RouteTable;
use myvid_core::uploads::multipart::{
    self, MultipartCompleteRequest, MultipartDone, MultipartGrant, MultipartStartRequest, MultipartStatus, PartUrls,
    PartUrlsRequest,
};
use myvid_core::{ApiError, AuthUser, ErrorBody, JsonBody, Services};
use serde::Deserialize;

/// The multipart calls.
pub fn routes() -> RouteTable<Services> {
    RouteTable::new()
        .post("/v1/uploads/{id}/multipart", start)
        .get("/v1/uploads/{id}/multipart", status)
        .delete("/v1/uploads/{id}/multipart", abort)
        .post("/v1/uploads/{id}/multipart/parts", part_urls)
        .post("/v1/uploads/{id}/multipart/complete", complete)
}

/// Query naming one multipart upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadIdQuery {
    /// The `upload_id` from the start answer.
    #[param(min_length = 1, max_length = 1024, pattern = r"^[A-Za-z0-9._~+/=-]+$")]
    upload_id: String,
}

fn parse_query(
    query: Result<Query<UploadIdQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<String, ApiError> {
    query.map(|Query(q)| q.upload_id).map_err(|e| ApiError::invalid(e.body_text()))
}

/// `POST /v1/uploads/{id}/multipart`: start uploading the video file in parts.
#[utoipa::path(post, path = "/v1/uploads/{id}/multipart", tag = "v1", request_body = MultipartStartRequest,
    params(("id" = String, Path, description = "the video's id, from `POST /v1/uploads`")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "the upload's id and how to cut the file", body = MultipartGrant),
        (status = 400, description = "`invalid_json`, `invalid_input` (a size of 0)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found`: no such video, or someone else's private one", body = ErrorBody),
        (status = 409, description = "`conflict`: the video is published or live", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the file is over the size limit, or the body over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn start(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<MultipartStartRequest>,
) -> Result<(StatusCode, Json<MultipartGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(multipart::start(&services, &caller.user, &id, req).await?)))
}

/// `POST /v1/uploads/{id}/multipart/parts`: presigned URLs for up to 100 parts.
#[utoipa::path(post, path = "/v1/uploads/{id}/multipart/parts", tag = "v1", request_body = PartUrlsRequest,
    params(("id" = String, Path, description = "the video's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "one presigned `PUT` URL per part asked for", body = PartUrls),
        (status = 400, description = "`invalid_json`, `invalid_input` (part numbers, size, upload id)", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found` (the video), `upload_not_found` (the upload)", body = ErrorBody),
        (status = 409, description = "`conflict`: the video is published or live", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: the size is over the limit, or the body over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn part_urls(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PartUrlsRequest>,
) -> Result<Json<PartUrls>, ApiError> {
    Ok(Json(multipart::part_urls(&services, &caller.user, &id, req).await?))
}

/// `GET /v1/uploads/{id}/multipart?upload_id=`: the parts the store holds (to resume).
#[utoipa::path(get, path = "/v1/uploads/{id}/multipart", tag = "v1",
    params(("id" = String, Path, description = "the video's id"), UploadIdQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the parts stored so far", body = MultipartStatus),
        (status = 400, description = "`invalid_input`: a missing or malformed `upload_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found` (the video), `upload_not_found` (the upload)", body = ErrorBody),
        (status = 409, description = "`conflict`: the video is published or live", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn status(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    query: Result<Query<UploadIdQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MultipartStatus>, ApiError> {
    let upload_id = parse_query(query)?;
    Ok(Json(multipart::status(&services, &caller.user, &id, &upload_id).await?))
}

/// `POST /v1/uploads/{id}/multipart/complete`: join the parts into the video file.
#[utoipa::path(post, path = "/v1/uploads/{id}/multipart/complete", tag = "v1",
    request_body = MultipartCompleteRequest,
    params(("id" = String, Path, description = "the video's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the video file is whole; publish it next", body = MultipartDone),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found` (the video), `upload_not_found` (the upload)", body = ErrorBody),
        (status = 409, description = "`upload_incomplete` (names the missing parts), `conflict` (published or live)", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over the size limit, a part over its size or parts beyond the last (the upload is dropped), or the body over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn complete(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<MultipartCompleteRequest>,
) -> Result<Json<MultipartDone>, ApiError> {
    Ok(Json(multipart::complete(&services, &caller.user, &id, req).await?))
}

/// `DELETE /v1/uploads/{id}/multipart?upload_id=`: drop the upload and its parts.
#[utoipa::path(delete, path = "/v1/uploads/{id}/multipart", tag = "v1",
    params(("id" = String, Path, description = "the video's id"), UploadIdQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "aborted (also when it was already gone)"),
        (status = 400, description = "`invalid_input`: a missing or malformed `upload_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found`: no such video, or someone else's private one", body = ErrorBody),
        (status = 409, description = "`conflict`: the video is published or live", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn abort(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    query: Result<Query<UploadIdQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let upload_id = parse_query(query)?;
    multipart::abort(&services, &caller.user, &id, &upload_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

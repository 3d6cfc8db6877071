//! The original MyVid calls, with exactly the original paths and JSON shapes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use myvid_core::auth::MaybeUser;
use myvid_core::json::parse_lenient;
use myvid_core::limits::{self, MAX_SEARCH_CHARS};
use myvid_core::route_table::RouteTable;
use myvid_core::uploads::publish;
use myvid_core::view::{VideoView, video_views, visible_video};
use myvid_core::{ApiError, AuthUser, ErrorBody, Services};
use serde::{Deserialize, Serialize};

/// How many videos `POST /API/VIDEO/` returns (the original home page showed a grid
/// of this size).
const LIST_SIZE: u32 = 24;

/// The original calls. The paths without a trailing slash are aliases of the same
/// calls (the OpenAPI document names the first form).
pub fn routes() -> RouteTable<Services> {
    RouteTable::new()
        .post("/API/VIDEO/", list_videos)
        .post("/API/VIDEO", list_videos)
        .get("/API/VIDEO/{id}", get_video)
        .post("/API/NEWUPLOAD/", new_upload)
        .post("/API/NEWUPLOAD", new_upload)
        .post("/API/PUBLISH/{id}", publish_video)
}

/// `POST /API/VIDEO/` body (optional: an empty body is `{}`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ListRequest {
    /// Search words (at most 200 characters); without them, a random selection.
    #[schema(schema_with = myvid_core::text_schema::search_or_null)]
    search: Option<String>,
}

/// `POST /API/VIDEO/` `{"search"?}` → array of public videos, best match first, or a
/// random selection without `search` (an empty body counts as `{}`).
#[utoipa::path(post, path = "/API/VIDEO/", tag = "original",
    request_body(content = Option<ListRequest>, description = "optional; an empty body is `{}`"),
    responses(
        (status = 200, description = "up to 24 public videos, best match first", body = Vec<VideoView>),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn list_videos(
    State(services): State<Services>,
    body: Bytes,
) -> Result<Json<Vec<VideoView>>, ApiError> {
    // `null` is as good as `{}` or no body at all.
    let req = parse_lenient::<Option<ListRequest>>(&body, None)?.unwrap_or_default();
    let search = match req.search {
        Some(words) => limits::text("search", &words, MAX_SEARCH_CHARS, false, false)?,
        None => String::new(),
    };
    let videos = if search.is_empty() {
        services.meta.random_public(LIST_SIZE).await?
    } else {
        services.meta.search_public(&search, LIST_SIZE, None).await?.items
    };
    Ok(Json(video_views(&services, &videos).await?))
}

/// `GET /API/VIDEO/{id}` → one video; private ones only for their owner.
#[utoipa::path(get, path = "/API/VIDEO/{id}", tag = "original",
    params(("id" = String, Path, description = "the video's id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the video", body = VideoView),
        (status = 400, description = "`invalid_input`: the id is not UTF-8", body = ErrorBody),
        (status = 401, description = "`unauthorized`: a token was sent but is not valid", body = ErrorBody),
        (status = 404, description = "`not_found`: no such video, or someone else's private one", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn get_video(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(visible_video(&services, caller.map(|c| c.user.id), &id).await?))
}

/// Where to send `NEWVIDEOUPLOAD`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct EndpointAnswer {
    /// Base URL of the least loaded upload endpoint.
    endpoint: String,
}

/// `POST /API/NEWUPLOAD/` → the base URL of an upload endpoint.
#[utoipa::path(post, path = "/API/NEWUPLOAD/", tag = "original",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the endpoint to upload through", body = EndpointAnswer),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn new_upload(
    State(services): State<Services>,
    _caller: AuthUser,
) -> Result<Json<EndpointAnswer>, ApiError> {
    Ok(Json(EndpointAnswer { endpoint: myvid_core::registry::live_endpoints(&services).await?.first().to_owned() }))
}

/// `POST /API/PUBLISH/{id}` → the now public video.
#[utoipa::path(post, path = "/API/PUBLISH/{id}", tag = "original",
    params(("id" = String, Path, description = "the video's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the video, now public", body = VideoView),
        (status = 400, description = "`invalid_input`: the id is not UTF-8", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the owner", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`upload_incomplete`, `conflict` (a live stream)", body = ErrorBody),
        (status = 422, description = "`not_a_video`, `invalid_preview`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn publish_video(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(publish(&services, &caller.user, &id).await?))
}

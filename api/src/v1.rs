//! `/v1`: the platform's capabilities as a clean, versioned JSON API with cursor
//! pagination. Documented in docs/API.md.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use myvid_core::accounts::{self, LoginRequest, SessionGrant, SignupRequest, UserView};
use myvid_core::auth::MaybeUser;
use myvid_core::limits::{self, MAX_SEARCH_CHARS};
use myvid_core::route_table::RouteTable;
use myvid_core::transcode::{self, TranscodeStatus};
use myvid_core::uploads::check::{self, UploadCheck};
use myvid_core::uploads::{UploadGrant, UploadRequest, create_upload, publish};
use myvid_core::view::{VideoView, video_views, visible_video};
use myvid_core::{ApiError, AuthUser, ErrorBody, JsonBody, Services};
use myvid_store::meta::Page;
use serde::{Deserialize, Serialize};

use crate::pagination;

/// The `/v1` calls.
pub fn routes() -> RouteTable<Services> {
    RouteTable::new()
        .post("/v1/auth/signup", signup)
        .post("/v1/auth/login", login)
        .post("/v1/auth/logout", logout)
        .get("/v1/me", me)
        .get("/v1/me/videos", my_videos)
        .get("/v1/videos", list_videos)
        .get("/v1/videos/random", random_videos)
        .get("/v1/videos/{id}", get_video)
        .get("/v1/videos/{id}/transcode", get_transcode)
        .post("/v1/videos/{id}/publish", publish_video)
        .post("/v1/uploads", new_upload)
        .post("/v1/uploads/{id}/check", check_upload)
}

/// `POST /v1/auth/signup`: a new account and its first session.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "v1", request_body = SignupRequest,
    responses(
        (status = 201, description = "the account was created; here is its session", body = SessionGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 409, description = "`conflict`: the username or e-mail is taken", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn signup(
    State(services): State<Services>,
    JsonBody(req): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<SessionGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(accounts::signup(&services, req).await?)))
}

/// `POST /v1/auth/login`: a session for a username or e-mail and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "v1", request_body = LoginRequest,
    responses(
        (status = 200, description = "a new session", body = SessionGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn login(
    State(services): State<Services>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<SessionGrant>, ApiError> {
    Ok(Json(accounts::login(&services, req).await?))
}

/// `POST /v1/auth/logout`: the token stops working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "v1", security(("bearer" = [])),
    responses(
        (status = 204, description = "logged out"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn logout(State(services): State<Services>, caller: AuthUser) -> Result<StatusCode, ApiError> {
    accounts::logout(&services, &caller.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`: the caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "v1", security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller", body = UserView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn me(caller: AuthUser) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

/// Query of the paged listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Search words (at most 200 characters); without them, the listing `sort` names.
    #[param(schema_with = myvid_core::text_schema::search)]
    q: Option<String>,
    /// Without `q`: `latest` (newest first, the default), `popular` (most viewed
    /// first) or `live` (streams live now). Not with `q`.
    #[param(inline)]
    sort: Option<Sort>,
    /// Page size, clamped into 1–100 (default 20).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
}

/// Query of `GET /v1/me/videos`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, clamped into 1–100 (default 20).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_u64)]
    pub(crate) limit: Option<u32>,
    /// `next_cursor` of the previous page (opaque).
    pub(crate) cursor: Option<String>,
}

/// Query of `GET /v1/videos/random`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LimitQuery {
    /// How many, clamped into 1–100 (default 20).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_u64)]
    pub(crate) limit: Option<u32>,
}

/// How a listing without search words is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Sort {
    /// Newest first.
    Latest,
    /// Most viewed first.
    Popular,
    /// Streams live now, newest first.
    Live,
}

/// One page of videos.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VideoPage {
    /// The videos.
    items: Vec<VideoView>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

pub(crate) async fn to_page(
    services: &Services,
    page: Page<myvid_store::meta::Video>,
) -> Result<Json<VideoPage>, ApiError> {
    Ok(Json(VideoPage {
        items: video_views(services, &page.items).await?,
        next_cursor: page.next.map(pagination::encode),
    }))
}

pub(crate) fn parse_query<Q>(query: Result<Query<Q>, axum::extract::rejection::QueryRejection>) -> Result<Q, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::invalid(e.body_text()))
}

/// `GET /v1/videos?q=&sort=&limit=&cursor=`: search (best match first), or a listing:
/// newest, most viewed, or live now.
#[utoipa::path(get, path = "/v1/videos", tag = "v1", params(ListQuery),
    responses(
        (status = 200, description = "one page of public videos", body = VideoPage),
        (status = 400, description = "`invalid_input`: a bad `q`, `limit` or `cursor`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn list_videos(
    State(services): State<Services>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoPage>, ApiError> {
    let query = parse_query(query)?;
    let limit = limits::page_size(query.limit);
    let start = pagination::decode_optional(query.cursor.as_deref())?;
    let words = limits::text("q", query.q.as_deref().unwrap_or(""), MAX_SEARCH_CHARS, false, false)?;
    let page = match (words.is_empty(), query.sort) {
        (false, Some(_)) => return Err(ApiError::invalid("Search words (`q`) and `sort` cannot be used together.")),
        (false, None) => services.meta.search_public(&words, limit, start).await?,
        (true, None | Some(Sort::Latest)) => services.meta.list_public(limit, start).await?,
        (true, Some(Sort::Popular)) => services.meta.list_popular(limit, start).await?,
        (true, Some(Sort::Live)) => services.meta.list_live(limit, start).await?,
    };
    to_page(&services, page).await
}

/// A list of videos without paging.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VideoList {
    /// The videos.
    items: Vec<VideoView>,
}

/// `GET /v1/videos/random?limit=`: a random selection of public videos.
#[utoipa::path(get, path = "/v1/videos/random", tag = "v1", params(LimitQuery),
    responses(
        (status = 200, description = "random public videos", body = VideoList),
        (status = 400, description = "`invalid_input`: a bad `limit`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn random_videos(
    State(services): State<Services>,
    query: Result<Query<LimitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoList>, ApiError> {
    let query = parse_query(query)?;
    let videos = services.meta.random_public(limits::page_size(query.limit)).await?;
    Ok(Json(VideoList { items: video_views(&services, &videos).await? }))
}

/// `GET /v1/me/videos`: the caller's videos, private ones included, newest first.
#[utoipa::path(get, path = "/v1/me/videos", tag = "v1", params(PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "one page of the caller's videos", body = VideoPage),
        (status = 400, description = "`invalid_input`: a bad `limit` or `cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn my_videos(
    State(services): State<Services>,
    caller: AuthUser,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoPage>, ApiError> {
    let query = parse_query(query)?;
    let start = pagination::decode_optional(query.cursor.as_deref())?;
    let page = services.meta.list_by_owner(caller.user.id, limits::page_size(query.limit), start).await?;
    to_page(&services, page).await
}

/// `GET /v1/videos/{id}`: one video; private ones only for their owner.
#[utoipa::path(get, path = "/v1/videos/{id}", tag = "v1",
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

/// `GET /v1/videos/{id}/transcode`: where making a published video into adaptive HLS
/// is: waiting, transcoding (with percent done), ready (with its renditions) or failed
/// (with the reason, for the owner).
#[utoipa::path(get, path = "/v1/videos/{id}/transcode", tag = "v1",
    params(("id" = String, Path, description = "the video's id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "the transcode's state", body = TranscodeStatus),
        (status = 400, description = "`invalid_input`: the id is not UTF-8", body = ErrorBody),
        (status = 401, description = "`unauthorized`: a token was sent but is not valid", body = ErrorBody),
        (status = 404, description = "`not_found`: no such published stored video (or someone else's private one)", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn get_transcode(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<TranscodeStatus>, ApiError> {
    Ok(Json(transcode::status(&services, caller.map(|c| c.user.id), &id).await?))
}

/// `POST /v1/uploads/{id}/check`: whether the uploaded video file is one MyVid plays
/// (advisory, before publishing: publish checks its own copy again).
#[utoipa::path(post, path = "/v1/uploads/{id}/check", tag = "v1",
    params(("id" = String, Path, description = "the upload's (video's) id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the verdict: `playable`, or the `reason` it is not", body = UploadCheck),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public video", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`upload_incomplete`: the video file is not uploaded yet; `conflict`: already published", body = ErrorBody),
        (status = 503, description = "`unavailable` (the checker), `storage_unavailable`, `metadata_unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn check_upload(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadCheck>, ApiError> {
    Ok(Json(check::check_upload(&services, &caller.user, &id).await?))
}

/// `POST /v1/videos/{id}/publish`: make an uploaded video public.
#[utoipa::path(post, path = "/v1/videos/{id}/publish", tag = "v1",
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

/// `POST /v1/uploads`: a private video and two presigned PUT URLs (as `NEWVIDEOUPLOAD`).
#[utoipa::path(post, path = "/v1/uploads", tag = "v1", request_body = UploadRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "the new video's id and its upload URLs", body = UploadGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`storage_unavailable`, `storage_read_only`, `metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn new_upload(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<UploadRequest>,
) -> Result<(StatusCode, Json<UploadGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_upload(&services, &caller.user, req).await?)))
}

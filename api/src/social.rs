//! `/v1` around the videos: managing one's videos (edit, delete), channels and
//! following them, "Up next", and the players' view reports. Documented in
//! docs/API.md.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use myvid_core::auth::MaybeUser;
use myvid_core::channels::{self, ChannelView, FollowState, FollowedChannel};
use myvid_core::json::JsonObject;
use myvid_core::limits;
use myvid_core::manage::{self, VideoEdit};
use myvid_core::related::{self, RelatedVideo};
use myvid_core::route_table::RouteTable;
use myvid_core::view::{VideoView, visible_video_record};
use myvid_core::views::{Viewer, valid_browser_id};
use myvid_core::{ApiError, AuthUser, ErrorBody, Services};
use serde::{Deserialize, Serialize};

use crate::pagination;
use crate::v1::{LimitQuery, PageQuery, VideoPage, parse_query, to_page};

/// The calls of this file.
pub fn routes() -> RouteTable<Services> {
    RouteTable::new()
        .patch("/v1/videos/{id}", edit_video)
        .delete("/v1/videos/{id}", delete_video)
        .get("/v1/videos/{id}/related", related_videos)
        .post("/v1/videos/{id}/views", count_view)
        .get("/v1/channels/{username}", get_channel)
        .get("/v1/channels/{username}/videos", channel_videos)
        .put("/v1/channels/{username}/follow", follow)
        .delete("/v1/channels/{username}/follow", unfollow)
        .get("/v1/me/following", my_following)
}

/// `PATCH /v1/videos/{id}`: the owner changes the title, description or visibility.
#[utoipa::path(patch, path = "/v1/videos/{id}", tag = "v1", request_body = VideoEdit, security(("bearer" = [])),
    params(("id" = String, Path, description = "the video's id")),
    responses(
        (status = 200, description = "the video as it is now", body = VideoView),
        (status = 400, description = "`invalid_json`, `invalid_input`: an empty or too long title, an unknown visibility", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public or unlisted video", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`: the visibility of an unpublished upload or a live stream", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn edit_video(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
    JsonObject(edit): JsonObject<VideoEdit>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(manage::edit_video(&services, &caller.user, &id, edit).await?))
}

/// `DELETE /v1/videos/{id}`: the owner deletes a video. It is gone from its link,
/// listings and search at once; its files are deleted from the store shortly after.
#[utoipa::path(delete, path = "/v1/videos/{id}", tag = "v1", security(("bearer" = [])),
    params(("id" = String, Path, description = "the video's id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: someone else's public or unlisted video", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`: a stream that is live (end it first)", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn delete_video(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    manage::delete_video(&services, &caller.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suggestions for a video.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RelatedList {
    /// Best first: watched together, then similar words and hashtags, then popular.
    items: Vec<RelatedVideo>,
}

/// `GET /v1/videos/{id}/related?limit=`: "Up next" for a video.
#[utoipa::path(get, path = "/v1/videos/{id}/related", tag = "v1", params(("id" = String, Path, description = "the video's id"), LimitQuery),
    responses(
        (status = 200, description = "suggestions, each with why", body = RelatedList),
        (status = 400, description = "`invalid_input`: a bad `limit`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn related_videos(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
    query: Result<Query<LimitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RelatedList>, ApiError> {
    let query = parse_query(query)?;
    let limit = query.limit.unwrap_or(8).clamp(1, related::MAX_RELATED);
    let items = related::related(&services, caller.map(|c| c.user.id), &id, limit).await?;
    Ok(Json(RelatedList { items }))
}

/// `POST /v1/videos/{id}/views` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewReport {
    /// A signed-out browser's own random id (22 characters of URL-safe base64, kept
    /// in its storage), so that its reloads count once; ignored when signed in.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_-]{22}$")]
    viewer: Option<String>,
}

/// The empty answer to a view report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Accepted {}

/// The client's address, when the server loop recorded it (not in router-only tests).
pub(crate) struct ClientAddress(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// `POST /v1/videos/{id}/views`: the player started playing a video. A viewer counts
/// once per video per hour; counts appear within seconds (they are batched).
#[utoipa::path(post, path = "/v1/videos/{id}/views", tag = "v1", request_body = ViewReport,
    params(("id" = String, Path, description = "the video's id")),
    responses(
        (status = 202, description = "taken in (counted unless it repeats a recent view)", body = Accepted),
        (status = 400, description = "`invalid_json`, `invalid_input`: a malformed `viewer`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn count_view(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    JsonObject(report): JsonObject<ViewReport>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if report.viewer.as_deref().is_some_and(|id| !valid_browser_id(id)) {
        return Err(ApiError::invalid("`viewer` must be 22 characters of letters, digits, `-` or `_`"));
    }
    let viewer_id = caller.as_ref().map(|c| c.user.id);
    visible_video_record(&services, viewer_id, &id).await?;
    let viewer = match (viewer_id, report.viewer, address) {
        (Some(user), _, _) => Viewer::Account(user),
        (None, Some(id), address) => Viewer::Browser { id, address },
        (None, None, Some(address)) => Viewer::Address(address),
        (None, None, None) => Viewer::Unknown,
    };
    services.views.record(&services, &id, &viewer, services.clock.now());
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}

/// `GET /v1/channels/{username}`: a channel, its follower count and its live stream.
#[utoipa::path(get, path = "/v1/channels/{username}", tag = "v1",
    params(("username" = String, Path, description = "the channel's owner")),
    responses(
        (status = 200, description = "the channel (`following` says whether the caller follows it)", body = ChannelView),
        (status = 401, description = "`unauthorized`: a token that is no longer valid", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn get_channel(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(username): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(channels::channel(&services, caller.as_ref().map(|c| &c.user), &username).await?))
}

/// `GET /v1/channels/{username}/videos?limit=&cursor=`: a channel's public videos,
/// newest first.
#[utoipa::path(get, path = "/v1/channels/{username}/videos", tag = "v1",
    params(("username" = String, Path, description = "the channel's owner"), PageQuery),
    responses(
        (status = 200, description = "one page of the channel's public videos", body = VideoPage),
        (status = 400, description = "`invalid_input`: a bad `limit` or `cursor`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn channel_videos(
    State(services): State<Services>,
    Path(username): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoPage>, ApiError> {
    let query = parse_query(query)?;
    let start = pagination::decode_optional(query.cursor.as_deref())?;
    let page = channels::channel_videos(&services, &username, limits::page_size(query.limit), start).await?;
    to_page(&services, page).await
}

/// `PUT /v1/channels/{username}/follow`: the caller follows a channel (again is fine).
#[utoipa::path(put, path = "/v1/channels/{username}/follow", tag = "v1", security(("bearer" = [])),
    params(("username" = String, Path, description = "the channel's owner")),
    responses(
        (status = 200, description = "followed", body = FollowState),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`conflict`: your own channel", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn follow(
    State(services): State<Services>,
    caller: AuthUser,
    Path(username): Path<String>,
) -> Result<Json<FollowState>, ApiError> {
    Ok(Json(channels::set_following(&services, &caller.user, &username, true).await?))
}

/// `DELETE /v1/channels/{username}/follow`: the caller stops following a channel.
#[utoipa::path(delete, path = "/v1/channels/{username}/follow", tag = "v1", security(("bearer" = [])),
    params(("username" = String, Path, description = "the channel's owner")),
    responses(
        (status = 200, description = "not followed (any more)", body = FollowState),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn unfollow(
    State(services): State<Services>,
    caller: AuthUser,
    Path(username): Path<String>,
) -> Result<Json<FollowState>, ApiError> {
    Ok(Json(channels::set_following(&services, &caller.user, &username, false).await?))
}

/// One page of followed channels.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FollowingPage {
    /// Channels live now first, then the most recently followed.
    items: Vec<FollowedChannel>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// `GET /v1/me/following?limit=&cursor=`: the channels the caller follows.
#[utoipa::path(get, path = "/v1/me/following", tag = "v1", params(PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "one page of followed channels, live ones first", body = FollowingPage),
        (status = 400, description = "`invalid_input`: a bad `limit` or `cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn my_following(
    State(services): State<Services>,
    caller: AuthUser,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FollowingPage>, ApiError> {
    let query = parse_query(query)?;
    let start = pagination::decode_optional(query.cursor.as_deref())?;
    let (items, next) = channels::following(&services, &caller.user, limits::page_size(query.limit), start).await?;
    Ok(Json(FollowingPage { items, next_cursor: next.map(pagination::encode) }))
}

//! `/v1`: the platform's capabilities as a clean, versioned JSON API with cursor
//! pagination. Documented in docs/API.md.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use myvid_core::accounts::{self, LoginRequest, SessionGrant, SignupRequest, UserView};
use myvid_core::auth::MaybeUser;
use myvid_core::limits::{self, MAX_SEARCH_CHARS};
use myvid_core::uploads::{UploadGrant, UploadRequest, create_upload, publish};
use myvid_core::view::{VideoView, video_views, visible_video};
use myvid_core::{ApiError, AuthUser, JsonBody, Services};
use myvid_store::meta::Page;
use serde::{Deserialize, Serialize};

use crate::pagination;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/v1/auth/signup", post(signup))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/me/videos", get(my_videos))
        .route("/v1/videos", get(list_videos))
        .route("/v1/videos/random", get(random_videos))
        .route("/v1/videos/{id}", get(get_video))
        .route("/v1/videos/{id}/publish", post(publish_video))
        .route("/v1/uploads", post(new_upload))
}

async fn signup(
    State(services): State<Services>,
    JsonBody(req): JsonBody<SignupRequest>,
) -> Result<(StatusCode, Json<SessionGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(accounts::signup(&services, req).await?)))
}

async fn login(
    State(services): State<Services>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<SessionGrant>, ApiError> {
    Ok(Json(accounts::login(&services, req).await?))
}

async fn logout(State(services): State<Services>, caller: AuthUser) -> Result<StatusCode, ApiError> {
    accounts::logout(&services, &caller.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: AuthUser) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

/// Query of the paged listings.
#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Search words; without them, newest first.
    q: Option<String>,
    /// Page size, 1–100 (default 20).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page of videos.
#[derive(Debug, Serialize)]
struct VideoPage {
    items: Vec<VideoView>,
    next_cursor: Option<String>,
}

async fn to_page(services: &Services, page: Page<myvid_store::meta::Video>) -> Result<Json<VideoPage>, ApiError> {
    Ok(Json(VideoPage {
        items: video_views(services, &page.items).await?,
        next_cursor: page.next.map(pagination::encode),
    }))
}

fn parse_query(
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ListQuery, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::invalid(e.body_text()))
}

/// `GET /v1/videos?q=&limit=&cursor=`: search (best match first) or newest first.
async fn list_videos(
    State(services): State<Services>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoPage>, ApiError> {
    let query = parse_query(query)?;
    let limit = limits::page_size(query.limit);
    let start = query.cursor.as_deref().map(pagination::decode).transpose()?;
    let words = limits::text("q", query.q.as_deref().unwrap_or(""), MAX_SEARCH_CHARS, false, false)?;
    let page = if words.is_empty() {
        services.meta.list_public(limit, start).await?
    } else {
        services.meta.search_public(&words, limit, start).await?
    };
    to_page(&services, page).await
}

#[derive(Debug, Serialize)]
struct VideoList {
    items: Vec<VideoView>,
}

/// `GET /v1/videos/random?limit=`: a random selection of public videos.
async fn random_videos(
    State(services): State<Services>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoList>, ApiError> {
    let query = parse_query(query)?;
    let videos = services.meta.random_public(limits::page_size(query.limit)).await?;
    Ok(Json(VideoList { items: video_views(&services, &videos).await? }))
}

/// `GET /v1/me/videos`: the caller's videos, private ones included, newest first.
async fn my_videos(
    State(services): State<Services>,
    caller: AuthUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VideoPage>, ApiError> {
    let query = parse_query(query)?;
    let start = query.cursor.as_deref().map(pagination::decode).transpose()?;
    let page = services.meta.list_by_owner(caller.user.id, limits::page_size(query.limit), start).await?;
    to_page(&services, page).await
}

async fn get_video(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(visible_video(&services, caller.map(|c| c.user.id), &id).await?))
}

async fn publish_video(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(publish(&services, &caller.user, &id).await?))
}

async fn new_upload(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<UploadRequest>,
) -> Result<(StatusCode, Json<UploadGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_upload(&services, &caller.user, req).await?)))
}

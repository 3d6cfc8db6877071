//! The original MyVid calls, with exactly the original paths and JSON shapes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use myvid_core::auth::MaybeUser;
use myvid_core::json::parse_lenient;
use myvid_core::limits::{self, MAX_SEARCH_CHARS};
use myvid_core::uploads::publish;
use myvid_core::view::{VideoView, video_views, visible_video};
use myvid_core::{ApiError, AuthUser, Services};
use serde::{Deserialize, Serialize};

/// How many videos `POST /API/VIDEO/` returns (the original home page showed a grid
/// of this size).
const LIST_SIZE: u32 = 24;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/API/VIDEO/", post(list_videos))
        .route("/API/VIDEO", post(list_videos))
        .route("/API/VIDEO/{id}", get(get_video))
        .route("/API/NEWUPLOAD/", post(new_upload))
        .route("/API/NEWUPLOAD", post(new_upload))
        .route("/API/PUBLISH/{id}", post(publish_video))
}

#[derive(Debug, Default, Deserialize)]
struct ListRequest {
    search: Option<String>,
}

/// `POST /API/VIDEO/` `{"search"?}` → array of public videos, best match first, or a
/// random selection without `search` (an empty body counts as `{}`).
async fn list_videos(State(services): State<Services>, body: Bytes) -> Result<Json<Vec<VideoView>>, ApiError> {
    let req: ListRequest = parse_lenient(&body, ListRequest::default())?;
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
async fn get_video(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(visible_video(&services, caller.map(|c| c.user.id), &id).await?))
}

#[derive(Serialize)]
struct EndpointAnswer {
    endpoint: String,
}

/// `POST /API/NEWUPLOAD/` → the base URL of an upload endpoint.
async fn new_upload(State(services): State<Services>, _caller: AuthUser) -> Result<Json<EndpointAnswer>, ApiError> {
    Ok(Json(EndpointAnswer { endpoint: myvid_core::registry::live_endpoints(&services).await?.first().to_owned() }))
}

/// `POST /API/PUBLISH/{id}` → the now public video.
async fn publish_video(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<VideoView>, ApiError> {
    Ok(Json(publish(&services, &caller.user, &id).await?))
}

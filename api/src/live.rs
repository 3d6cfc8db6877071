//! Live stream set-up: `NEWSTREAM` for broadcasters, `ICE` for viewers (original
//! paths), and the same under `/v1`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use myvid_core::auth::MaybeUser;
use myvid_core::live::{IceServer, StreamGrant, StreamRequest, create_stream, ice_servers};
use myvid_core::{ApiError, AuthUser, JsonBody, Services};
use serde::Serialize;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/API/NEWSTREAM/", post(new_stream))
        .route("/API/NEWSTREAM", post(new_stream))
        .route("/API/ICE", get(ice))
        .route("/API/ICE/", get(ice))
        .route("/v1/streams", post(new_stream_v1))
        .route("/v1/ice", get(ice))
}

/// `POST /API/NEWSTREAM/` `{"title","description"}` → where and how to go live.
async fn new_stream(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<StreamRequest>,
) -> Result<Json<StreamGrant>, ApiError> {
    Ok(Json(create_stream(&services, &caller.user, req).await?))
}

async fn new_stream_v1(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<StreamRequest>,
) -> Result<(StatusCode, Json<StreamGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_stream(&services, &caller.user, req).await?)))
}

#[derive(Serialize)]
struct IceAnswer {
    ice_servers: Vec<IceServer>,
}

/// `GET /API/ICE` → `{"ice_servers":[…]}` for a viewer, signed in or not: the
/// configured servers plus the endpoint's STUN and TURN, with TURN credentials for
/// the caller (or an anonymous user) that expire.
async fn ice(State(services): State<Services>, MaybeUser(caller): MaybeUser) -> Result<Json<IceAnswer>, ApiError> {
    let user_id = caller.map(|c| c.user.id);
    Ok(Json(IceAnswer { ice_servers: ice_servers(&services, user_id).await? }))
}

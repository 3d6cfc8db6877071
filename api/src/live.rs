//! Live stream set-up: `NEWSTREAM` for broadcasters, `ICE` for viewers (original
//! paths), and the same under `/v1`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use myvid_core::auth::MaybeUser;
use myvid_core::live::{IceServer, StreamGrant, StreamRequest, create_stream, ice_servers};
use myvid_core::route_table::RouteTable;
use myvid_core::{ApiError, AuthUser, ErrorBody, JsonBody, Services};
use serde::Serialize;

/// Live set-up calls (the second form of each original path is an alias).
pub fn routes() -> RouteTable<Services> {
    RouteTable::new()
        .post("/API/NEWSTREAM/", new_stream)
        .post("/API/NEWSTREAM", new_stream)
        .get("/API/ICE", ice)
        .get("/API/ICE/", ice)
        .post("/v1/streams", new_stream_v1)
        .get("/v1/ice", ice_v1)
}

/// `POST /API/NEWSTREAM/` `{"title","description"}` → where and how to go live.
#[utoipa::path(post, path = "/API/NEWSTREAM/", tag = "original", request_body = StreamRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a pending live stream owned by the caller", body = StreamGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`unavailable`, `metadata_unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn new_stream(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<StreamRequest>,
) -> Result<Json<StreamGrant>, ApiError> {
    Ok(Json(create_stream(&services, &caller.user, req).await?))
}

/// `POST /v1/streams`: as `NEWSTREAM`, answered `201 Created`.
#[utoipa::path(post, path = "/v1/streams", tag = "v1", request_body = StreamRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "a pending live stream owned by the caller", body = StreamGrant),
        (status = 400, description = "`invalid_json`, `invalid_input`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/json`", body = ErrorBody),
        (status = 503, description = "`unavailable`, `metadata_unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn new_stream_v1(
    State(services): State<Services>,
    caller: AuthUser,
    JsonBody(req): JsonBody<StreamRequest>,
) -> Result<(StatusCode, Json<StreamGrant>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_stream(&services, &caller.user, req).await?)))
}

/// The STUN and TURN servers a viewer may use.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct IceAnswer {
    /// In the shape of the browser's `RTCIceServer`.
    ice_servers: Vec<IceServer>,
}

/// `GET /API/ICE` → `{"ice_servers":[…]}` for a viewer, signed in or not: the
/// configured servers plus the endpoint's STUN and TURN, with TURN credentials for
/// the caller (or an anonymous user) that expire.
#[utoipa::path(get, path = "/API/ICE", tag = "original", security((), ("bearer" = [])),
    responses(
        (status = 200, description = "STUN/TURN servers, with TURN credentials that expire", body = IceAnswer),
        (status = 401, description = "`unauthorized`: a token was sent but is not valid", body = ErrorBody),
        (status = 503, description = "`unavailable`, `metadata_unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn ice(state: State<Services>, caller: MaybeUser) -> Result<Json<IceAnswer>, ApiError> {
    ice_answer(state, caller).await
}

/// `GET /v1/ice`: as `GET /API/ICE`.
#[utoipa::path(get, path = "/v1/ice", tag = "v1", security((), ("bearer" = [])),
    responses(
        (status = 200, description = "STUN/TURN servers, with TURN credentials that expire", body = IceAnswer),
        (status = 401, description = "`unauthorized`: a token was sent but is not valid", body = ErrorBody),
        (status = 503, description = "`unavailable`, `metadata_unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn ice_v1(state: State<Services>, caller: MaybeUser) -> Result<Json<IceAnswer>, ApiError> {
    ice_answer(state, caller).await
}

async fn ice_answer(
    State(services): State<Services>,
    MaybeUser(caller): MaybeUser,
) -> Result<Json<IceAnswer>, ApiError> {
    let user_id = caller.map(|c| c.user.id);
    Ok(Json(IceAnswer { ice_servers: ice_servers(&services, user_id).await? }))
}

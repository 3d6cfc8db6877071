//! Live chat's one HTTP call: a chat token for a stream, which the page sends in
//! `chat_join` on the stream's signalling socket (the chat itself never touches the
//! API).

use axum::Json;
use axum::extract::{Path, State};
use myvid_core::chat_token::{ChatGrant, chat_token};
use myvid_core::route_table::RouteTable;
use myvid_core::{ApiError, AuthUser, ErrorBody, Services};

/// The chat route.
pub fn routes() -> RouteTable<Services> {
    RouteTable::new().post("/v1/streams/{id}/chat-token", chat_token_v1)
}

/// `POST /v1/streams/{id}/chat-token` → a chat token for the caller (6 h), its name and
/// whether it moderates (owns the stream).
#[utoipa::path(post, path = "/v1/streams/{id}/chat-token", tag = "v1",
    params(("id" = String, Path, description = "the stream's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a chat token for the caller in this stream", body = ChatGrant),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`: no live stream the caller may view", body = ErrorBody),
        (status = 409, description = "`stream_ended`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
        (status = 503, description = "`metadata_unavailable`, `unavailable`", body = ErrorBody),
    ))]
pub(crate) async fn chat_token_v1(
    State(services): State<Services>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ChatGrant>, ApiError> {
    Ok(Json(chat_token(&services, &caller.user, &id).await?))
}

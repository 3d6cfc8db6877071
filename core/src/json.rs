//! A JSON body extractor whose rejections are [`ApiError`]s, so a malformed body gets
//! the same `{"error":{...}}` shape as every other failure.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// Like `axum::Json`, but rejects with an [`ApiError`].
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

/// Like [`JsonBody`], for bodies that must be a JSON object: serde would take an
/// array for a struct whose fields are all optional (`[]` as `{}`), which the
/// documented schema does not allow.
pub struct JsonObject<T>(pub T);

impl<S, T> FromRequest<S> for JsonObject<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBody(value) = JsonBody::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::invalid("The body must be a JSON object."));
        }
        serde_json::from_value(value)
            .map(JsonObject)
            .map_err(|e| ApiError::invalid(format!("the body has the wrong shape: {e}")))
    }
}

/// Maps axum's JSON rejections onto our error codes.
pub fn rejection_to_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "expected a JSON body with Content-Type: application/json")
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {}", rejection.body_text()))
        }
        JsonRejection::JsonDataError(_) => ApiError::invalid(rejection.body_text()),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
        }
        other => ApiError::invalid(other.body_text()),
    }
}

/// Parses a JSON body given as bytes, treating an empty body as `default`. For the
/// original API's calls, which clients sometimes send without a body.
pub fn parse_lenient<T: DeserializeOwned>(bytes: &[u8], default: T) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(default);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}"))
        } else {
            ApiError::invalid(format!("the body has the wrong shape: {e}"))
        }
    })
}

//! The one HTTP error type. Every failure a client can see is an [`ApiError`]: a
//! stable machine-readable code, a human message, and a status taken from one table
//! ([`ErrorCode::status`]). Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use myvid_store::StoreError;
use serde::Serialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

/// Declares [`ErrorCode`] from one table: each code's doc, HTTP status and wire string,
/// so that the enum, [`ErrorCode::describe`] and [`ErrorCode::ALL`] cannot disagree.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $name:ident => $status:ident, $wire:literal;)+) => {
        /// Stable error codes. The string form is part of the API: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $name,)+
        }

        impl ErrorCode {
            /// The one table from code to HTTP status and wire string.
            pub fn describe(self) -> (StatusCode, &'static str) {
                match self {
                    $(ErrorCode::$name => (StatusCode::$status, $wire),)+
                }
            }

            /// Every code, in table order (for the OpenAPI schema and tests).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)+];
        }
    };
}

error_codes! {
    /// A field is missing, malformed, too long or out of range.
    InvalidInput => BAD_REQUEST, "invalid_input";
    /// The body is not valid JSON.
    InvalidJson => BAD_REQUEST, "invalid_json";
    /// No valid bearer token.
    Unauthorized => UNAUTHORIZED, "unauthorized";
    /// Wrong username/e-mail or password.
    InvalidCredentials => UNAUTHORIZED, "invalid_credentials";
    /// Logged in, but not allowed (e.g. not the owner).
    Forbidden => FORBIDDEN, "forbidden";
    /// A signed URL whose signature does not match.
    SignatureInvalid => FORBIDDEN, "signature_invalid";
    /// A signed URL past its expiry.
    UrlExpired => FORBIDDEN, "url_expired";
    /// No such resource.
    NotFound => NOT_FOUND, "not_found";
    /// Known path, wrong method.
    MethodNotAllowed => METHOD_NOT_ALLOWED, "method_not_allowed";
    /// Already exists (username, e-mail, id).
    Conflict => CONFLICT, "conflict";
    /// Publish before both files were uploaded (or one is empty).
    UploadIncomplete => CONFLICT, "upload_incomplete";
    /// WHIP: the stream already has a broadcaster.
    AlreadyLive => CONFLICT, "already_live";
    /// WHIP: the stream has ended; it never goes live again (create a new one).
    StreamEnded => CONFLICT, "stream_ended";
    /// Body or upload over its size limit.
    PayloadTooLarge => PAYLOAD_TOO_LARGE, "payload_too_large";
    /// Body is not `application/json` where JSON is required.
    UnsupportedMediaType => UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type";
    /// The uploaded video file is not a playable video.
    NotAVideo => UNPROCESSABLE_ENTITY, "not_a_video";
    /// The uploaded preview is not an image.
    InvalidPreview => UNPROCESSABLE_ENTITY, "invalid_preview";
    /// Too many requests of this kind from this client or for this account lately;
    /// `Retry-After` says when to try again.
    RateLimited => TOO_MANY_REQUESTS, "rate_limited";
    /// A backend is down or timed out; retry later.
    Unavailable => SERVICE_UNAVAILABLE, "unavailable";
    /// The metadata database cannot answer now (no node reachable, a cluster without
    /// quorum, timed out); nothing was changed. Retry shortly.
    MetadataUnavailable => SERVICE_UNAVAILABLE, "metadata_unavailable";
    /// The storage accepts reads only right now (a degraded object store, a full disk):
    /// nothing was written; watching still works. Retry later.
    StorageReadOnly => SERVICE_UNAVAILABLE, "storage_read_only";
    /// The object store does not answer in time; nothing was written. Retry later.
    StorageUnavailable => SERVICE_UNAVAILABLE, "storage_unavailable";
    /// The media server did not answer in time (WHIP/WHEP); retry.
    MediaServerTimeout => GATEWAY_TIMEOUT, "media_server_timeout";
    /// An upload's body ended or failed before all of it arrived (the client went away).
    UploadInterrupted => BAD_REQUEST, "upload_interrupted";
    /// A `Range` outside the object.
    RangeNotSatisfiable => RANGE_NOT_SATISFIABLE, "range_not_satisfiable";
    /// A WebSocket URL asked for without a WebSocket upgrade.
    UpgradeRequired => UPGRADE_REQUIRED, "upgrade_required";
    /// A bug. Details are in the server log.
    Internal => INTERNAL_SERVER_ERROR, "internal";
    /// A multipart upload the store does not know (completed, aborted or abandoned).
    UploadNotFound => NOT_FOUND, "upload_not_found";
}

impl ErrorCode {
    /// The generic code for an error status that a lower layer (axum, tower-http)
    /// answered without one of ours; `invalid_input` for other 4xx statuses and
    /// `internal` for other 5xx.
    pub fn for_status(status: StatusCode) -> ErrorCode {
        use ErrorCode::*;
        match status {
            StatusCode::UNAUTHORIZED => Unauthorized,
            StatusCode::FORBIDDEN => Forbidden,
            StatusCode::NOT_FOUND => NotFound,
            StatusCode::METHOD_NOT_ALLOWED => MethodNotAllowed,
            StatusCode::CONFLICT => Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => UnsupportedMediaType,
            StatusCode::RANGE_NOT_SATISFIABLE => RangeNotSatisfiable,
            StatusCode::UPGRADE_REQUIRED => UpgradeRequired,
            StatusCode::TOO_MANY_REQUESTS => RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => Unavailable,
            other if other.is_client_error() => InvalidInput,
            _ => Internal,
        }
    }

    /// HTTP status for this code.
    pub fn status(self) -> StatusCode {
        self.describe().0
    }

    /// Wire string for this code.
    pub fn as_str(self) -> &'static str {
        self.describe().1
    }
}

/// An error answered as `{"error":{"code":"...","message":"..."}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A sentence for people: what was wrong and, where useful, what to do.
    pub message: String,
    /// Seconds after which a retry may succeed, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after: None }
    }

    /// The same error, telling the client to wait `secs` seconds before retrying.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 400 `invalid_input`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// 404 `not_found` for a named thing.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 500 `internal`: logs `detail`, tells the client only that it failed.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error; the details are in the server log")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// The body of every error answer, `{"error":{"code","message"}}` (the `Error` schema
/// of the OpenAPI document: what is sent is what is documented).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code from the table in docs/API.md.
    #[schema(schema_with = code_schema)]
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// The `code` schema: a string that is one of [`ErrorCode::ALL`].
fn code_schema() -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str()))).build()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code.describe();
        let mut response =
            (status, Json(ErrorBody { error: ErrorDetail { code, message: self.message } })).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            StoreError::Conflict(what) => ApiError::new(ErrorCode::Conflict, format!("{what} is already taken")),
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                crate::object_health::unavailable_error()
            }
            StoreError::MetadataUnavailable(detail) => {
                tracing::warn!(%detail, "metadata store unavailable");
                ApiError::new(
                    ErrorCode::MetadataUnavailable,
                    "the metadata database is unavailable right now and nothing was changed; try again shortly",
                )
            }
            StoreError::ReadOnly(detail) => {
                tracing::warn!(%detail, "storage read-only");
                crate::object_health::read_only_error()
            }
            StoreError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_distinct_codes() {
        let cases = [
            (StoreError::NotFound, "not_found", 404),
            (StoreError::Conflict("email".into()), "conflict", 409),
            (StoreError::Unavailable("x".into()), "storage_unavailable", 503),
            (StoreError::MetadataUnavailable("x".into()), "metadata_unavailable", 503),
            (StoreError::ReadOnly("x".into()), "storage_read_only", 503),
            (StoreError::Internal("x".into()), "internal", 500),
        ];
        for (store_err, code, status) in cases {
            let api: ApiError = store_err.into();
            assert_eq!(api.code.as_str(), code);
            assert_eq!(api.code.status().as_u16(), status);
        }
    }

    #[test]
    fn lower_layer_statuses_get_the_generic_code_of_their_status() {
        let cases = [
            (StatusCode::BAD_REQUEST, "invalid_input"),
            (StatusCode::NOT_FOUND, "not_found"),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
            (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            (StatusCode::IM_A_TEAPOT, "invalid_input"),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            (StatusCode::BAD_GATEWAY, "internal"),
        ];
        for (status, code) in cases {
            assert_eq!(ErrorCode::for_status(status).as_str(), code, "{status}");
        }
    }

    #[test]
    fn every_code_is_listed_once() {
        let names: std::collections::BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn internal_errors_hide_details() {
        let api: ApiError = StoreError::Internal("secret path /var/x".into()).into();
        assert!(!api.message.contains("/var/x"));
    }
}

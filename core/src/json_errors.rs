//! The last line of "every error is JSON": a middleware that rewrites any error
//! response our handlers did not build — axum's own rejections (a body over its limit,
//! a path parameter that is not UTF-8, a bad query string, a WebSocket upgrade on a
//! plain GET), its 404 and 405 answers, `ServeFile`'s 416 — into the
//! `{"error":{"code","message"}}` shape of [`ApiError`].
//!
//! ```text
//!  request ─▶ routes / extractors / fallbacks ─▶ response
//!                                                  │ status ≥ 400 and not JSON or HTML?
//!                                                  ▼
//!                       code from the status (ErrorCode::for_status), message from
//!                       axum's plain-text body, headers (Allow, Content-Range) kept
//! ```
//!
//! HTML error pages are left alone: they are the site's pages for browsers.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorCode};

/// Longest plain-text body kept as the message (axum's rejection texts are one line).
const MAX_MESSAGE_BYTES: usize = 512;

/// Middleware: passes every request on and rewrites non-JSON error answers.
pub async fn layer(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if needs_rewrite(&response) { rewrite(response).await } else { response }
}

fn needs_rewrite(response: &Response) -> bool {
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return false;
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    !(content_type.starts_with("application/json") || content_type.starts_with("text/html"))
}

async fn rewrite(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let code = ErrorCode::for_status(parts.status);
    let text = match to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = if code == ErrorCode::Internal {
        tracing::error!(status = %parts.status, detail = %text, "internal error from a lower layer");
        "internal error; the details are in the server log".to_owned()
    } else if text.is_empty() {
        default_message(code).to_owned()
    } else {
        text
    };
    let rewritten = ApiError::new(code, message).into_response();
    // Keep what the original answer said besides its body (Allow on a 405,
    // Content-Range on a 416, CORS headers), and its exact status.
    parts.headers.remove(CONTENT_LENGTH);
    let (new_parts, new_body) = rewritten.into_parts();
    parts.headers.extend(new_parts.headers);
    Response::from_parts(parts, Body::new(new_body))
}

fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "no such API call or resource",
        ErrorCode::MethodNotAllowed => "this path does not accept that HTTP method",
        ErrorCode::PayloadTooLarge => "the request body is too large",
        ErrorCode::UnsupportedMediaType => "this call does not accept that Content-Type",
        ErrorCode::RangeNotSatisfiable => "the requested range is outside the object",
        ErrorCode::UpgradeRequired => "this URL is a WebSocket: send an upgrade request",
        ErrorCode::Unauthorized => "this call needs `Authorization: Bearer <token>`",
        ErrorCode::Unavailable => "a backend is unavailable right now; try again shortly",
        _ => "the request was refused",
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::{Method, StatusCode};
    use axum::routing::get;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;

    async fn call(router: Router, method: Method, uri: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
        let req = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        let res = router.layer(axum::middleware::from_fn(layer)).oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = to_bytes(body, 4096).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).expect("a JSON body"))
    }

    #[tokio::test]
    async fn a_plain_text_rejection_becomes_a_json_error_with_its_status_and_headers() {
        let router = Router::new()
            .route("/x/{n}", get(|axum::extract::Path(n): axum::extract::Path<u8>| async move { n.to_string() }));
        let (status, _, body) = call(router.clone(), Method::GET, "/x/300").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(body["error"]["message"].as_str().unwrap().contains("300"), "{body}");
        let (status, headers, body) = call(router.clone(), Method::POST, "/x/1").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert!(headers.get("allow").is_some(), "the Allow header is kept");
        let (status, _, body) = call(router, Method::GET, "/nowhere").await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    }

    #[tokio::test]
    async fn server_errors_hide_their_text() {
        let router =
            Router::new().route("/boom", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "secret /var/x") }));
        let (status, _, body) = call(router, Method::GET, "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("/var/x"));
    }
}

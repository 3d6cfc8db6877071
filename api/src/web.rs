//! The browser client (client-js/web), embedded in the binary so `myvid` serves it
//! from any working directory. Unknown `/API`, `/v1` and `/objects` paths get a JSON 404; other
//! unknown paths get the site's 404.

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};
use myvid_core::{ApiError, ErrorCode};

static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../client-js/web");

/// The pages' Content-Security-Policy: scripts and styles only from files of this
/// origin (no inline script, no `eval`), never framed, no plugins. Media, previews and
/// signalling may live on other origins (endpoints, an object store, imported
/// catalogue URLs), so those fetch directives allow any http(s)/ws(s) source.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; \
     connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Fallback handler: a static file, or a 404 in the shape the caller expects.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let machine_paths = ["/API/", "/v1/", "/objects/", "/playback/"];
    if machine_paths.iter().any(|p| path.starts_with(p)) || path == "/v1" {
        return ApiError::new(ErrorCode::NotFound, format!("no such API call: {method} {path}")).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(ErrorCode::MethodNotAllowed, "the web pages only answer GET").into_response();
    }
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    match WEB.get_file(&relative) {
        Some(file) => {
            let mime = mime_guess::from_path(&relative).first_or_octet_stream();
            (
                [
                    (CONTENT_TYPE, mime.as_ref().to_owned()),
                    (CACHE_CONTROL, "no-cache".to_owned()),
                    (CONTENT_SECURITY_POLICY, PAGE_CSP.to_owned()),
                    (X_FRAME_OPTIONS, "DENY".to_owned()),
                ],
                Body::from(file.contents()),
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (CONTENT_SECURITY_POLICY, PAGE_CSP),
                (X_FRAME_OPTIONS, "DENY"),
            ],
            NOT_FOUND_PAGE,
        )
            .into_response(),
    }
}

const NOT_FOUND_PAGE: &str = "<!doctype html><meta charset=utf-8><title>Not found · MyVid</title>\
<link rel=stylesheet href=/style.css><p>This page does not exist. <a href=\"/\">Back to MyVid</a></p>";

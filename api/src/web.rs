//! The browser client (client-js/web), embedded in the binary so `myvid` serves it
//! from any working directory. Unknown `/API`, `/v1`, `/objects` and `/playback` paths get a
//! JSON 404; other unknown paths get the site's 404 page (`404.html`, in the layout, with a
//! search box and a way home), with status 404. A channel, `/c/{username}`, is served
//! `channel.html`, which reads the name from its own path.

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
    if is_channel_path(path)
        && let Some(file) = WEB.get_file(CHANNEL_PAGE)
    {
        return page(StatusCode::OK, CHANNEL_PAGE, file.contents());
    }
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    match WEB.get_file(&relative) {
        Some(file) => page(StatusCode::OK, &relative, file.contents()),
        None => page(StatusCode::NOT_FOUND, NOT_FOUND_PAGE, not_found_page()),
    }
}

/// The page of every channel path. Its links are root-absolute, like the 404 page's.
const CHANNEL_PAGE: &str = "channel.html";

/// Whether `path` is a channel's address: `/c/` and one non-empty segment (the
/// username, checked by the page against the API; an unknown one shows its not-found).
fn is_channel_path(path: &str) -> bool {
    path.strip_prefix("/c/").is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// The site's 404 page, a file of the web directory like the others. Its links are
/// root-absolute, since it answers at any depth (`/a/b/c`).
const NOT_FOUND_PAGE: &str = "404.html";

fn not_found_page() -> &'static [u8] {
    WEB.get_file(NOT_FOUND_PAGE).map_or(FALLBACK_NOT_FOUND.as_bytes(), |file| file.contents())
}

/// Only if `404.html` were missing from the embedded directory.
const FALLBACK_NOT_FOUND: &str = "<!doctype html><meta charset=utf-8><title>Page not found – MyVid</title>\
<p>There is no page at this address. <a href=\"/\">Go to the home page</a></p>";

/// A file of the web directory, typed by its name, with the pages' headers.
fn page(status: StatusCode, name: &str, contents: &'static [u8]) -> Response {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    (
        status,
        [
            (CONTENT_TYPE, mime.as_ref().to_owned()),
            (CACHE_CONTROL, "no-cache".to_owned()),
            (CONTENT_SECURITY_POLICY, PAGE_CSP.to_owned()),
            (X_FRAME_OPTIONS, "DENY".to_owned()),
        ],
        Body::from(contents),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let response = serve(Method::GET, path.parse().unwrap()).await;
        let status = response.status();
        let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn unknown_page_paths_get_the_404_page_in_the_layout() {
        for path in ["/missing-page", "/a/b/c.html", "/watch"] {
            let (status, content_type, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
            assert!(body.contains("id=\"site-header\"") && body.contains("Page not found"), "{path}: {body}");
            assert!(
                body.contains("action=\"/search.html\"") && body.contains("href=\"/index.html\""),
                "a way on: {body}"
            );
        }
    }

    #[tokio::test]
    async fn machine_paths_keep_their_json_404() {
        for path in ["/API/NOPE", "/v1/nope", "/objects/x", "/playback/x"] {
            let (status, content_type, body) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
            assert!(body.contains("\"not_found\""), "{path}: {body}");
        }
    }

    #[tokio::test]
    async fn channel_paths_get_the_channel_page() {
        for path in ["/c/alice", "/c/some.one-else_2"] {
            let (status, content_type, body) = get(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
            assert!(body.contains("/js/pages/channel.js"), "{path}: {body}");
        }
        for path in ["/c/", "/c/alice/more", "/c"] {
            let (status, _, _) = get(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn pages_are_served_with_their_type() {
        let (status, content_type, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(body.contains("href=\"#main\""), "the skip link: {body}");
    }
}

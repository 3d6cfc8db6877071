//! HTTP face of the embedded object store: the signed URLs `LocalObjects` hands out
//! are answered here, the way S3 answers presigned URLs.
//!
//! A PUT streams the body to a temporary file and renames it into place only when it
//! is complete and within the signed size limit, so a failed upload leaves nothing. A
//! PUT to a part URL (`?upload=…&part=…&expires=…&max=…&sig=…`, from `presign_part`)
//! stores one part of a multipart upload the same way and answers its `ETag` header,
//! as S3 does (the CORS layer lets a page read it).
//! A GET is served by `tower_http::services::ServeFile`, which handles `Range` (206)
//! and `HEAD`; the type is the server's own ([`content_type_of_key`]: the extension of
//! a key publish chose), and every object carries headers that keep a browser from
//! running it as a page ([`serving_headers`]). The staging bucket is write-only: its
//! objects are never served, whatever the signature.

use std::io;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap,
    HeaderValue, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;
use myvid_core::{ApiError, ErrorCode, Services};
use myvid_store::objects::Bucket;
use myvid_store::objects::local::{SignedQuery, WriteError};
use myvid_store::objects::media_type::{MediaType, content_type_of_key};
use myvid_store::objects::signing::{Method, SignatureError};
use myvid_store::{LocalObjects, StoreError};
use serde_json::json;
use tokio_util::io::StreamReader;
use tower::ServiceExt;
use tower_http::services::ServeFile;

#[derive(Clone)]
struct ObjectState {
    services: Services,
    local: Arc<LocalObjects>,
}

pub fn routes(services: Services, local: Arc<LocalObjects>) -> Router {
    Router::new()
        .route("/objects/{bucket}/{*key}", get(download).put(upload))
        .with_state(ObjectState { services, local })
}

fn signature_error(err: SignatureError) -> ApiError {
    match err {
        SignatureError::Expired => {
            ApiError::new(ErrorCode::UrlExpired, "this signed URL has expired; ask for a new one")
        }
        SignatureError::Invalid => ApiError::new(ErrorCode::SignatureInvalid, "this URL's signature is not valid"),
    }
}

/// Checks the bucket name, the query and the signature of a request.
fn authorise(
    state: &ObjectState,
    method: Method,
    bucket: &str,
    key: &str,
    query: Result<Query<SignedQuery>, QueryRejection>,
) -> Result<(Bucket, SignedQuery), ApiError> {
    let bucket = Bucket::parse(bucket).ok_or_else(|| ApiError::not_found("bucket"))?;
    let Ok(Query(query)) = query else {
        return Err(ApiError::new(ErrorCode::SignatureInvalid, "this URL is not signed (expected ?expires=…&sig=…)"));
    };
    state.local.check(method, bucket, key, &query, state.services.clock.now()).map_err(signature_error)?;
    Ok((bucket, query))
}

async fn upload(
    State(state): State<ObjectState>,
    Path((bucket, key)): Path<(String, String)>,
    query: Result<Query<SignedQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let (bucket, query) = authorise(&state, Method::Put, &bucket, &key, query)?;
    // Clients only ever write to staging; what is served is written by the server.
    // (This also retires any upload URL signed for a served bucket before staging.)
    if bucket != Bucket::Staging {
        return Err(ApiError::new(ErrorCode::Forbidden, "published objects cannot be written"));
    }
    let Some(limit) = query.max else {
        return Err(ApiError::new(ErrorCode::SignatureInvalid, "this URL does not allow uploads"));
    };
    let too_large =
        || ApiError::new(ErrorCode::PayloadTooLarge, format!("the upload is larger than the {limit}-byte limit"));
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let body = StreamReader::new(request.into_body().into_data_stream().map_err(io::Error::other));
    let upload_error = |e: WriteError| match e {
        WriteError::TooLarge { .. } => too_large(),
        WriteError::Interrupted(detail) => {
            tracing::info!(bucket = bucket.as_str(), %key, %detail, "client disconnected mid-upload");
            ApiError::new(ErrorCode::UploadInterrupted, "the upload ended before all of its bytes arrived")
        }
        WriteError::Store(StoreError::NotFound) => ApiError::not_found("upload"),
        WriteError::Store(store) => store.into(),
    };
    // `authorise` checked the signature over `upload` and `part` too.
    if let (Some(upload_id), Some(number)) = (&query.upload, query.part) {
        let part = state.local.write_part(bucket, &key, upload_id, number, body, limit).await.map_err(upload_error)?;
        state.services.metrics.upload_bytes.inc_by(part.size);
        tracing::info!(bucket = bucket.as_str(), %key, %upload_id, part = number, bytes = part.size, "part stored");
        let etag = HeaderValue::from_str(&part.etag).map_err(ApiError::internal)?;
        let answer = json!({ "bucket": bucket.as_str(), "key": key, "part": number, "size": part.size });
        return Ok(([(ETAG, etag)], Json(answer)).into_response());
    }
    let written = state.local.write(bucket, &key, body, limit).await.map_err(upload_error)?;
    state.services.metrics.upload_bytes.inc_by(written);
    tracing::info!(bucket = bucket.as_str(), %key, bytes = written, "object stored");
    Ok(Json(json!({ "bucket": bucket.as_str(), "key": key, "size": written })).into_response())
}

async fn download(
    State(state): State<ObjectState>,
    Path((bucket, key)): Path<(String, String)>,
    query: Result<Query<SignedQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let (bucket, _) = authorise(&state, Method::Get, &bucket, &key, query)?;
    if !bucket.is_served() {
        return Err(ApiError::not_found("object"));
    }
    let path = state.local.path_of(bucket, &key).ok_or_else(|| ApiError::not_found("object"))?;
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(ApiError::not_found("object"));
    }
    let mut response = ServeFile::new(path).oneshot(request).await.map_err(ApiError::internal)?;
    serving_headers(response.headers_mut(), &key);
    Ok(response.map(Body::new))
}

/// The headers every served object carries: its type from the server's own table,
/// never sniffed (`nosniff`); a CSP under which nothing in it can run or load even if
/// a browser opened it as a document; a download name the server chose; and, as the
/// key of a published object never changes content, long caching.
pub fn serving_headers(headers: &mut HeaderMap, key: &str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type_of_key(key)));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    // Keys are `[A-Za-z0-9._-]` segments (checked before any object is served), so the
    // last one is safe inside a quoted file name.
    let name = key.rsplit('/').next().unwrap_or("object");
    let disposition = if MediaType::of_key(key).is_some() { "inline" } else { "attachment" };
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
}

#[cfg(test)]
mod properties;

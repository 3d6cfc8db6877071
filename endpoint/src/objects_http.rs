//! HTTP face of the embedded object store: the signed URLs `LocalObjects` hands out
//! are answered here, the way S3 answers presigned URLs.
//!
//! A PUT streams the body to a temporary file and renames it into place only when it
//! is complete and within the signed size limit, so a failed upload leaves nothing.
//! A GET is served by `tower_http::services::ServeFile`, which handles `Range` (206),
//! `HEAD` and the content type.

use std::io;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;
use myvid_core::{ApiError, ErrorCode, Services};
use myvid_store::LocalObjects;
use myvid_store::objects::Bucket;
use myvid_store::objects::local::{SignedQuery, WriteError};
use myvid_store::objects::signing::{Method, SignatureError};
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
    let Some(limit) = query.max else {
        return Err(ApiError::new(ErrorCode::SignatureInvalid, "this URL does not allow uploads"));
    };
    let too_large =
        || ApiError::new(ErrorCode::PayloadTooLarge, format!("the upload is larger than the {limit}-byte limit"));
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let stream = request.into_body().into_data_stream().map_err(io::Error::other);
    let written = state.local.write(bucket, &key, StreamReader::new(stream), limit).await.map_err(|e| match e {
        WriteError::TooLarge { .. } => too_large(),
        WriteError::Interrupted(detail) => {
            tracing::info!(bucket = bucket.as_str(), %key, %detail, "client disconnected mid-upload");
            ApiError::new(ErrorCode::UploadInterrupted, "the upload ended before all of its bytes arrived")
        }
        WriteError::Store(store) => store.into(),
    })?;
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
    let path = state.local.path_of(bucket, &key).ok_or_else(|| ApiError::not_found("object"))?;
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(ApiError::not_found("object"));
    }
    let response = ServeFile::new(path).oneshot(request).await.map_err(ApiError::internal)?;
    Ok(response.map(Body::new))
}

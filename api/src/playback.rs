//! `/playback/hls/…`: a ready video's HLS playlists, behind a signed path (see
//! `myvid_core::playback`). The master playlist is served as stored (its variant URIs
//! are relative, so they stay under the signed path); each variant playlist is served
//! with its init and media segment URIs replaced by presigned object URLs expiring with
//! the path. Not JSON and not part of the OpenAPI document, like `/objects/`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use myvid_core::hls::{parse_media, rewrite_media_playlist};
use myvid_core::playback;
use myvid_core::{ApiError, ErrorCode, Services};
use myvid_store::meta::{HlsMedia, TranscodeState};
use myvid_store::objects::Bucket;
use tokio::io::AsyncReadExt;

/// The largest playlist served (a 10-hour video's variant at 2 s segments is ~400 KiB).
const MAX_PLAYLIST_BYTES: u64 = 4 << 20;

/// How long reading a playlist from the object store may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The playback routes.
pub(crate) fn routes() -> Router<Services> {
    Router::new()
        .route("/playback/hls/{video}/{expires}/{sig}/master.m3u8", get(master))
        .route("/playback/hls/{video}/{expires}/{sig}/{rendition}/index.m3u8", get(variant))
}

/// The master playlist, as stored.
async fn master(
    State(services): State<Services>,
    Path((video, expires, sig)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (hls, expires) = ready_ladder(&services, &video, &expires, &sig).await?;
    let text = read_playlist(&services, &hls.master_key()).await?;
    Ok(playlist_response(&services, text, expires))
}

/// A variant playlist, its segments presigned.
async fn variant(
    State(services): State<Services>,
    Path((video, expires, sig, rendition)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (hls, expires) = ready_ladder(&services, &video, &expires, &sig).await?;
    if !hls.renditions.iter().any(|r| r.name == rendition) {
        return Err(ApiError::not_found("rendition"));
    }
    let dir = format!("{}/{rendition}", hls.prefix);
    let text = read_playlist(&services, &format!("{dir}/index.m3u8")).await?;
    let broken = |e: myvid_core::hls::PlaylistError| {
        tracing::error!(%video, %rendition, error = %e, "a stored playlist does not parse");
        ApiError::new(ErrorCode::Internal, "this video's playlist is damaged")
    };
    let parsed = parse_media(&text).map_err(broken)?;
    let mut signed = HashMap::new();
    for uri in std::iter::once(&parsed.map_uri).chain(parsed.segments.iter().map(|s| &s.uri)) {
        let url = services.objects.presign_get(Bucket::Videos, &format!("{dir}/{uri}"), expires).await?;
        signed.insert(uri.clone(), url);
    }
    let rewritten =
        rewrite_media_playlist(&text, |uri| signed.get(uri).cloned().unwrap_or_default()).map_err(broken)?;
    Ok(playlist_response(&services, rewritten, expires))
}

/// The ladder of ready video `video` if the path's signature holds, with the expiry.
async fn ready_ladder(services: &Services, video: &str, expires: &str, sig: &str) -> Result<(HlsMedia, i64), ApiError> {
    let expires: i64 =
        expires.parse().map_err(|_| ApiError::new(ErrorCode::SignatureInvalid, "this playback URL is not valid"))?;
    playback::verify(&services.stream_tokens, video, expires, sig, services.clock.now())?;
    let stored = services.meta.video(video).await?.and_then(|v| v.transcode);
    match stored {
        Some(transcode) if transcode.state == TranscodeState::Ready => {
            transcode.hls.map(|hls| (hls, expires)).ok_or_else(|| ApiError::not_found("video"))
        }
        _ => Err(ApiError::not_found("video")),
    }
}

/// A stored playlist's text (UTF-8, at most [`MAX_PLAYLIST_BYTES`]).
async fn read_playlist(services: &Services, key: &str) -> Result<String, ApiError> {
    let read = async {
        let body = services.objects.get_stream(Bucket::Videos, key, None).await?;
        let mut bytes = Vec::new();
        body.take(MAX_PLAYLIST_BYTES)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| myvid_store::StoreError::Unavailable(e.to_string()))?;
        Ok::<_, myvid_store::StoreError>(bytes)
    };
    let bytes = tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| ApiError::new(ErrorCode::StorageUnavailable, "the object store did not answer in time"))??;
    String::from_utf8(bytes).map_err(|_| ApiError::new(ErrorCode::Internal, "this video's playlist is damaged"))
}

/// A playlist response, cacheable privately until the hour's URLs change.
fn playlist_response(services: &Services, text: String, expires: i64) -> Response {
    let max_age = (expires - services.clock.now()).clamp(0, 3600);
    (
        [
            (CONTENT_TYPE, "application/vnd.apple.mpegurl".to_owned()),
            (CACHE_CONTROL, format!("private, max-age={max_age}")),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        text,
    )
        .into_response()
}

//! Resumable uploads of a staged video in parts, through presigned part URLs: the
//! browser sends parts straight to the store, several at once, and after a reload asks
//! which parts the store already holds and sends only the others.
//!
//! ```text
//!  start {size} ──▶ create_multipart(staging/{id}/video) ──▶ {upload_id, part_size, part_count}
//!  parts {upload_id, size, parts} ──▶ presigned part URLs (each capped at its part's size)
//!  status {upload_id} ──▶ parts the store holds          (resume: skip those)
//!  complete {upload_id, size} ──▶ list parts ─ check_parts ─▶ complete_multipart ──▶ staged video
//!                                  (missing/short: 409, oversized or beyond the end: abort + 413)
//!  abort {upload_id} ──▶ abort_multipart                 (the reaper does it after a deadline)
//! ```
//!
//! Only the owner of a video that is still staged may do any of this; someone else's
//! private video is "not found". The server records nothing: the part plan follows
//! from the size ([`PartPlan`]) and completion re-checks everything against the store.
//! Publishing afterwards is unchanged: it finds the joined object at the staged key.

use myvid_store::StoreError;
use myvid_store::meta::{User, VideoSource};
use myvid_store::objects::{Bucket, UploadedPart};
use serde::{Deserialize, Deserializer, Serialize};

use super::part_plan::{PartPlan, PartsProblem, check_parts};
use super::{owned_video, require_writable};
use crate::error::{ApiError, ErrorCode};
use crate::services::Services;

/// Most part URLs one call hands out (a client asks again for the next batch).
pub const MAX_PART_URLS: usize = 100;

/// Longest upload id accepted (S3 ids are a few hundred characters at most).
const MAX_UPLOAD_ID_CHARS: usize = 1024;

/// Largest `size` a request may state at all (2^53 − 1, the largest integer a browser
/// states exactly); sizes up to it but over `uploads.max_video_bytes` are 413.
pub const MAX_STATED_SIZE: u64 = (1 << 53) - 1;

/// `POST /v1/uploads/{id}/multipart` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MultipartStartRequest {
    /// The video file's size in bytes (1 up to the server's `max_video_bytes`, else 413).
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_u64)]
    #[serde(deserialize_with = "whole_size")]
    pub size: u64,
}

/// A started multipart upload and how to cut the file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MultipartGrant {
    /// The store's id of the upload: pass it to every later call.
    pub upload_id: String,
    /// Every part but the last holds exactly this many bytes; the last holds the rest.
    pub part_size: u64,
    /// How many parts (numbered from 1).
    pub part_count: u32,
}

/// `POST /v1/uploads/{id}/multipart/parts` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PartUrlsRequest {
    /// From the start answer.
    #[schema(min_length = 1, max_length = 1024, pattern = r"^[A-Za-z0-9._~+/=-]+$")]
    pub upload_id: String,
    /// The file's size, as at the start.
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_u64)]
    #[serde(deserialize_with = "whole_size")]
    pub size: u64,
    /// Part numbers (1..=part_count), 1 to 100 per call.
    #[schema(min_items = 1, max_items = 100)]
    #[serde(deserialize_with = "whole_part_numbers")]
    pub parts: Vec<u32>,
}

/// Where to `PUT` one part.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartUrl {
    /// The part's number.
    pub number: u32,
    /// Presigned URL accepting one `PUT` of exactly this part's bytes.
    pub url: String,
}

/// Presigned part URLs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartUrls {
    /// One URL per part asked for, in the order asked.
    pub parts: Vec<PartUrl>,
    /// When the URLs stop working (Unix seconds): ask again after that.
    pub expires_at: i64,
}

/// A part the store holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoredPart {
    /// Its number.
    pub number: u32,
    /// Its size in bytes.
    pub size: u64,
    /// The store's entity tag of the part.
    pub etag: String,
}

/// What the store holds of a multipart upload (for resuming it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MultipartStatus {
    /// The upload's id.
    pub upload_id: String,
    /// The parts stored so far, by number.
    pub parts: Vec<StoredPart>,
}

/// `POST /v1/uploads/{id}/multipart/complete` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MultipartCompleteRequest {
    /// From the start answer.
    #[schema(min_length = 1, max_length = 1024, pattern = r"^[A-Za-z0-9._~+/=-]+$")]
    pub upload_id: String,
    /// The file's size, as at the start.
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_u64)]
    #[serde(deserialize_with = "whole_size")]
    pub size: u64,
}

/// A completed multipart upload: the staged video file is whole and can be published.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MultipartDone {
    /// The video's id.
    pub id: String,
    /// The staged file's size in bytes.
    pub size: u64,
}

/// A JSON number that is a whole number in `0..=max` (`56` or `56.0`: JSON Schema
/// counts both as integers, so the API takes both).
fn whole_number(n: &serde_json::Number, max: u64) -> Option<u64> {
    let whole = n.as_u64().or_else(|| {
        n.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=MAX_STATED_SIZE as f64).contains(f)).map(|f| f as u64)
    });
    whole.filter(|w| *w <= max)
}

fn whole_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole_number(&n, u64::MAX).ok_or_else(|| serde::de::Error::custom("`size` must be a whole number of bytes"))
}

fn whole_part_numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    let numbers = Vec::<serde_json::Number>::deserialize(d)?;
    numbers
        .iter()
        .map(|n| whole_number(n, u64::from(u32::MAX)).and_then(|w| u32::try_from(w).ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| serde::de::Error::custom("`parts` must hold whole part numbers"))
}

/// The staging key of `id`'s video file, if `user` owns `id` and it is still staged.
async fn staged_video_key(services: &Services, user: &User, id: &str) -> Result<String, ApiError> {
    let video = owned_video(services, user, id, "upload to").await?;
    match video.source {
        VideoSource::Staged { video_key, .. } => Ok(video_key),
        _ => Err(ApiError::new(ErrorCode::Conflict, "this video is not awaiting an upload (it is published or live)")),
    }
}

/// Checks the form of a stated `size`: 1..=[`MAX_STATED_SIZE`].
fn check_size(size: u64) -> Result<(), ApiError> {
    if size == 0 || size > MAX_STATED_SIZE {
        return Err(ApiError::invalid(format!("`size` must be 1 to {MAX_STATED_SIZE}")));
    }
    Ok(())
}

/// The part plan for a stated `size`: 1..=`max_video_bytes` (over it: 413).
fn plan_for(services: &Services, size: u64) -> Result<PartPlan, ApiError> {
    let max = services.settings.max_video_bytes;
    check_size(size)?;
    if size > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the video file is {size} bytes; the limit is {max}"),
        ));
    }
    Ok(PartPlan::new(size, services.settings.part_size))
}

/// Checks the shape of an upload id from a client (the store decides whether it exists).
fn check_upload_id(upload_id: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~' | '+' | '/' | '=');
    if upload_id.is_empty() || upload_id.len() > MAX_UPLOAD_ID_CHARS || !upload_id.chars().all(allowed) {
        return Err(ApiError::invalid("`upload_id` is not an upload id this server handed out"));
    }
    Ok(())
}

/// A store error of an upload call: an unknown upload is `upload_not_found`.
fn upload_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::new(
            ErrorCode::UploadNotFound,
            "no such multipart upload (it was completed, aborted or abandoned); start a new one",
        ),
        other => other.into(),
    }
}

/// Starts a multipart upload of `id`'s video file of `size` bytes.
pub async fn start(
    services: &Services,
    user: &User,
    id: &str,
    req: MultipartStartRequest,
) -> Result<MultipartGrant, ApiError> {
    check_size(req.size)?;
    let key = staged_video_key(services, user, id).await?;
    let plan = plan_for(services, req.size)?;
    require_writable(services)?;
    let upload_id = services.objects.create_multipart(Bucket::Staging, &key).await?;
    tracing::info!(video = %id, user = %user.username, size = req.size, parts = plan.part_count, "multipart upload started");
    Ok(MultipartGrant { upload_id, part_size: plan.part_size, part_count: plan.part_count })
}

/// Presigned URLs for parts of an upload of `id`'s video file, each accepting at most
/// the part's planned size.
pub async fn part_urls(services: &Services, user: &User, id: &str, req: PartUrlsRequest) -> Result<PartUrls, ApiError> {
    check_upload_id(&req.upload_id)?;
    check_size(req.size)?;
    if req.parts.is_empty() || req.parts.len() > MAX_PART_URLS {
        return Err(ApiError::invalid(format!("`parts` must list 1 to {MAX_PART_URLS} part numbers")));
    }
    let key = staged_video_key(services, user, id).await?;
    // An unknown upload is reported now, not as failing PUTs later.
    services.objects.list_parts(Bucket::Staging, &key, &req.upload_id).await.map_err(upload_error)?;
    let plan = plan_for(services, req.size)?;
    let sizes = req
        .parts
        .iter()
        .map(|&n| plan.expected_size(n).map(|size| (n, size)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::invalid(format!("part numbers must be 1 to {}", plan.part_count)))?;
    let expires_at = services.clock.now() + services.settings.upload_url_ttl_secs;
    let mut parts = Vec::with_capacity(sizes.len());
    for (number, size) in sizes {
        let url = services
            .objects
            .presign_part(Bucket::Staging, &key, &req.upload_id, number, size, expires_at)
            .await
            .map_err(upload_error)?;
        parts.push(PartUrl { number, url });
    }
    Ok(PartUrls { parts, expires_at })
}

/// The parts the store holds of an upload of `id`'s video file.
pub async fn status(services: &Services, user: &User, id: &str, upload_id: &str) -> Result<MultipartStatus, ApiError> {
    check_upload_id(upload_id)?;
    let key = staged_video_key(services, user, id).await?;
    let listed = services.objects.list_parts(Bucket::Staging, &key, upload_id).await.map_err(upload_error)?;
    let parts = listed.into_iter().map(|p| StoredPart { number: p.number, size: p.size, etag: p.etag }).collect();
    Ok(MultipartStatus { upload_id: upload_id.to_owned(), parts })
}

/// Joins the parts of an upload of `id`'s video file of `size` bytes into the staged
/// video file, once the store holds every part at its exact size. A part over its
/// size or beyond the last (the client sent more than it announced) drops the whole
/// upload.
pub async fn complete(
    services: &Services,
    user: &User,
    id: &str,
    req: MultipartCompleteRequest,
) -> Result<MultipartDone, ApiError> {
    check_upload_id(&req.upload_id)?;
    check_size(req.size)?;
    let key = staged_video_key(services, user, id).await?;
    require_writable(services)?;
    let listed = services.objects.list_parts(Bucket::Staging, &key, &req.upload_id).await.map_err(upload_error)?;
    let plan = plan_for(services, req.size)?;
    let parts: Vec<UploadedPart> = match check_parts(&plan, &listed) {
        Ok(parts) => parts,
        Err(problem @ PartsProblem::Incomplete { .. }) => {
            return Err(ApiError::new(ErrorCode::UploadIncomplete, problem.describe()));
        }
        Err(problem @ (PartsProblem::Oversized { .. } | PartsProblem::BeyondTheEnd { .. })) => {
            abort_quietly(services, &key, &req.upload_id).await;
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, problem.describe()));
        }
    };
    let joined = match services.objects.complete_multipart(Bucket::Staging, &key, &req.upload_id, &parts).await {
        Ok(info) => info,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                ErrorCode::UploadIncomplete,
                "the store refused the parts (one changed while completing); check the status and send it again",
            ));
        }
        Err(e) => return Err(upload_error(e)),
    };
    if joined.size != plan.size || joined.size > services.settings.max_video_bytes {
        // Parts cannot change size between listing and joining unless re-sent meanwhile.
        if let Err(e) = services.objects.delete(Bucket::Staging, &key).await {
            tracing::warn!(video = %id, error = %e, "could not remove a joined upload of the wrong size");
        }
        return Err(ApiError::new(
            ErrorCode::UploadIncomplete,
            format!("the joined file is {} bytes, not the {} announced; upload it again", joined.size, plan.size),
        ));
    }
    tracing::info!(video = %id, user = %user.username, size = joined.size, "multipart upload completed");
    Ok(MultipartDone { id: id.to_owned(), size: joined.size })
}

/// Drops an upload of `id`'s video file and its parts (idempotent).
pub async fn abort(services: &Services, user: &User, id: &str, upload_id: &str) -> Result<(), ApiError> {
    check_upload_id(upload_id)?;
    let key = staged_video_key(services, user, id).await?;
    services.objects.abort_multipart(Bucket::Staging, &key, upload_id).await?;
    tracing::info!(video = %id, user = %user.username, "multipart upload aborted");
    Ok(())
}

async fn abort_quietly(services: &Services, key: &str, upload_id: &str) {
    if let Err(e) = services.objects.abort_multipart(Bucket::Staging, key, upload_id).await {
        tracing::warn!(%key, error = %e, "could not abort an oversized multipart upload; the reaper will");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_part_numbers_may_be_written_as_whole_floats() {
        let req: PartUrlsRequest = serde_json::from_str(r#"{"upload_id":"u","size":56.0,"parts":[1,2.0]}"#).unwrap();
        assert_eq!((req.size, req.parts), (56, vec![1, 2]));
        for bad in [r#"{"size":5.5}"#, r#"{"size":-1}"#, r#"{"size":"5"}"#] {
            assert!(serde_json::from_str::<MultipartStartRequest>(bad).is_err(), "{bad}");
        }
        let too_big = r#"{"upload_id":"u","size":1,"parts":[4294967296]}"#;
        assert!(serde_json::from_str::<PartUrlsRequest>(too_big).is_err());
    }

    #[test]
    fn upload_ids_of_s3_and_ceph_pass_and_others_do_not() {
        for ok in ["2~Vq3bC1x", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA", "a.b_c-d+e/f="] {
            assert!(check_upload_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "ü", "a?b", &"x".repeat(1025)] {
            assert!(check_upload_id(bad).is_err(), "{bad:?}");
        }
    }
}

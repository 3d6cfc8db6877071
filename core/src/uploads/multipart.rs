//! Resumable uploads of a staged video in parts, through presigned part URLs: the
//! browser sends parts straight to the store, several at once, and after a reload asks
//! which parts the store already holds and sends only the others.
//!
//! ```text
//!  start {size} ──▶ create_multipart(staging/{id}/video) ──▶ {upload_id, part_size, part_count}
//!  parts {upload_id, size, parts} ──▶ presigned part URLs (each capped at its part's size)
//!  status {upload_id} ──▶ parts the store holds          (resume: skip those)
//!  complete {upload_id, size} ──▶ list parts ─ check_parts ─▶ complete_multipart ──▶ staged video
//!                                  (missing/short: 409, oversized: abort + 413)
//!  abort {upload_id} ──▶ abort_multipart                 (the reaper does it after a deadline)
//! ```
//!
//! Only the owner of a video that is still staged may do any of this; someone else's
//! private video is "not found". The server records nothing: the part plan follows
//! from the size ([`PartPlan`]) and completion re-checks everything against the store.
//! Publishing afterwards is unchanged: it finds the joined object at the staged key.

use myvid_store::StoreError;
use myvid_store::meta::{User, VideoSource, Visibility};
use myvid_store::objects::{Bucket, UploadedPart};
use serde::{Deserialize, Serialize};

use super::part_plan::{PartPlan, PartsProblem, check_parts};
use crate::error::{ApiError, ErrorCode};
use crate::services::Services;

/// Most part URLs one call hands out (a client asks again for the next batch).
pub const MAX_PART_URLS: usize = 100;

/// Longest upload id accepted (S3 ids are a few hundred characters at most).
const MAX_UPLOAD_ID_CHARS: usize = 1024;

/// `POST /v1/uploads/{id}/multipart` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MultipartStartRequest {
    /// The video file's size in bytes (1 up to the server's `max_video_bytes`).
    #[schema(minimum = 0)]
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
    #[schema(max_length = 1024)]
    pub upload_id: String,
    /// The file's size, as at the start.
    #[schema(minimum = 0)]
    pub size: u64,
    /// Part numbers (1..=part_count), at most 100 per call.
    #[schema(max_items = 100)]
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
    #[schema(max_length = 1024)]
    pub upload_id: String,
    /// The file's size, as at the start.
    #[schema(minimum = 0)]
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

/// The staging key of `id`'s video file, if `user` owns `id` and it is still staged.
async fn staged_video_key(services: &Services, user: &User, id: &str) -> Result<String, ApiError> {
    let video = services.meta.video(id).await?.ok_or_else(|| ApiError::not_found("video"))?;
    if video.owner_id != Some(user.id) {
        // Do not reveal that someone else's private video exists.
        return Err(match video.visibility {
            Visibility::Private => ApiError::not_found("video"),
            Visibility::Public => ApiError::new(ErrorCode::Forbidden, "only the owner can upload to this video"),
        });
    }
    match video.source {
        VideoSource::Staged { video_key, .. } => Ok(video_key),
        _ => Err(ApiError::new(ErrorCode::Conflict, "this video is not awaiting an upload (it is published or live)")),
    }
}

/// The part plan for a declared `size`: 1..=`max_video_bytes`.
fn plan_for(services: &Services, size: u64) -> Result<PartPlan, ApiError> {
    let max = services.settings.max_video_bytes;
    if size == 0 {
        return Err(ApiError::invalid("`size` must be 1 or more"));
    }
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
    let plan = plan_for(services, req.size)?;
    let key = staged_video_key(services, user, id).await?;
    let upload_id = services.objects.create_multipart(Bucket::Staging, &key).await?;
    tracing::info!(video = %id, user = %user.username, size = req.size, parts = plan.part_count, "multipart upload started");
    Ok(MultipartGrant { upload_id, part_size: plan.part_size, part_count: plan.part_count })
}

/// Presigned URLs for parts of an upload of `id`'s video file, each accepting at most
/// the part's planned size.
pub async fn part_urls(services: &Services, user: &User, id: &str, req: PartUrlsRequest) -> Result<PartUrls, ApiError> {
    check_upload_id(&req.upload_id)?;
    let plan = plan_for(services, req.size)?;
    if req.parts.is_empty() || req.parts.len() > MAX_PART_URLS {
        return Err(ApiError::invalid(format!("`parts` must list 1 to {MAX_PART_URLS} part numbers")));
    }
    let sizes = req
        .parts
        .iter()
        .map(|&n| plan.expected_size(n).map(|size| (n, size)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::invalid(format!("part numbers must be 1 to {}", plan.part_count)))?;
    let key = staged_video_key(services, user, id).await?;
    // An unknown upload is reported now, not as failing PUTs later.
    services.objects.list_parts(Bucket::Staging, &key, &req.upload_id).await.map_err(upload_error)?;
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
/// size (the client sent more than it announced) drops the whole upload.
pub async fn complete(
    services: &Services,
    user: &User,
    id: &str,
    req: MultipartCompleteRequest,
) -> Result<MultipartDone, ApiError> {
    check_upload_id(&req.upload_id)?;
    let plan = plan_for(services, req.size)?;
    let key = staged_video_key(services, user, id).await?;
    let listed = services.objects.list_parts(Bucket::Staging, &key, &req.upload_id).await.map_err(upload_error)?;
    let parts: Vec<UploadedPart> = match check_parts(&plan, &listed) {
        Ok(parts) => parts,
        Err(problem @ PartsProblem::Incomplete { .. }) => {
            return Err(ApiError::new(ErrorCode::UploadIncomplete, problem.describe()));
        }
        Err(problem @ PartsProblem::Oversized { .. }) => {
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
    fn upload_ids_of_s3_and_ceph_pass_and_others_do_not() {
        for ok in ["2~Vq3bC1x", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA", "a.b_c-d+e/f="] {
            assert!(check_upload_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "ü", "a?b", &"x".repeat(1025)] {
            assert!(check_upload_id(bad).is_err(), "{bad:?}");
        }
    }
}

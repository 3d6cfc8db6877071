//! Creating an upload (a private video plus two presigned PUT URLs into staging) and
//! publishing it once its files are there and check out.
//!
//! Lifecycle of a stored video:
//!
//! ```text
//! create_upload ──▶ Staged: PUT URLs (1 h) to staging/{id}/video, staging/{id}/preview
//!       ──publish──▶ video:   probe (type) → copy → videos/{id}/{n}.{ext} → probe the copy again
//!                             → decode its start and end (duration)
//!                    preview: probe (raster still) → decode → new JPEG → previews/{id}/{n}.jpg
//!                             (none uploaded: the video copy's first frame)
//!                    → Stored, public; its transcode into HLS enqueued
//!                    staging objects deleted
//! ```
//!
//! Whatever reaches viewers is a copy the server made and checked after copying, under
//! a key (and so a type) the server chose. A later PUT to an old upload URL only
//! rewrites a staging object that is never served nor published again, so it cannot
//! change a published video (the same holds on S3, where a presigned PUT cannot be
//! revoked).

pub mod abandoned;
pub mod check;
pub mod multipart;
pub mod part_plan;

use myvid_store::StoreError;
use myvid_store::meta::{PublishedMedia, Transcode, TranscodeState, User, Video, VideoSource, Visibility};
use myvid_store::objects::Bucket;
use myvid_store::objects::media_type::MediaType;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::limits::{self, MAX_FILENAME_CHARS};
use crate::media::{self, DecodeCheck, Probe, ToolError};
use crate::new_video::{Details, create_private};
use crate::services::Services;
use crate::view::{VideoView, video_view};

/// `POST {endpoint}/NEWVIDEOUPLOAD` and `POST /v1/uploads` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UploadRequest {
    /// 1–200 characters.
    #[schema(schema_with = crate::text_schema::title)]
    pub title: String,
    /// Up to 5,000 characters.
    #[serde(default)]
    #[schema(schema_with = crate::text_schema::description)]
    pub description: String,
    /// The preview image's file name on the uploader's machine (checked, not used:
    /// the server names and types what it stores). Optional: without a preview image,
    /// publishing makes one from a frame of the video.
    #[serde(default)]
    #[schema(schema_with = crate::text_schema::optional_filename)]
    pub preview_filename: String,
    /// The video's file name on the uploader's machine (checked, not used).
    #[schema(schema_with = crate::text_schema::filename)]
    pub video_filename: String,
}

/// The answer: the new private video's id and where to PUT each file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadGrant {
    /// The new video's id.
    pub id: String,
    /// Presigned PUT URL for the preview image.
    pub preview_upload_url: String,
    /// Presigned PUT URL for the video file (one `PUT` of the whole file).
    pub video_upload_url: String,
    /// Video files larger than this many bytes should go up in parts instead
    /// (`POST /v1/uploads/{id}/multipart`): resumable, several parts at once.
    pub multipart_threshold: u64,
    /// The part size a multipart upload of this server uses (larger for files that
    /// would otherwise need more than 10,000 parts).
    pub part_size: u64,
}

/// The staging keys of an upload: fixed per video, in [`Bucket::Staging`].
fn staging_keys(id: &str) -> VideoSource {
    VideoSource::Staged { video_key: format!("{id}/video"), preview_key: format!("{id}/preview") }
}

/// Creates a private video owned by `user` and presigned URLs for its two files.
pub async fn create_upload(services: &Services, user: &User, req: UploadRequest) -> Result<UploadGrant, ApiError> {
    let details = Details::check(&req.title, &req.description)?;
    limits::text("preview_filename", &req.preview_filename, MAX_FILENAME_CHARS, false, false)?;
    limits::text("video_filename", &req.video_filename, MAX_FILENAME_CHARS, true, false)?;
    require_writable(services)?;
    let now = services.clock.now();
    let video = create_private(services, user, &details, staging_keys).await?;
    let VideoSource::Staged { video_key, preview_key } = &video.source else {
        return Err(ApiError::internal("a new upload was stored without staging keys"));
    };
    let expires_at = now + services.settings.upload_url_ttl_secs;
    let settings = &services.settings;
    let grant = UploadGrant {
        id: video.id.clone(),
        preview_upload_url: services
            .objects
            .presign_put(Bucket::Staging, preview_key, settings.max_preview_bytes, expires_at)
            .await?,
        video_upload_url: services
            .objects
            .presign_put(Bucket::Staging, video_key, settings.max_video_bytes, expires_at)
            .await?,
        multipart_threshold: settings.multipart_threshold,
        part_size: settings.part_size,
    };
    services.metrics.uploads_created.inc();
    tracing::info!(video = %video.id, user = %user.username, "upload created");
    Ok(grant)
}

/// `Ok` if the object store takes writes as far as is known; else `503
/// storage_read_only` / `storage_unavailable` without touching anything.
pub(crate) fn require_writable(services: &Services) -> Result<(), ApiError> {
    services.objects_health.require_writable().inspect_err(|_| {
        services.metrics.object_store_refusals.inc();
    })
}

/// Video `id` if `user` owns it. Someone else's private video is `not_found` (its
/// existence is not revealed); someone else's public one is `forbidden` to `action`.
pub(crate) async fn owned_video(services: &Services, user: &User, id: &str, action: &str) -> Result<Video, ApiError> {
    let video = services.meta.video(id).await?.ok_or_else(|| ApiError::not_found("video"))?;
    if video.owner_id != Some(user.id) {
        return Err(match video.visibility {
            Visibility::Private => ApiError::not_found("video"),
            Visibility::Public | Visibility::Unlisted => {
                ApiError::new(ErrorCode::Forbidden, format!("only the owner can {action} this video"))
            }
        });
    }
    Ok(video)
}

fn refused(services: &Services, code: ErrorCode, message: String) -> ApiError {
    services.metrics.publish_refused.inc();
    ApiError::new(code, message)
}

fn checker_unavailable(err: &ToolError) -> ApiError {
    tracing::error!(error = %err, "media check failed to run");
    ApiError::new(ErrorCode::Unavailable, "the video checker is unavailable right now; try publishing again later")
}

/// Checks that a staged object exists and is non-empty.
/// The staged `key` must be there, not empty, and at most `max_bytes`. The embedded
/// store enforces the size while receiving; a presigned PUT to S3 cannot, so an
/// oversized upload is caught (and deleted) here.
async fn require_object(services: &Services, key: &str, what: &str, max_bytes: u64) -> Result<(), ApiError> {
    match services.objects.head(Bucket::Staging, key).await? {
        None => Err(refused(services, ErrorCode::UploadIncomplete, format!("the {what} has not been uploaded yet"))),
        Some(info) if info.size == 0 => {
            Err(refused(services, ErrorCode::UploadIncomplete, format!("the uploaded {what} is empty")))
        }
        Some(info) if info.size > max_bytes => {
            discard(services, &[(Bucket::Staging, Some(key.to_owned()))]).await;
            Err(refused(
                services,
                ErrorCode::PayloadTooLarge,
                format!("the uploaded {what} is {} bytes; the limit is {max_bytes}", info.size),
            ))
        }
        Some(_) => Ok(()),
    }
}

/// What `ffprobe`/`ffmpeg` open for an object.
async fn tool_input(services: &Services, bucket: Bucket, key: &str) -> Result<String, ApiError> {
    let expires_at = services.clock.now() + 3600;
    Ok(services.objects.probe_input(bucket, key, expires_at).await?)
}

async fn probe_object(services: &Services, bucket: Bucket, key: &str) -> Result<(String, Probe), ApiError> {
    let input = tool_input(services, bucket, key).await?;
    let probed = media::probe(&services.settings.media, &input).await.map_err(|e| checker_unavailable(&e))?;
    Ok((input, probed))
}

/// A fresh suffix for final keys: a republished or concurrently published video
/// never reuses (and so never overwrites) a served key.
fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Decodes the preview (the uploaded image in staging, or the first frame of the
/// checked video copy when there is no image) and stores a new JPEG of it; returns
/// its key.
async fn make_preview(
    services: &Services,
    id: &str,
    bucket: Bucket,
    key: &str,
    nonce: &str,
) -> Result<String, ApiError> {
    let (input, probed) = probe_object(services, bucket, key).await?;
    let invalid = |why: String| {
        let message = format!("the preview must be a PNG, JPEG, WebP, GIF or BMP image that decodes ({why})");
        refused(services, ErrorCode::InvalidPreview, message)
    };
    if bucket == Bucket::Staging {
        media::image_check(&probed).map_err(invalid)?;
    }
    let jpeg = media::thumbnail(&services.settings.media, &input).await.map_err(|e| checker_unavailable(&e))?;
    let jpeg = jpeg.map_err(|why| invalid(format!("it does not decode: {why}")))?;
    let key = format!("{id}/{nonce}.{}", MediaType::Jpeg.extension());
    services.objects.put(Bucket::Previews, &key, jpeg).await?;
    Ok(key)
}

/// Copies the staged video to its final key and checks the copy (which nobody can
/// write to any more): same type as probed before copying, decodes at both ends.
/// Returns the key and the decoded duration. `copied` learns the key as soon as the
/// copy exists, so that a failure can remove it.
async fn make_video(
    services: &Services,
    id: &str,
    staged: &str,
    nonce: &str,
    copied: &mut Option<String>,
) -> Result<(String, i64), ApiError> {
    let not_a_video =
        |why: String| refused(services, ErrorCode::NotAVideo, format!("the video file is not usable: {why}"));
    let (_, probed) = probe_object(services, Bucket::Staging, staged).await?;
    let kind = media::video_type(&probed).map_err(not_a_video)?;
    let key = format!("{id}/{nonce}.{}", kind.extension());
    let copied_to = (Bucket::Videos, key.as_str());
    services.objects.copy((Bucket::Staging, staged), copied_to).await?;
    *copied = Some(key.clone());
    let (input, probed) = probe_object(services, Bucket::Videos, &key).await?;
    if media::video_type(&probed) != Ok(kind) {
        return Err(not_a_video("it changed while it was being checked; upload it again".into()));
    }
    let claimed = match probed {
        Probe::Media { claimed_seconds, .. } => claimed_seconds,
        Probe::Unreadable(_) => None,
    };
    match media::decode_check(&services.settings.media, &input, claimed).await.map_err(|e| checker_unavailable(&e))? {
        DecodeCheck::Plays { duration_ms } => Ok((key, duration_ms)),
        DecodeCheck::Broken(why) => Err(not_a_video(why)),
    }
}

/// Removes objects a failed or lost publish made (best effort: they are never served).
async fn discard(services: &Services, objects: &[(Bucket, Option<String>)]) {
    for (bucket, key) in objects {
        if let Some(key) = key
            && let Err(e) = services.objects.delete(*bucket, key).await
        {
            tracing::warn!(bucket = bucket.as_str(), %key, error = %e, "could not remove an unpublished object");
        }
    }
}

/// Makes `id` public if `user` owns it and both staged files are present and valid:
/// the server's own copies become the served media. Publishing a video that is
/// already public returns it unchanged.
pub async fn publish(services: &Services, user: &User, id: &str) -> Result<VideoView, ApiError> {
    let video = owned_video(services, user, id, "publish").await?;
    let (staged_video, staged_preview) = match &video.source {
        VideoSource::Staged { video_key, preview_key } => (video_key.clone(), preview_key.clone()),
        VideoSource::Stored { .. } => return video_view(services, &video).await,
        _ => return Err(ApiError::new(ErrorCode::Conflict, "only uploaded videos can be published")),
    };
    require_writable(services)?;
    let settings = &services.settings;
    let nonce = nonce();
    let mut video_copy = None;
    let mut preview_copy = None;
    let made = async {
        // The preview image is optional: without one, a frame of the video becomes it.
        let has_preview = services.objects.head(Bucket::Staging, &staged_preview).await?.is_some();
        if has_preview {
            require_object(services, &staged_preview, "preview image", settings.max_preview_bytes).await?;
        }
        require_object(services, &staged_video, "video file", settings.max_video_bytes).await?;
        let (video_key, duration_ms) = make_video(services, id, &staged_video, &nonce, &mut video_copy).await?;
        let preview_key = if has_preview {
            make_preview(services, id, Bucket::Staging, &staged_preview, &nonce).await?
        } else {
            make_preview(services, id, Bucket::Videos, &video_key, &nonce).await?
        };
        preview_copy = Some(preview_key.clone());
        Ok::<_, ApiError>(PublishedMedia { video_key, preview_key, duration_ms })
    }
    .await;
    let copies = [(Bucket::Videos, video_copy), (Bucket::Previews, preview_copy)];
    let media = match made {
        Ok(media) => media,
        Err(e) => {
            discard(services, &copies).await;
            // A concurrent publish of the same upload that finished first removes the
            // staged files from under this one: its result is the answer, not our error.
            return match published_meanwhile(services, id).await {
                Ok(Some(current)) => video_view(services, &current).await,
                _ => Err(e),
            };
        }
    };
    match services.meta.publish_video(id, &media, services.clock.now()).await {
        Ok(mut published) => {
            // Enqueueing marked the stored row processing; the answer says so too.
            if crate::transcode::enqueue(services, &published).await.is_some() {
                published.transcode = Some(Transcode { state: TranscodeState::Processing, hls: None });
            }
            discard(services, &[(Bucket::Staging, Some(staged_video)), (Bucket::Staging, Some(staged_preview))]).await;
            services.metrics.videos_published.inc();
            tracing::info!(video = %id, user = %user.username, duration_ms = media.duration_ms, "video published");
            video_view(services, &published).await
        }
        Err(StoreError::NotFound) => {
            // Another request published it first (or it was deleted): ours are surplus.
            discard(services, &copies).await;
            match published_meanwhile(services, id).await? {
                Some(current) => video_view(services, &current).await,
                None => Err(ApiError::not_found("video")),
            }
        }
        Err(e) => {
            discard(services, &copies).await;
            Err(e.into())
        }
    }
}

/// Video `id` if it is published now (by a concurrent request for the same upload).
async fn published_meanwhile(services: &Services, id: &str) -> Result<Option<Video>, ApiError> {
    let current = services.meta.video(id).await?;
    Ok(current.filter(|video| matches!(video.source, VideoSource::Stored { .. })))
}

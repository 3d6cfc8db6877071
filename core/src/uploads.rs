//! Creating an upload (a private video plus two presigned PUT URLs) and publishing it
//! once its files are in the store and check out.
//!
//! Lifecycle of a stored video:
//!
//! ```text
//! create_upload ──▶ private, files absent ──PUT×2──▶ private, files present
//!       ──publish (exists, non-empty, ffprobe says video / image)──▶ public
//! ```

use myvid_store::meta::{User, VideoSource, Visibility};
use myvid_store::objects::Bucket;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::limits::{self, MAX_FILENAME_CHARS};
use crate::new_video::{Details, create_private};
use crate::probe::{Probe, probe};
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
    /// The preview image's file name (its extension is kept).
    #[schema(schema_with = crate::text_schema::filename)]
    pub preview_filename: String,
    /// The video's file name (its extension is kept).
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
    /// Presigned PUT URL for the video file.
    pub video_upload_url: String,
}

/// The lower-case extension of a file name if it is 1–8 ASCII letters or digits,
/// else `bin`. Keeps the served `Content-Type` right without trusting the name.
fn extension(filename: &str) -> String {
    match filename.rsplit_once('.') {
        Some((_, ext)) if (1..=8).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            ext.to_ascii_lowercase()
        }
        _ => "bin".to_owned(),
    }
}

/// Creates a private video owned by `user` and presigned URLs for its two files.
pub async fn create_upload(services: &Services, user: &User, req: UploadRequest) -> Result<UploadGrant, ApiError> {
    let details = Details::check(&req.title, &req.description)?;
    let preview_name = limits::text("preview_filename", &req.preview_filename, MAX_FILENAME_CHARS, true, false)?;
    let video_name = limits::text("video_filename", &req.video_filename, MAX_FILENAME_CHARS, true, false)?;
    let now = services.clock.now();
    let video = create_private(services, user, &details, |id| VideoSource::Stored {
        video_key: format!("{id}/video.{}", extension(&video_name)),
        preview_key: format!("{id}/preview.{}", extension(&preview_name)),
    })
    .await?;
    let VideoSource::Stored { video_key, preview_key } = &video.source else {
        return Err(ApiError::internal("a new upload was stored without object keys"));
    };
    let expires_at = now + services.settings.url_ttl_secs;
    let settings = &services.settings;
    let grant = UploadGrant {
        id: video.id.clone(),
        preview_upload_url: services
            .objects
            .presign_put(Bucket::Previews, preview_key, settings.max_preview_bytes, expires_at)
            .await?,
        video_upload_url: services
            .objects
            .presign_put(Bucket::Videos, video_key, settings.max_video_bytes, expires_at)
            .await?,
    };
    services.metrics.uploads_created.inc();
    tracing::info!(video = %video.id, user = %user.username, "upload created");
    Ok(grant)
}

fn refused(services: &Services, code: ErrorCode, message: String) -> ApiError {
    services.metrics.publish_refused.inc();
    ApiError::new(code, message)
}

/// Checks that an object exists and is non-empty.
async fn require_object(services: &Services, bucket: Bucket, key: &str, what: &str) -> Result<(), ApiError> {
    match services.objects.head(bucket, key).await? {
        None => Err(refused(services, ErrorCode::UploadIncomplete, format!("the {what} has not been uploaded yet"))),
        Some(info) if info.size == 0 => {
            Err(refused(services, ErrorCode::UploadIncomplete, format!("the uploaded {what} is empty")))
        }
        Some(_) => Ok(()),
    }
}

async fn probe_object(services: &Services, bucket: Bucket, key: &str) -> Result<Probe, ApiError> {
    let expires_at = services.clock.now() + 3600;
    let input = services.objects.probe_input(bucket, key, expires_at).await?;
    let settings = &services.settings;
    probe(&settings.ffprobe, &input, settings.probe_timeout).await.map_err(|e| {
        tracing::error!(error = %e, "ffprobe failed");
        ApiError::new(ErrorCode::Unavailable, "the video checker is unavailable right now; try publishing again later")
    })
}

/// Makes `id` public if `user` owns it and both files are present and valid.
/// Publishing a video that is already public returns it unchanged.
pub async fn publish(services: &Services, user: &User, id: &str) -> Result<VideoView, ApiError> {
    let video = services.meta.video(id).await?.ok_or_else(|| ApiError::not_found("video"))?;
    if video.owner_id != Some(user.id) {
        // Do not reveal that someone else's private video exists.
        return Err(match video.visibility {
            Visibility::Private => ApiError::not_found("video"),
            Visibility::Public => ApiError::new(ErrorCode::Forbidden, "only the owner can publish this video"),
        });
    }
    let VideoSource::Stored { video_key, preview_key } = &video.source else {
        return Err(ApiError::new(ErrorCode::Conflict, "only uploaded videos can be published"));
    };
    if video.visibility == Visibility::Public {
        return video_view(services, &video).await;
    }
    require_object(services, Bucket::Previews, preview_key, "preview image").await?;
    require_object(services, Bucket::Videos, video_key, "video file").await?;
    let duration_ms = match probe_object(services, Bucket::Videos, video_key).await? {
        Probe::Video { duration_ms } => duration_ms,
        Probe::Image => {
            return Err(refused(services, ErrorCode::NotAVideo, "the video file is a still image, not a video".into()));
        }
        Probe::Unrecognised(why) => {
            return Err(refused(
                services,
                ErrorCode::NotAVideo,
                format!("the video file is not a playable video: {why}"),
            ));
        }
    };
    match probe_object(services, Bucket::Previews, preview_key).await? {
        Probe::Image | Probe::Video { .. } => {}
        Probe::Unrecognised(why) => {
            return Err(refused(services, ErrorCode::InvalidPreview, format!("the preview is not an image: {why}")));
        }
    }
    let published = services.meta.publish_video(id, Some(duration_ms), services.clock.now()).await?;
    services.metrics.videos_published.inc();
    tracing::info!(video = %id, user = %user.username, duration_ms, "video published");
    video_view(services, &published).await
}

#[cfg(test)]
mod tests {
    use super::extension;

    #[test]
    fn extensions_are_sanitised() {
        assert_eq!(extension("Clip.WebM"), "webm");
        assert_eq!(extension("a.tar.gz"), "gz");
        assert_eq!(extension("noext"), "bin");
        assert_eq!(extension("evil.we/bm"), "bin");
        assert_eq!(extension("x.toolongext"), "bin");
        assert_eq!(extension("x."), "bin");
    }
}

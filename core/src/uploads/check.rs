//! `POST /v1/uploads/{id}/check`: whether a staged video file is one MyVid can play,
//! asked as soon as it is uploaded, so that the upload page can say "this file isn't a
//! video we can play" before the user presses Publish.
//!
//! Advisory: the staged object stays writable through its upload URL until that
//! expires, so publishing checks its own immutable copy again.

use myvid_store::meta::VideoSource;
use myvid_store::objects::Bucket;
use serde::Serialize;

use super::{checker_unavailable, owned_video, probe_object};
use crate::error::{ApiError, ErrorCode};
use crate::media::{self, DecodeCheck, Probe};
use crate::services::Services;
use myvid_store::meta::User;

/// What the check found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadCheck {
    /// Whether the file is a video MyVid plays and transcodes.
    pub playable: bool,
    /// Why not, in words for the uploader (when `playable` is false).
    pub reason: Option<String>,
    /// Picture width in pixels, when it is a video.
    pub width: Option<u64>,
    /// Picture height in pixels, when it is a video.
    pub height: Option<u64>,
    /// Length in seconds, measured by decoding, when playable.
    pub duration_seconds: Option<f64>,
    /// Whether it has sound, when it is a video.
    pub has_audio: Option<bool>,
}

impl UploadCheck {
    fn refused(reason: String) -> UploadCheck {
        UploadCheck {
            playable: false,
            reason: Some(reason),
            width: None,
            height: None,
            duration_seconds: None,
            has_audio: None,
        }
    }
}

/// Checks the staged video file of `user`'s upload `id`: `upload_incomplete` until it
/// is uploaded, `conflict` once published.
pub async fn check_upload(services: &Services, user: &User, id: &str) -> Result<UploadCheck, ApiError> {
    let video = owned_video(services, user, id, "check").await?;
    let VideoSource::Staged { video_key, .. } = &video.source else {
        return Err(ApiError::new(ErrorCode::Conflict, "only an unpublished upload can be checked"));
    };
    match services.objects.head(Bucket::Staging, video_key).await? {
        Some(info) if info.size > 0 => {}
        _ => return Err(ApiError::new(ErrorCode::UploadIncomplete, "the video file has not been uploaded yet")),
    }
    let (input, probed) = probe_object(services, Bucket::Staging, video_key).await?;
    if let Err(why) = media::video_type(&probed) {
        return Ok(UploadCheck::refused(why));
    }
    let (stream, has_audio, claimed) = match &probed {
        Probe::Media { video: Some(stream), has_audio, claimed_seconds, .. } => (stream, *has_audio, *claimed_seconds),
        _ => return Ok(UploadCheck::refused("the file has no video stream".into())),
    };
    let decoded =
        media::decode_check(&services.settings.media, &input, claimed).await.map_err(|e| checker_unavailable(&e))?;
    Ok(match decoded {
        DecodeCheck::Plays { duration_ms } => UploadCheck {
            playable: true,
            reason: None,
            width: Some(stream.width),
            height: Some(stream.height),
            // Milliseconds: f64 holds any real length exactly.
            #[allow(clippy::cast_precision_loss)]
            duration_seconds: Some(duration_ms as f64 / 1000.0),
            has_audio: Some(has_audio),
        },
        DecodeCheck::Broken(why) => UploadCheck::refused(why),
    })
}

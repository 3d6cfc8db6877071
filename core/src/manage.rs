//! An owner managing their videos: editing the title, description and visibility, and
//! deleting a video (its row at once; its objects by a purge job, see [`crate::purge`]).

use myvid_store::StoreError;
use myvid_store::meta::{NewPurge, User, VideoChange, Visibility};
use serde::Deserialize;

use crate::error::{ApiError, ErrorCode};
use crate::limits::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::services::Services;
use crate::uploads::owned_video;
use crate::view::{VideoView, video_view};

/// `PATCH /v1/videos/{id}` body: what to change (absent or `null`: unchanged).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoEdit {
    /// A new title: 1–200 characters once trimmed.
    #[serde(default)]
    #[schema(schema_with = crate::text_schema::title_or_null)]
    pub title: Option<String>,
    /// A new description: up to 5,000 characters.
    #[serde(default)]
    #[schema(schema_with = crate::text_schema::description_or_null)]
    pub description: Option<String>,
    /// Who may watch it: `public` (listed), `unlisted` (anyone with the link, never
    /// listed) or `private` (only you). Uploads change it once published; a live
    /// stream's follows its broadcast.
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

impl VideoEdit {
    /// The checked change.
    fn check(self) -> Result<VideoChange, ApiError> {
        Ok(VideoChange {
            title: self.title.map(|t| limits::text("title", &t, MAX_TITLE_CHARS, true, false)).transpose()?,
            description: self
                .description
                .map(|d| limits::text("description", &d, MAX_DESCRIPTION_CHARS, false, true))
                .transpose()?,
            visibility: self.visibility,
        })
    }
}

/// Applies `edit` to video `id` of `user` and returns it as it is now.
pub async fn edit_video(services: &Services, user: &User, id: &str, edit: VideoEdit) -> Result<VideoView, ApiError> {
    let change = edit.check()?;
    let current = owned_video(services, user, id, "edit").await?;
    if change.is_empty() {
        return video_view(services, &current).await;
    }
    match services.meta.update_video(id, user.id, &change, services.clock.now()).await {
        Ok(video) => {
            tracing::info!(video = %id, user = %user.username, "video edited");
            video_view(services, &video).await
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("video")),
        Err(StoreError::Conflict(_)) => Err(ApiError::new(
            ErrorCode::Conflict,
            "This video's visibility cannot change now: an upload becomes visible when it is published, \
             and a live stream while it is live.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Deletes video `id` of `user`: gone from listings, search and its link at once; its
/// objects are deleted by a purge job shortly after.
pub async fn delete_video(services: &Services, user: &User, id: &str) -> Result<(), ApiError> {
    owned_video(services, user, id, "delete").await?;
    let now = services.clock.now();
    let purge = NewPurge {
        id: crate::transcode::new_job_id(),
        max_attempts: services.settings.transcode_max_attempts,
        run_after: now + services.settings.purge_delay_secs,
        created_at: now,
    };
    match services.meta.delete_video(id, user.id, &purge).await {
        Ok(()) => {
            services.metrics.videos_deleted.inc();
            tracing::info!(video = %id, user = %user.username, purge = %purge.id, "video deleted");
            Ok(())
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("video")),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::new(ErrorCode::Conflict, "This stream is live: end the broadcast before deleting it."))
        }
        Err(e) => Err(e.into()),
    }
}

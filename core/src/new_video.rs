//! What creating any user's video record shares, uploads and live streams alike: the
//! title and description checks, and insertion under a fresh random id.

use myvid_store::StoreError;
use myvid_store::meta::{NewVideo, User, Video, VideoSource, Visibility};

use crate::error::ApiError;
use crate::ids::new_video_id;
use crate::limits::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::services::Services;

/// A checked title and description.
#[derive(Debug, Clone)]
pub struct Details {
    /// 1–200 characters, trimmed.
    pub title: String,
    /// Up to 5,000 characters, trimmed.
    pub description: String,
}

impl Details {
    /// Checks a title and description from a request.
    pub fn check(title: &str, description: &str) -> Result<Details, ApiError> {
        Ok(Details {
            title: limits::text("title", title, MAX_TITLE_CHARS, true, false)?,
            description: limits::text("description", description, MAX_DESCRIPTION_CHARS, false, true)?,
        })
    }
}

/// How often a clashing random id is redrawn. A clash of 71-bit ids is vanishingly
/// rare; retrying at all only guards against a broken random source.
const ID_ATTEMPTS: usize = 4;

/// Inserts a private video owned by `user`, whose media `source` may depend on its id,
/// under a fresh random id.
pub async fn create_private(
    services: &Services,
    user: &User,
    details: &Details,
    source: impl Fn(&str) -> VideoSource,
) -> Result<Video, ApiError> {
    let now = services.clock.now();
    let mut last = None;
    for _ in 0..ID_ATTEMPTS {
        let id = new_video_id();
        let new = NewVideo {
            source: source(&id),
            id,
            owner_id: Some(user.id),
            title: details.title.clone(),
            description: details.description.clone(),
            visibility: Visibility::Private,
            duration_ms: None,
            created_at: now,
        };
        match services.meta.create_video(new).await {
            Ok(video) => return Ok(video),
            Err(StoreError::Conflict(what)) => last = Some(what),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::internal(format!("{ID_ATTEMPTS} random video ids clashed on {}", last.unwrap_or_default())))
}

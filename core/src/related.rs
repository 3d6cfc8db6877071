//! "Up next": videos related to one, from what its viewers also watched (co-watch),
//! then from its words and hashtags (search), then what is popular; each says why.

use myvid_store::meta::Video;
use serde::Serialize;

use crate::error::ApiError;
use crate::services::Services;
use crate::view::{VideoView, video_view, visible_video_record};

/// Why a video is suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Viewers of this video also watched it (at least twice).
    WatchedTogether,
    /// It shares words or hashtags with this video.
    Similar,
    /// It is among the most watched.
    Popular,
}

/// One suggestion.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelatedVideo {
    /// Why it is suggested.
    pub reason: Reason,
    /// The video.
    pub video: VideoView,
}

/// Most suggestions asked for at once.
pub const MAX_RELATED: u32 = 24;

/// Times two videos must have been watched together to be suggested for it.
const MIN_CO_VIEWS: u32 = 2;

/// Most search terms taken from a video.
const MAX_TERMS: usize = 16;

/// The suggestions of `lists` (in order of preference) for video `id`: each video
/// once, never `id` itself, at most `limit`.
pub fn merge(id: &str, lists: Vec<(Reason, Vec<Video>)>, limit: usize) -> Vec<(Reason, Video)> {
    let mut out: Vec<(Reason, Video)> = Vec::new();
    for (reason, videos) in lists {
        for video in videos {
            if out.len() == limit {
                return out;
            }
            if video.id != id && !out.iter().any(|(_, kept)| kept.id == video.id) {
                out.push((reason, video));
            }
        }
    }
    out
}

/// The words a video is searched for: its title's words and its hashtags.
pub fn terms(video: &Video) -> String {
    let mut terms: Vec<String> = Vec::new();
    let words = video.title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() > 2);
    for word in words.map(str::to_lowercase).chain(crate::tags::hashtags(&video.title, &video.description)) {
        if terms.len() < MAX_TERMS && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms.join(" ")
}

/// Up to `limit` suggestions for video `id`, which `viewer` must be allowed to see.
pub async fn related(
    services: &Services,
    viewer: Option<i64>,
    id: &str,
    limit: u32,
) -> Result<Vec<RelatedVideo>, ApiError> {
    let video = visible_video_record(services, viewer, id).await?;
    let limit = limit.clamp(1, MAX_RELATED);
    let together = services.meta.co_watched(id, MIN_CO_VIEWS, limit).await?;
    let similar = match terms(&video) {
        words if words.is_empty() => Vec::new(),
        words => services.meta.search_public(&words, limit + 1, None).await?.items,
    };
    let popular = services.meta.list_popular(limit + 1, None).await?.items;
    let lists = vec![(Reason::WatchedTogether, together), (Reason::Similar, similar), (Reason::Popular, popular)];
    let mut out = Vec::new();
    for (reason, video) in merge(id, lists, limit as usize) {
        out.push(RelatedVideo { reason, video: video_view(services, &video).await? });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use myvid_store::meta::{VideoSource, Visibility};

    use super::*;

    fn video(id: &str, title: &str) -> Video {
        Video {
            id: id.into(),
            seq: 1,
            owner_id: None,
            owner_name: None,
            title: title.into(),
            description: "#Cooking at home".into(),
            source: VideoSource::External { url: "https://x.example/v.mp4".into(), preview_url: None },
            visibility: Visibility::Public,
            duration_ms: None,
            created_at: 0,
            published_at: Some(0),
            transcode: None,
            views: 0,
        }
    }

    #[test]
    fn merge_keeps_order_drops_repeats_and_itself() {
        let lists = vec![
            (Reason::WatchedTogether, vec![video("b", ""), video("a", "")]),
            (Reason::Similar, vec![video("c", ""), video("b", "")]),
            (Reason::Popular, vec![video("d", ""), video("e", "")]),
        ];
        let merged: Vec<(Reason, String)> = merge("a", lists, 4).into_iter().map(|(r, v)| (r, v.id)).collect();
        assert_eq!(
            merged,
            vec![
                (Reason::WatchedTogether, "b".into()),
                (Reason::Similar, "c".into()),
                (Reason::Popular, "d".into()),
                (Reason::Popular, "e".into()),
            ]
        );
        assert!(merge("a", vec![(Reason::Popular, vec![video("a", "")])], 5).is_empty());
    }

    #[test]
    fn terms_are_title_words_and_hashtags() {
        assert_eq!(terms(&video("a", "Pasta at the Harbour: pasta!")), "pasta the harbour cooking");
    }
}

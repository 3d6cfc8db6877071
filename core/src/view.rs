//! The JSON shape of a video, shared by the original API and `/v1`.

use myvid_store::meta::{LiveState, TranscodeState, Video, VideoSource, Visibility};
use myvid_store::objects::Bucket;
use serde::Serialize;

use crate::error::ApiError;
use crate::live::{IceServer, ice_servers_at, stream_urls};
use crate::services::Services;

/// A video as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VideoView {
    /// Public id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// How to play it: `HTTP` (fetch `url`) or `WebRTC` (a live stream: open `ws_url`
    /// and send `join`, or use `whep_url`).
    #[serde(rename = "type")]
    #[schema(value_type = String, pattern = "^(HTTP|WebRTC)$")]
    pub kind: &'static str,
    /// Where to fetch the media; for stored videos a signed URL that expires; for live
    /// streams the signalling WebSocket.
    pub url: String,
    /// A preview image, if there is one (signed for stored videos).
    pub preview_url: Option<String>,
    /// The uploader's username (`null` for imported entries).
    pub owner: Option<String>,
    /// The uploader's channel page, `/c/{username}` (`null` for imported entries).
    pub owner_url: Option<String>,
    /// `public` (listed), `unlisted` (anyone with the link; never listed) or `private`
    /// (only its owner).
    pub visibility: Visibility,
    /// The `#hashtags` of its title and description, lowercased (at most 10).
    pub tags: Vec<String>,
    /// `MYVID` for videos stored by us, `HTTP` for external ones, `LIVE` for streams.
    #[schema(value_type = String, pattern = "^(MYVID|HTTP|LIVE)$")]
    pub source: &'static str,
    /// Live streams: `pending`, `live` or `ended`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_state: Option<LiveState>,
    /// Live streams: the signalling WebSocket to join (on the least loaded endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
    /// Live streams: the signalling WebSocket on every live endpoint, least loaded
    /// first (`ws_url` is the first): where to reconnect when one goes away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_urls: Option<Vec<String>>,
    /// Live streams: the WHEP URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whep_url: Option<String>,
    /// Live streams: STUN/TURN servers for the viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_servers: Option<Vec<IceServer>>,
    /// Live streams: whether it is recorded (once it ends, its recording becomes the
    /// video at this id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<bool>,
    /// Stored videos: `processing` (the original plays meanwhile), `ready` (adaptive
    /// HLS at `hls_url`) or `failed` (the original plays).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcode: Option<TranscodeState>,
    /// Stored videos once ready: the HLS master playlist (fMP4 renditions), a signed
    /// URL that expires like `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hls_url: Option<String>,
    /// Length in seconds, when known.
    pub duration_seconds: Option<f64>,
    /// Unix seconds at creation.
    pub created_at: i64,
    /// Unix seconds at publication.
    pub published_at: Option<i64>,
    /// Views counted (once per viewer per hour; counts arrive in batches, within
    /// seconds).
    pub views: u64,
}

/// Builds the client view, signing media URLs that expire after the configured TTL.
pub async fn video_view(services: &Services, video: &Video) -> Result<VideoView, ApiError> {
    let expires_at = services.clock.now() + services.settings.url_ttl_secs;
    let mut view = VideoView {
        id: video.id.clone(),
        title: video.title.clone(),
        description: video.description.clone(),
        kind: "HTTP",
        url: String::new(),
        preview_url: None,
        owner: video.owner_name.clone(),
        owner_url: video.owner_name.as_deref().map(channel_url),
        visibility: video.visibility,
        tags: crate::tags::hashtags(&video.title, &video.description),
        source: "HTTP",
        live_state: None,
        ws_url: None,
        ws_urls: None,
        whep_url: None,
        ice_servers: None,
        record: None,
        transcode: None,
        hls_url: None,
        // Millisecond precision is all we store; f64 holds it exactly for any real length.
        #[allow(clippy::cast_precision_loss)]
        duration_seconds: video.duration_ms.map(|ms| ms as f64 / 1000.0),
        created_at: video.created_at,
        published_at: video.published_at,
        views: video.views,
    };
    match &video.source {
        VideoSource::Stored { video_key, preview_key } => {
            view.source = "MYVID";
            view.url = services.objects.presign_get(Bucket::Videos, video_key, expires_at).await?;
            view.preview_url = Some(services.objects.presign_get(Bucket::Previews, preview_key, expires_at).await?);
            view.transcode = video.transcode.as_ref().map(|t| t.state);
            if video.transcode.as_ref().is_some_and(|t| t.state == TranscodeState::Ready && t.hls.is_some()) {
                view.hls_url = Some(crate::playback::master_url(services, &video.id));
            }
        }
        // Staged files are never served, not even to their owner: there is nothing to
        // play until the video is published.
        VideoSource::Staged { .. } => view.source = "MYVID",
        VideoSource::External { url, preview_url } => {
            view.url.clone_from(url);
            view.preview_url.clone_from(preview_url);
        }
        VideoSource::Live { state, record } => {
            let endpoints = crate::registry::live_endpoints(services).await?;
            let urls = stream_urls(endpoints.first(), &video.id);
            view.kind = "WebRTC";
            view.source = "LIVE";
            view.url.clone_from(&urls.ws_url);
            view.live_state = Some(*state);
            view.record = Some(*record);
            view.ws_url = Some(urls.ws_url);
            view.ws_urls = Some(endpoints.urls.iter().map(|e| stream_urls(e, &video.id).ws_url).collect());
            view.whep_url = Some(urls.whep_url);
            // Viewers of a listing are not known here: each gets an anonymous TURN user.
            let now = services.clock.now();
            view.ice_servers = Some(ice_servers_at(&services.settings, endpoints.turn.as_deref(), None, now));
        }
    }
    Ok(view)
}

/// Views for a list of videos, in order.
pub async fn video_views(services: &Services, videos: &[Video]) -> Result<Vec<VideoView>, ApiError> {
    let mut out = Vec::with_capacity(videos.len());
    for video in videos {
        out.push(video_view(services, video).await?);
    }
    Ok(out)
}

/// Whether `viewer` (a user id, if logged in) may see `video`: anyone a public or
/// unlisted one (by its link), only its owner a private one.
pub fn may_view(video: &Video, viewer: Option<i64>) -> bool {
    video.visibility.by_link() || (viewer.is_some() && video.owner_id == viewer)
}

/// The view of video `id` if `viewer` may see it; `not_found` otherwise, so that a
/// private video's existence is not revealed.
pub async fn visible_video(services: &Services, viewer: Option<i64>, id: &str) -> Result<VideoView, ApiError> {
    video_view(services, &visible_video_record(services, viewer, id).await?).await
}

/// Video `id` if `viewer` may see it; `not_found` otherwise.
pub async fn visible_video_record(services: &Services, viewer: Option<i64>, id: &str) -> Result<Video, ApiError> {
    match services.meta.video(id).await? {
        Some(video) if may_view(&video, viewer) => Ok(video),
        _ => Err(ApiError::not_found("video")),
    }
}

/// The path of `username`'s channel page.
pub fn channel_url(username: &str) -> String {
    format!("/c/{username}")
}

//! How a [`Video`] maps to the columns of a `videos` row, the same for every SQL
//! backend: the source is spread over `source`, the key/URL columns, `live_state` and
//! `media_staged`; visibility and live states are stored by their names.

use super::{HlsMedia, LiveState, NewVideo, Transcode, TranscodeState, Video, VideoSource, Visibility};

/// The columns a video row reads, from [`VIDEO_FROM`] (`videos v` and [`VIDEO_JOINS`]).
pub(crate) const VIDEO_COLUMNS: &str = "v.seq, v.id, v.owner_id, u.username, v.title, v.description, \
     v.source, v.video_key, v.preview_key, v.external_url, v.external_preview_url, \
     v.visibility, v.duration_ms, v.created_at, v.published_at, v.live_state, v.media_staged, v.live_record, \
     v.transcode_state, v.hls_key, v.hls_renditions, v.unlisted, COALESCE(s.views, 0)";

/// The joins [`VIDEO_COLUMNS`] needs after `videos v`.
pub(crate) const VIDEO_JOINS: &str =
    "LEFT JOIN users u ON u.id = v.owner_id LEFT JOIN video_stats s ON s.video_id = v.id";

/// The `FROM` clause that goes with [`VIDEO_COLUMNS`].
pub(crate) const VIDEO_FROM: &str =
    "videos v LEFT JOIN users u ON u.id = v.owner_id LEFT JOIN video_stats s ON s.video_id = v.id";

/// The columns a user row reads, from `users u`.
pub(crate) const USER_COLUMNS: &str = "u.id, u.username, u.email, u.created_at";

/// A `videos` row (joined with its owner's name) as read from any backend.
#[derive(Debug, Clone)]
pub(crate) struct VideoColumns {
    pub seq: i64,
    pub id: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub title: String,
    pub description: String,
    pub source: String,
    pub video_key: Option<String>,
    pub preview_key: Option<String>,
    pub external_url: Option<String>,
    pub external_preview_url: Option<String>,
    pub visibility: String,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub published_at: Option<i64>,
    pub live_state: Option<String>,
    pub media_staged: bool,
    pub live_record: bool,
    pub transcode_state: Option<String>,
    pub hls_key: Option<String>,
    pub hls_renditions: Option<String>,
    pub unlisted: bool,
    pub views: i64,
}

impl VideoColumns {
    /// The video, or a description of the value the schema does not allow.
    pub fn into_video(self) -> Result<Video, String> {
        let required = |value: Option<String>, column: &str| value.ok_or_else(|| format!("{column} is NULL"));
        let source = match self.source.as_str() {
            "MYVID" => {
                let video_key = required(self.video_key, "video_key")?;
                let preview_key = required(self.preview_key, "preview_key")?;
                if self.media_staged {
                    VideoSource::Staged { video_key, preview_key }
                } else {
                    VideoSource::Stored { video_key, preview_key }
                }
            }
            "HTTP" => VideoSource::External {
                url: required(self.external_url, "external_url")?,
                preview_url: self.external_preview_url,
            },
            "LIVE" => {
                let state = required(self.live_state, "live_state")?;
                let state = live_state(&state).ok_or_else(|| format!("unknown live state {state:?}"))?;
                VideoSource::Live { state, record: self.live_record }
            }
            other => return Err(format!("unknown video source {other:?}")),
        };
        let visibility = match (self.visibility.as_str(), self.unlisted) {
            ("private", false) => Visibility::Private,
            ("private", true) => Visibility::Unlisted,
            ("public", false) => Visibility::Public,
            (other, unlisted) => return Err(format!("unknown visibility {other:?} (unlisted: {unlisted})")),
        };
        let transcode = match self.transcode_state.as_deref() {
            None => None,
            Some(text) => {
                let state = TranscodeState::parse(text).ok_or_else(|| format!("unknown transcode state {text:?}"))?;
                let hls = match (self.hls_key, self.hls_renditions) {
                    (Some(prefix), Some(renditions)) => {
                        let renditions = serde_json::from_str(&renditions)
                            .map_err(|e| format!("hls_renditions is not a rendition list: {e}"))?;
                        Some(HlsMedia { prefix, renditions })
                    }
                    _ => None,
                };
                Some(Transcode { state, hls })
            }
        };
        Ok(Video {
            transcode,
            seq: self.seq,
            id: self.id,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            title: self.title,
            description: self.description,
            source,
            visibility,
            duration_ms: self.duration_ms,
            created_at: self.created_at,
            published_at: self.published_at,
            views: u64::try_from(self.views).unwrap_or(0),
        })
    }
}

/// A `live_state` column's value.
pub(crate) fn live_state(text: &str) -> Option<LiveState> {
    match text {
        "pending" => Some(LiveState::Pending),
        "live" => Some(LiveState::Live),
        "ended" => Some(LiveState::Ended),
        _ => None,
    }
}

/// The column values of a new video, borrowed from it, in the order of
/// [`NEW_VIDEO_COLUMNS`].
pub(crate) struct NewVideoColumns<'a> {
    /// The record.
    pub video: &'a NewVideo,
    /// `MYVID`, `HTTP` or `LIVE`.
    pub source: &'static str,
    /// `private` or `public`.
    pub visibility: &'static str,
    /// Private but watchable by link.
    pub unlisted: bool,
    /// Keys of stored media.
    pub keys: (Option<&'a str>, Option<&'a str>),
    /// URLs of external media.
    pub urls: (Option<&'a str>, Option<&'a str>),
    /// Set to the creation time for videos created public.
    pub published_at: Option<i64>,
    /// `pending`, `live` or `ended` for live streams.
    pub live_state: Option<&'static str>,
    /// Whether stored media still sits under staging keys.
    pub staged: bool,
    /// Whether a live stream is recorded (true for every other source).
    pub record: bool,
}

/// The columns a new video is inserted with (after `seq`, which backends assign).
pub(crate) const NEW_VIDEO_COLUMNS: &str = "id, owner_id, title, description, source, video_key, preview_key, \
     external_url, external_preview_url, visibility, duration_ms, created_at, published_at, live_state, media_staged, \
     live_record, unlisted";

impl<'a> NewVideoColumns<'a> {
    /// The values to insert for `video`.
    pub fn of(video: &'a NewVideo) -> Self {
        let staged = matches!(video.source, VideoSource::Staged { .. });
        let (source, keys, urls, live_state) = match &video.source {
            VideoSource::Stored { video_key, preview_key } | VideoSource::Staged { video_key, preview_key } => {
                ("MYVID", (Some(video_key.as_str()), Some(preview_key.as_str())), (None, None), None)
            }
            VideoSource::External { url, preview_url } => {
                ("HTTP", (None, None), (Some(url.as_str()), preview_url.as_deref()), None)
            }
            VideoSource::Live { state, .. } => ("LIVE", (None, None), (None, None), Some(state.as_str())),
        };
        let published_at = video.visibility.by_link().then_some(video.created_at);
        let record = !matches!(video.source, VideoSource::Live { record: false, .. });
        let (visibility, unlisted) = video.visibility.stored();
        NewVideoColumns { video, source, visibility, unlisted, keys, urls, published_at, live_state, staged, record }
    }
}

/// Which videos a newest-first listing holds (the same on every SQL backend).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listing {
    /// Every public video.
    Public,
    /// One owner's videos, private ones too.
    Owner(i64),
    /// One owner's public videos (their channel).
    OwnerPublic(i64),
    /// One owner's streams being broadcast now.
    OwnerLive(i64),
    /// Streams being broadcast now.
    Live,
}

impl Listing {
    /// The `WHERE` condition over `videos v`, naming the owner by `placeholder` (the
    /// backend's spelling of the first parameter), and the owner to bind there.
    pub fn condition(self, placeholder: &str) -> (String, Option<i64>) {
        const LIVE: &str = "v.live_state = 'live' AND v.visibility = 'public'";
        match self {
            Listing::Public => ("v.visibility = 'public'".to_owned(), None),
            Listing::Owner(owner) => (format!("v.owner_id = {placeholder}"), Some(owner)),
            Listing::OwnerPublic(owner) => {
                (format!("v.owner_id = {placeholder} AND v.visibility = 'public'"), Some(owner))
            }
            Listing::OwnerLive(owner) => (format!("v.owner_id = {placeholder} AND {LIVE}"), Some(owner)),
            Listing::Live => (LIVE.to_owned(), None),
        }
    }
}

/// Where an offset-paged listing starts (a token of the other kind starts at 0).
pub(crate) fn offset_of(start: Option<super::PageToken>) -> u32 {
    match start {
        Some(super::PageToken::Offset(offset)) => offset,
        _ => 0,
    }
}

//! Conversions between rows and the [`MetaStore`](crate::MetaStore) types.

use rusqlite::types::Type;
use rusqlite::{Row, ToSql};

use crate::meta::{LiveState, NewVideo, User, Video, VideoSource, Visibility};

/// The columns [`video`] reads, for `videos v LEFT JOIN users u ON u.id = v.owner_id`.
pub(super) const VIDEO_COLUMNS: &str = "v.seq, v.id, v.owner_id, u.username, v.title, v.description, \
     v.source, v.video_key, v.preview_key, v.external_url, v.external_preview_url, \
     v.visibility, v.duration_ms, v.created_at, v.published_at, v.live_state, v.media_staged";

/// The `FROM` clause that goes with [`VIDEO_COLUMNS`].
pub(super) const VIDEO_FROM: &str = "videos v LEFT JOIN users u ON u.id = v.owner_id";

/// The columns [`user`] reads, from `users u`.
pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.email, u.created_at";

/// A user from [`USER_COLUMNS`] starting at column 0.
pub(super) fn user(row: &Row) -> rusqlite::Result<User> {
    Ok(User { id: row.get(0)?, username: row.get(1)?, email: row.get(2)?, created_at: row.get(3)? })
}

/// A video from [`VIDEO_COLUMNS`].
pub(super) fn video(row: &Row) -> rusqlite::Result<Video> {
    let source: String = row.get(6)?;
    let source = match source.as_str() {
        "MYVID" if row.get::<_, bool>(16)? => VideoSource::Staged { video_key: row.get(7)?, preview_key: row.get(8)? },
        "MYVID" => VideoSource::Stored { video_key: row.get(7)?, preview_key: row.get(8)? },
        "HTTP" => VideoSource::External { url: row.get(9)?, preview_url: row.get(10)? },
        "LIVE" => {
            let state: String = row.get(15)?;
            let state = live_state(&state).ok_or_else(|| bad_value(15, format!("unknown live state {state:?}")))?;
            VideoSource::Live { state }
        }
        other => return Err(bad_value(6, format!("unknown video source {other:?}"))),
    };
    let visibility: String = row.get(11)?;
    let visibility = match visibility.as_str() {
        "private" => Visibility::Private,
        "public" => Visibility::Public,
        other => return Err(bad_value(11, format!("unknown visibility {other:?}"))),
    };
    Ok(Video {
        seq: row.get(0)?,
        id: row.get(1)?,
        owner_id: row.get(2)?,
        owner_name: row.get(3)?,
        title: row.get(4)?,
        description: row.get(5)?,
        source,
        visibility,
        duration_ms: row.get(12)?,
        created_at: row.get(13)?,
        published_at: row.get(14)?,
    })
}

/// A `live_state` column's value.
pub(super) fn live_state(text: &str) -> Option<LiveState> {
    match text {
        "pending" => Some(LiveState::Pending),
        "live" => Some(LiveState::Live),
        "ended" => Some(LiveState::Ended),
        _ => None,
    }
}

/// The error for a column holding a value the schema does not allow.
fn bad_value(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, message.into())
}

/// The `INSERT` of one video; bind it with [`video_params`]. `tail` follows the
/// `VALUES` list (e.g. an `ON CONFLICT` clause).
pub(super) fn insert_video_sql(tail: &str) -> String {
    format!(
        "INSERT INTO videos (id, owner_id, title, description, source, video_key, preview_key, \
         external_url, external_preview_url, visibility, duration_ms, created_at, published_at, live_state, \
         media_staged) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) {tail}"
    )
}

/// Borrowed column values of a new video, in [`insert_video_sql`] order.
pub(super) struct VideoParams<'a> {
    /// The record.
    video: &'a NewVideo,
    /// `MYVID` or `HTTP`.
    source: &'static str,
    /// `private` or `public`.
    visibility: &'static str,
    /// Keys of stored media.
    keys: (Option<&'a str>, Option<&'a str>),
    /// URLs of external media.
    urls: (Option<&'a str>, Option<&'a str>),
    /// Set to the creation time for videos created public.
    published_at: Option<i64>,
    /// `pending`, `live` or `ended` for live streams.
    live_state: Option<&'static str>,
    /// Whether stored media still sits under staging keys.
    staged: bool,
}

/// The values to bind to [`insert_video_sql`] for `video`.
pub(super) fn video_params(video: &NewVideo) -> VideoParams<'_> {
    let staged = matches!(video.source, VideoSource::Staged { .. });
    let (source, keys, urls, live_state) = match &video.source {
        VideoSource::Stored { video_key, preview_key } | VideoSource::Staged { video_key, preview_key } => {
            ("MYVID", (Some(video_key.as_str()), Some(preview_key.as_str())), (None, None), None)
        }
        VideoSource::External { url, preview_url } => {
            ("HTTP", (None, None), (Some(url.as_str()), preview_url.as_deref()), None)
        }
        VideoSource::Live { state } => ("LIVE", (None, None), (None, None), Some(state.as_str())),
    };
    let published_at = (video.visibility == Visibility::Public).then_some(video.created_at);
    VideoParams { video, source, visibility: video.visibility.as_str(), keys, urls, published_at, live_state, staged }
}

impl VideoParams<'_> {
    /// The positional parameters.
    pub(super) fn as_params(&self) -> [&dyn ToSql; 15] {
        [
            &self.video.id,
            &self.video.owner_id,
            &self.video.title,
            &self.video.description,
            &self.source,
            &self.keys.0,
            &self.keys.1,
            &self.urls.0,
            &self.urls.1,
            &self.visibility,
            &self.video.duration_ms,
            &self.video.created_at,
            &self.published_at,
            &self.live_state,
            &self.staged,
        ]
    }
}

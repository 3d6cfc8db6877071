//! Conversions between rows and the [`MetaStore`](crate::MetaStore) types.

use rusqlite::types::Type;
use rusqlite::{Row, ToSql};

pub(super) use crate::meta::columns::live_state;
use crate::meta::columns::{NEW_VIDEO_COLUMNS, NewVideoColumns, VideoColumns};
pub(super) use crate::meta::columns::{USER_COLUMNS, VIDEO_COLUMNS, VIDEO_FROM, VIDEO_JOINS};
use crate::meta::{NewVideo, User, Video};

/// A user from [`USER_COLUMNS`] starting at column 0.
pub(super) fn user(row: &Row) -> rusqlite::Result<User> {
    Ok(User { id: row.get(0)?, username: row.get(1)?, email: row.get(2)?, created_at: row.get(3)? })
}

/// A video from [`VIDEO_COLUMNS`].
pub(super) fn video(row: &Row) -> rusqlite::Result<Video> {
    let columns = VideoColumns {
        seq: row.get(0)?,
        id: row.get(1)?,
        owner_id: row.get(2)?,
        owner_name: row.get(3)?,
        title: row.get(4)?,
        description: row.get(5)?,
        source: row.get(6)?,
        video_key: row.get(7)?,
        preview_key: row.get(8)?,
        external_url: row.get(9)?,
        external_preview_url: row.get(10)?,
        visibility: row.get(11)?,
        duration_ms: row.get(12)?,
        created_at: row.get(13)?,
        published_at: row.get(14)?,
        live_state: row.get(15)?,
        media_staged: row.get(16)?,
        live_record: row.get(17)?,
        transcode_state: row.get(18)?,
        hls_key: row.get(19)?,
        hls_renditions: row.get(20)?,
        unlisted: row.get(21)?,
        views: row.get(22)?,
    };
    columns.into_video().map_err(|message| rusqlite::Error::FromSqlConversionFailure(6, Type::Text, message.into()))
}

/// The `INSERT` of one video; bind it with [`video_params`]. `tail` follows the
/// `VALUES` list (e.g. an `ON CONFLICT` clause).
pub(super) fn insert_video_sql(tail: &str) -> String {
    format!(
        "INSERT INTO videos ({NEW_VIDEO_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) {tail}"
    )
}

/// The values to bind to [`insert_video_sql`] for `video`.
pub(super) fn video_params(video: &NewVideo) -> VideoParams<'_> {
    VideoParams(NewVideoColumns::of(video))
}

/// Borrowed column values of a new video, in [`insert_video_sql`] order.
pub(super) struct VideoParams<'a>(NewVideoColumns<'a>);

impl VideoParams<'_> {
    /// The positional parameters.
    pub(super) fn as_params(&self) -> [&dyn ToSql; 17] {
        let c = &self.0;
        [
            &c.video.id,
            &c.video.owner_id,
            &c.video.title,
            &c.video.description,
            &c.source,
            &c.keys.0,
            &c.keys.1,
            &c.urls.0,
            &c.urls.1,
            &c.visibility,
            &c.video.duration_ms,
            &c.video.created_at,
            &c.published_at,
            &c.live_state,
            &c.staged,
            &c.record,
            &c.unlisted,
        ]
    }
}

//! Reading MariaDB rows into the [`MetaStore`](crate::MetaStore) types, and the values
//! a new video is inserted with.

use mysql_async::prelude::FromValue;
use mysql_async::{Row, Value};

use super::errors::Failure;
use crate::error::StoreError;
use crate::meta::columns::{NewVideoColumns, VideoColumns};
use crate::meta::{NewVideo, ServerEntry, ServerKind, User, Video};

/// Column `index` of `row` as `T`.
pub(super) fn take<T: FromValue>(row: &mut Row, index: usize) -> Result<T, Failure> {
    match row.take_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(StoreError::Internal(format!("column {index}: {e}")).into()),
        None => Err(StoreError::Internal(format!("column {index} missing")).into()),
    }
}

/// A user from `USER_COLUMNS` starting at column 0.
pub(super) fn user(row: &mut Row) -> Result<User, Failure> {
    Ok(User { id: take(row, 0)?, username: take(row, 1)?, email: take(row, 2)?, created_at: take(row, 3)? })
}

/// A video from `VIDEO_COLUMNS`.
pub(super) fn video(mut row: Row) -> Result<Video, Failure> {
    let row = &mut row;
    let columns = VideoColumns {
        seq: take(row, 0)?,
        id: take(row, 1)?,
        owner_id: take(row, 2)?,
        owner_name: take(row, 3)?,
        title: take(row, 4)?,
        description: take(row, 5)?,
        source: take(row, 6)?,
        video_key: take(row, 7)?,
        preview_key: take(row, 8)?,
        external_url: take(row, 9)?,
        external_preview_url: take(row, 10)?,
        visibility: take(row, 11)?,
        duration_ms: take(row, 12)?,
        created_at: take(row, 13)?,
        published_at: take(row, 14)?,
        live_state: take(row, 15)?,
        media_staged: take(row, 16)?,
        live_record: take(row, 17)?,
        transcode_state: take(row, 18)?,
        hls_key: take(row, 19)?,
        hls_renditions: take(row, 20)?,
        unlisted: take(row, 21)?,
        views: take(row, 22)?,
    };
    columns.into_video().map_err(|e| StoreError::Internal(e).into())
}

/// Every video of `rows`.
pub(super) fn videos(rows: Vec<Row>) -> Result<Vec<Video>, Failure> {
    rows.into_iter().map(video).collect()
}

/// A registry entry of `kind` from `id, url, load, turn, media, heartbeat_at`.
pub(super) fn server(mut row: Row, kind: ServerKind) -> Result<ServerEntry, Failure> {
    let row = &mut row;
    Ok(ServerEntry {
        id: take(row, 0)?,
        kind,
        url: take(row, 1)?,
        load: take(row, 2)?,
        turn: take(row, 3)?,
        media: take(row, 4)?,
        heartbeat_at: take(row, 5)?,
    })
}

/// The values of `seq` and then `NEW_VIDEO_COLUMNS` for `video`.
pub(super) fn new_video_values(seq: i64, video: &NewVideo) -> Vec<Value> {
    let c = NewVideoColumns::of(video);
    vec![
        seq.into(),
        c.video.id.as_str().into(),
        c.video.owner_id.into(),
        c.video.title.as_str().into(),
        c.video.description.as_str().into(),
        c.source.into(),
        c.keys.0.into(),
        c.keys.1.into(),
        c.urls.0.into(),
        c.urls.1.into(),
        c.visibility.into(),
        c.video.duration_ms.into(),
        c.video.created_at.into(),
        c.published_at.into(),
        c.live_state.into(),
        c.staged.into(),
        c.record.into(),
        c.unlisted.into(),
    ]
}

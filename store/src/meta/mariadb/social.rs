//! Editing and deleting videos, follows, and view counts on MariaDB / Galera.
//!
//! Each operation is one transaction that `Cluster::run` may run again (after a
//! certification conflict, or on another node after an unknown outcome), so each
//! recognises its own earlier success: an edit sets values, a delete finds its own
//! purge job, and a view batch finds its own marks (a mark already at its time counts
//! nothing). MariaDB reports the rows an `INSERT … ON DUPLICATE KEY UPDATE` changed: 1
//! inserted, 2 updated, 0 left as it was; that is how a view knows it counted.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, TxOpts, Value};

use super::errors::Failure;
use super::rows::{self, take};
use super::video_by_id;
use crate::error::StoreError;
use crate::meta::columns::{USER_COLUMNS, VIDEO_COLUMNS, VIDEO_FROM, VIDEO_JOINS};
use crate::meta::social::{CO_VIEW_PAIRS_PER_VIEW, CO_VIEW_WINDOW_SECS, in_time_order};
use crate::meta::{Followed, NewPurge, User, Video, VideoChange, ViewMark};

/// `(owner_id, source, media_staged, live_state)` of video `id` if `owner` owns it.
async fn guard(
    conn: &mut impl Queryable,
    id: &str,
    owner: i64,
) -> Result<Option<(String, bool, Option<String>)>, Failure> {
    let found: Option<(Option<i64>, String, bool, Option<String>)> =
        conn.exec_first("SELECT owner_id, source, media_staged, live_state FROM videos WHERE id = ?", (id,)).await?;
    Ok(found.filter(|row| row.0 == Some(owner)).map(|(_, source, staged, live)| (source, staged, live)))
}

/// See [`crate::MetaStore::update_video`].
pub(super) async fn update_video(
    conn: &mut Conn,
    id: &str,
    owner: i64,
    change: &VideoChange,
    now: i64,
) -> Result<Video, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let Some((source, staged, _)) = guard(&mut tx, id, owner).await? else { return Err(StoreError::NotFound.into()) };
    let current = video_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    let visibility = change.visibility.unwrap_or(current.visibility);
    if visibility != current.visibility && (staged || source == "LIVE") {
        return Err(StoreError::Conflict("visibility".to_owned()).into());
    }
    let (stored, unlisted) = visibility.stored();
    let listed_by_link = visibility.by_link();
    tx.exec_drop(
        "UPDATE videos SET title = COALESCE(?, title), description = COALESCE(?, description), \
         visibility = ?, unlisted = ?, published_at = IF(?, COALESCE(published_at, ?), published_at) WHERE id = ?",
        (change.title.as_deref(), change.description.as_deref(), stored, unlisted, listed_by_link, now, id),
    )
    .await?;
    let video = video_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(video)
}

/// See [`crate::MetaStore::delete_video`].
pub(super) async fn delete_video(conn: &mut Conn, id: &str, owner: i64, purge: &NewPurge) -> Result<(), Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let Some((_, _, live_state)) = guard(&mut tx, id, owner).await? else {
        // Gone: by this very call's earlier attempt (its purge job is there), or never ours.
        let ours: Option<i64> = tx
            .exec_first("SELECT 1 FROM jobs WHERE id = ? AND video_id = ? AND kind = 'purge'", (purge.id.as_str(), id))
            .await?;
        return if ours.is_some() { Ok(()) } else { Err(StoreError::NotFound.into()) };
    };
    if live_state.as_deref() == Some("live") {
        return Err(StoreError::Conflict("live".to_owned()).into());
    }
    tx.exec_drop("DELETE FROM jobs WHERE video_id = ? AND kind = 'transcode'", (id,)).await?;
    tx.exec_drop("DELETE FROM view_marks WHERE video_id = ?", (id,)).await?;
    tx.exec_drop("DELETE FROM videos WHERE id = ?", (id,)).await?;
    // An id used again (a re-imported catalogue entry) and deleted again runs its purge again.
    tx.exec_drop(
        "INSERT INTO jobs (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, \
         created_at, updated_at) VALUES (?, 'purge', ?, ?, 'queued', 0, ?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE id = VALUES(id), state = 'queued', attempts = 0, max_attempts = VALUES(max_attempts), \
         run_after = VALUES(run_after), lease_until = NULL, claim_token = NULL, claimed_by = NULL, \
         progress_permille = NULL, last_error = NULL, updated_at = VALUES(updated_at), finished_at = NULL",
        (purge.id.as_str(), id, id, purge.max_attempts, purge.run_after, purge.created_at, purge.created_at),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// See [`crate::MetaStore::user_by_name`].
pub(super) async fn user_by_name(conn: &mut Conn, username: &str) -> Result<Option<User>, Failure> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?");
    let row: Option<Row> = conn.exec_first(sql, (username,)).await?;
    row.map(|mut row| rows::user(&mut row)).transpose()
}

/// See [`crate::MetaStore::co_watched`].
pub(super) async fn co_watched(conn: &mut Conn, id: &str, min_n: u32, limit: u32) -> Result<Vec<Video>, Failure> {
    let sql = format!(
        "SELECT {VIDEO_COLUMNS} FROM co_views c JOIN videos v ON v.id = c.other_id {VIDEO_JOINS} \
         WHERE c.video_id = ? AND c.n >= ? AND v.visibility = 'public' ORDER BY c.n DESC, v.seq DESC LIMIT ?"
    );
    let found: Vec<Row> = conn.exec(sql, (id, min_n, limit)).await?;
    rows::videos(found)
}

/// See [`crate::MetaStore::follow`].
pub(super) async fn follow(conn: &mut Conn, follower: i64, followee: i64, now: i64) -> Result<bool, Failure> {
    conn.exec_drop(
        "INSERT INTO follows (follower_id, followee_id, created_at) SELECT ?, id, ? FROM users WHERE id = ? \
         ON DUPLICATE KEY UPDATE follows.created_at = follows.created_at",
        (follower, now, followee),
    )
    .await?;
    if conn.affected_rows() > 0 {
        return Ok(true);
    }
    let exists: Option<i64> = conn.exec_first("SELECT 1 FROM users WHERE id = ?", (followee,)).await?;
    if exists.is_some() { Ok(false) } else { Err(StoreError::NotFound.into()) }
}

/// See [`crate::MetaStore::unfollow`].
pub(super) async fn unfollow(conn: &mut Conn, follower: i64, followee: i64) -> Result<bool, Failure> {
    conn.exec_drop("DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (follower, followee)).await?;
    Ok(conn.affected_rows() > 0)
}

/// See [`crate::MetaStore::follow_state`].
pub(super) async fn follow_state(conn: &mut Conn, viewer: Option<i64>, channel: i64) -> Result<(u64, bool), Failure> {
    let row: Option<(i64, i64)> = conn
        .exec_first(
            "SELECT COUNT(*), CAST(COALESCE(SUM(follower_id = ?), 0) AS SIGNED) FROM follows WHERE followee_id = ?",
            (viewer, channel),
        )
        .await?;
    let (followers, mine) = row.unwrap_or((0, 0));
    Ok((u64::try_from(followers).unwrap_or(0), mine > 0))
}

/// See [`crate::MetaStore::following`]: `(followed, more)` from `offset`.
pub(super) async fn following(
    conn: &mut Conn,
    follower: i64,
    limit: u32,
    offset: u32,
) -> Result<(Vec<Followed>, bool), Failure> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, f.created_at, \
         (SELECT MAX(l.seq) FROM videos l WHERE l.owner_id = u.id AND l.live_state = 'live') AS live_seq \
         FROM follows f JOIN users u ON u.id = f.followee_id WHERE f.follower_id = ? \
         ORDER BY live_seq IS NULL, f.created_at DESC, u.id LIMIT ? OFFSET ?"
    );
    let found: Vec<Row> = conn.exec(sql, (follower, i64::from(limit) + 1, offset)).await?;
    let more = found.len() > limit as usize;
    let mut followed = Vec::with_capacity(found.len().min(limit as usize));
    for mut row in found.into_iter().take(limit as usize) {
        let user = rows::user(&mut row)?;
        let followed_at: i64 = take(&mut row, 4)?;
        let live_seq: Option<i64> = take(&mut row, 5)?;
        let live = match live_seq {
            Some(seq) => {
                let sql = format!("SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.seq = ?");
                let row: Option<Row> = conn.exec_first(sql, (seq,)).await?;
                row.map(rows::video).transpose()?
            }
            None => None,
        };
        followed.push(Followed { user, live, followed_at });
    }
    Ok((followed, more))
}

/// See [`crate::MetaStore::followers_among`].
pub(super) async fn followers_among(conn: &mut Conn, followee: i64, candidates: &[i64]) -> Result<Vec<i64>, Failure> {
    let mut found = Vec::new();
    for chunk in candidates.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT follower_id FROM follows WHERE followee_id = ? AND follower_id IN ({marks})");
        let params: Vec<Value> = std::iter::once(followee).chain(chunk.iter().copied()).map(Value::from).collect();
        let ids: Vec<i64> = conn.exec(sql, params).await?;
        found.extend(ids);
    }
    Ok(found)
}

/// See [`crate::MetaStore::count_views`].
pub(super) async fn count_views(
    conn: &mut Conn,
    marks: &[ViewMark],
    window_secs: i64,
    now: i64,
) -> Result<u64, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let mut counted: BTreeMap<&str, u64> = BTreeMap::new();
    for mark in in_time_order(marks) {
        let (video, viewer, at) = (mark.video_id.as_str(), &mark.viewer[..], mark.at);
        // 1 changed row: new; 2: the last count was a window old; 0: counted already
        // (or the video is only its owner's to watch, so nothing was inserted).
        tx.exec_drop(
            "INSERT INTO view_marks (video_id, viewer, counted_at) \
             SELECT ?, ?, ? FROM videos WHERE id = ? AND (visibility = 'public' OR unlisted) \
             ON DUPLICATE KEY UPDATE view_marks.counted_at = \
             IF(view_marks.counted_at <= ? - ?, ?, view_marks.counted_at)",
            (video, viewer, at, video, at, window_secs, at),
        )
        .await?;
        if tx.affected_rows() == 0 {
            continue;
        }
        *counted.entry(video).or_default() += 1;
        let others: Vec<String> = tx
            .exec(
                "SELECT video_id FROM view_marks WHERE viewer = ? AND video_id <> ? AND counted_at >= ? \
                 ORDER BY counted_at DESC LIMIT ?",
                (viewer, video, at - CO_VIEW_WINDOW_SECS, CO_VIEW_PAIRS_PER_VIEW),
            )
            .await?;
        for other in &others {
            for (a, b) in [(video, other.as_str()), (other.as_str(), video)] {
                tx.exec_drop(
                    "INSERT INTO co_views (video_id, other_id, n, updated_at) \
                     SELECT a.id, b.id, 1, ? FROM videos a JOIN videos b ON b.id = ? WHERE a.id = ? \
                     ON DUPLICATE KEY UPDATE co_views.n = co_views.n + 1, co_views.updated_at = ?",
                    (now, b, a, now),
                )
                .await?;
            }
        }
    }
    for (video, n) in &counted {
        tx.exec_drop(
            "INSERT INTO video_stats (video_id, views) SELECT id, ? FROM videos WHERE id = ? \
             ON DUPLICATE KEY UPDATE video_stats.views = video_stats.views + ?",
            (n, *video, n),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(counted.values().sum())
}

/// See [`crate::MetaStore::prune_view_marks`].
pub(super) async fn prune_view_marks(conn: &mut Conn, before: i64, limit: u32) -> Result<usize, Failure> {
    conn.exec_drop("DELETE FROM view_marks WHERE counted_at < ? ORDER BY counted_at LIMIT ?", (before, limit)).await?;
    Ok(usize::try_from(conn.affected_rows()).unwrap_or(usize::MAX))
}

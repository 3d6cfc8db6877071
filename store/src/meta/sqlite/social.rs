//! Editing and deleting videos, follows, and view counts on SQLite: each operation is
//! one transaction (writes `IMMEDIATE`, so writers are serialised).

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::rows::{self, USER_COLUMNS, VIDEO_COLUMNS, VIDEO_JOINS};
use super::videos;
use crate::meta::social::{CO_VIEW_PAIRS_PER_VIEW, CO_VIEW_WINDOW_SECS, in_time_order};
use crate::meta::{Followed, NewPurge, Video, VideoChange, ViewMark};

/// What an edit or delete found, inside its transaction.
pub(super) enum Outcome<T> {
    /// Done.
    Done(T),
    /// The owner has no video with this id.
    NotFound,
    /// Refused, nothing written; names what is in the way.
    Conflict(&'static str),
}

/// The columns an edit or delete decides on: `(owner_id, source, media_staged, live_state)`.
type Guard = (Option<i64>, String, bool, Option<String>);

fn guard(conn: &Connection, id: &str, owner: i64) -> rusqlite::Result<Option<Guard>> {
    let found: Option<Guard> = conn
        .prepare_cached("SELECT owner_id, source, media_staged, live_state FROM videos WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    Ok(found.filter(|(owner_id, ..)| *owner_id == Some(owner)))
}

/// See [`crate::MetaStore::update_video`].
pub(super) fn update_video(
    conn: &mut Connection,
    id: &str,
    owner: i64,
    change: &VideoChange,
    now: i64,
) -> rusqlite::Result<Outcome<Video>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some((_, source, staged, _)) = guard(&tx, id, owner)? else { return Ok(Outcome::NotFound) };
    let Some(current) = super::video_where(&tx, "v.id = ?1", &id)? else { return Ok(Outcome::NotFound) };
    let visibility = change.visibility.unwrap_or(current.visibility);
    if visibility != current.visibility && (staged || source == "LIVE") {
        return Ok(Outcome::Conflict("visibility"));
    }
    let (stored, unlisted) = visibility.stored();
    tx.prepare_cached(
        "UPDATE videos SET title = COALESCE(?2, title), description = COALESCE(?3, description), \
         visibility = ?4, unlisted = ?5, \
         published_at = CASE WHEN ?4 = 'public' OR ?5 THEN COALESCE(published_at, ?6) ELSE published_at END \
         WHERE id = ?1",
    )?
    .execute(params![id, change.title, change.description, stored, unlisted, now])?;
    let video = super::video_where(&tx, "v.id = ?1", &id)?;
    tx.commit()?;
    Ok(video.map_or(Outcome::NotFound, Outcome::Done))
}

/// See [`crate::MetaStore::delete_video`].
pub(super) fn delete_video(
    conn: &mut Connection,
    id: &str,
    owner: i64,
    purge: &NewPurge,
) -> rusqlite::Result<Outcome<()>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some((_, _, _, live_state)) = guard(&tx, id, owner)? else { return Ok(Outcome::NotFound) };
    if live_state.as_deref() == Some("live") {
        return Ok(Outcome::Conflict("live"));
    }
    tx.prepare_cached("DELETE FROM jobs WHERE video_id = ?1 AND kind = 'transcode'")?.execute([id])?;
    tx.prepare_cached("DELETE FROM view_marks WHERE video_id = ?1")?.execute([id])?;
    tx.prepare_cached("DELETE FROM videos WHERE id = ?1")?.execute([id])?;
    // An id used again (a re-imported catalogue entry) and deleted again runs its purge again.
    tx.prepare_cached(
        "INSERT INTO jobs (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, \
         created_at, updated_at) VALUES (?1, 'purge', ?2, ?2, 'queued', 0, ?3, ?4, ?5, ?5) \
         ON CONFLICT (video_id, kind) DO UPDATE SET id = excluded.id, state = 'queued', attempts = 0, max_attempts = excluded.max_attempts, \
         run_after = excluded.run_after, lease_until = NULL, claim_token = NULL, claimed_by = NULL, \
         progress_permille = NULL, last_error = NULL, updated_at = excluded.updated_at, finished_at = NULL",
    )?
    .execute(params![purge.id, id, purge.max_attempts, purge.run_after, purge.created_at])?;
    tx.commit()?;
    Ok(Outcome::Done(()))
}

/// See [`crate::MetaStore::user_by_name`].
pub(super) fn user_by_name(conn: &Connection, username: &str) -> rusqlite::Result<Option<crate::meta::User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?1");
    conn.prepare_cached(&sql)?.query_row([username], rows::user).optional()
}

/// See [`crate::MetaStore::co_watched`].
pub(super) fn co_watched(conn: &Connection, id: &str, min_n: u32, limit: u32) -> rusqlite::Result<Vec<Video>> {
    let sql = format!(
        "SELECT {VIDEO_COLUMNS} FROM co_views c JOIN videos v ON v.id = c.other_id {VIDEO_JOINS} \
         WHERE c.video_id = ?1 AND c.n >= ?2 AND v.visibility = 'public' ORDER BY c.n DESC, v.seq DESC LIMIT ?3"
    );
    videos(conn, &sql, &[&id, &min_n, &limit])
}

/// See [`crate::MetaStore::follow`]: `None` when `followee` does not exist.
pub(super) fn follow(conn: &mut Connection, follower: i64, followee: i64, now: i64) -> rusqlite::Result<Option<bool>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let added = tx
        .prepare_cached(
            "INSERT INTO follows (follower_id, followee_id, created_at) SELECT ?1, id, ?3 FROM users WHERE id = ?2 \
             ON CONFLICT (follower_id, followee_id) DO NOTHING",
        )?
        .execute(params![follower, followee, now])?;
    let exists = added > 0
        || tx
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .query_row([followee], |_| Ok(()))
            .optional()?
            .is_some();
    tx.commit()?;
    Ok(exists.then_some(added > 0))
}

/// See [`crate::MetaStore::unfollow`].
pub(super) fn unfollow(conn: &Connection, follower: i64, followee: i64) -> rusqlite::Result<bool> {
    let removed = conn
        .prepare_cached("DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2")?
        .execute([follower, followee])?;
    Ok(removed > 0)
}

/// See [`crate::MetaStore::follow_state`].
pub(super) fn follow_state(conn: &Connection, viewer: Option<i64>, channel: i64) -> rusqlite::Result<(u64, bool)> {
    conn.prepare_cached("SELECT COUNT(*), COALESCE(SUM(follower_id = ?2), 0) FROM follows WHERE followee_id = ?1")?
        .query_row(params![channel, viewer], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? > 0)))
}

/// See [`crate::MetaStore::following`]: `(followed, more)` from `offset`.
pub(super) fn following(
    conn: &Connection,
    follower: i64,
    limit: u32,
    offset: u32,
) -> rusqlite::Result<(Vec<Followed>, bool)> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, f.created_at, \
         (SELECT MAX(l.seq) FROM videos l WHERE l.owner_id = u.id AND l.live_state = 'live') AS live_seq \
         FROM follows f JOIN users u ON u.id = f.followee_id WHERE f.follower_id = ?1 \
         ORDER BY live_seq IS NULL, f.created_at DESC, u.id LIMIT ?2 OFFSET ?3"
    );
    let rows: Vec<(crate::meta::User, i64, Option<i64>)> = {
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params![follower, i64::from(limit) + 1, offset], |r| {
            Ok((rows::user(r)?, r.get(4)?, r.get(5)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let more = rows.len() > limit as usize;
    let mut followed = Vec::with_capacity(rows.len().min(limit as usize));
    for (user, followed_at, live_seq) in rows.into_iter().take(limit as usize) {
        let live = match live_seq {
            Some(seq) => super::video_where(conn, "v.seq = ?1", &seq)?,
            None => None,
        };
        followed.push(Followed { user, live, followed_at });
    }
    Ok((followed, more))
}

/// See [`crate::MetaStore::followers_among`].
pub(super) fn followers_among(conn: &Connection, followee: i64, candidates: &[i64]) -> rusqlite::Result<Vec<i64>> {
    let mut found = Vec::new();
    for chunk in candidates.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!("SELECT follower_id FROM follows WHERE followee_id = ? AND follower_id IN ({marks})");
        let mut statement = conn.prepare(&sql)?;
        let values = std::iter::once(followee).chain(chunk.iter().copied());
        let rows = statement.query_map(rusqlite::params_from_iter(values), |r| r.get(0))?;
        for row in rows {
            found.push(row?);
        }
    }
    Ok(found)
}

/// See [`crate::MetaStore::count_views`].
pub(super) fn count_views(
    conn: &mut Connection,
    marks: &[ViewMark],
    window_secs: i64,
    now: i64,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut counted: BTreeMap<&str, i64> = BTreeMap::new();
    for mark in in_time_order(marks) {
        // Counts (1 changed row) when new, or when the last count is a window old;
        // videos only watchable by their owner are not counted.
        let changed = tx
            .prepare_cached(
                "INSERT INTO view_marks (video_id, viewer, counted_at) \
                 SELECT ?1, ?2, ?3 FROM videos WHERE id = ?1 AND (visibility = 'public' OR unlisted = 1) \
                 ON CONFLICT (video_id, viewer) DO UPDATE SET counted_at = excluded.counted_at \
                 WHERE view_marks.counted_at <= excluded.counted_at - ?4",
            )?
            .execute(params![mark.video_id, mark.viewer, mark.at, window_secs])?;
        if changed == 0 {
            continue;
        }
        *counted.entry(mark.video_id.as_str()).or_default() += 1;
        let others: Vec<String> = {
            let mut statement = tx.prepare_cached(
                "SELECT video_id FROM view_marks WHERE viewer = ?1 AND video_id <> ?2 AND counted_at >= ?3 \
                 ORDER BY counted_at DESC LIMIT ?4",
            )?;
            let since = mark.at - CO_VIEW_WINDOW_SECS;
            let rows = statement
                .query_map(params![mark.viewer, mark.video_id, since, CO_VIEW_PAIRS_PER_VIEW], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut pair = tx.prepare_cached(
            "INSERT INTO co_views (video_id, other_id, n, updated_at) \
             SELECT a.id, b.id, 1, ?3 FROM videos a JOIN videos b ON b.id = ?2 WHERE a.id = ?1 \
             ON CONFLICT (video_id, other_id) DO UPDATE SET n = n + 1, updated_at = excluded.updated_at",
        )?;
        for other in &others {
            pair.execute(params![mark.video_id, other, now])?;
            pair.execute(params![other, mark.video_id, now])?;
        }
    }
    let mut bump = tx.prepare_cached(
        "INSERT INTO video_stats (video_id, views) SELECT id, ?2 FROM videos WHERE id = ?1 \
         ON CONFLICT (video_id) DO UPDATE SET views = views + excluded.views",
    )?;
    for (video_id, n) in &counted {
        bump.execute(params![video_id, n])?;
    }
    drop(bump);
    tx.commit()?;
    Ok(counted.values().map(|n| *n as u64).sum())
}

/// See [`crate::MetaStore::prune_view_marks`].
pub(super) fn prune_view_marks(conn: &Connection, before: i64, limit: u32) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM view_marks WHERE (video_id, viewer) IN \
         (SELECT video_id, viewer FROM view_marks WHERE counted_at < ?1 LIMIT ?2)",
    )?
    .execute(params![before, limit])
}

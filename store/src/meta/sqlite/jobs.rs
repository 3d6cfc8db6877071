//! The job queue on SQLite: each operation is one `IMMEDIATE` transaction, so writers
//! are serialised and a claim cannot race another (see `crate::meta::jobs`).

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::meta::jobs::{JOB_COLUMNS, JobColumns, WORKER_LOST, kept_error, kind_list};
use crate::meta::{FailOutcome, HlsMedia, Job, JobKind, NewJob};

/// Whether a job may be claimed at `?now`: queued and due, or running with its lease
/// run out and attempts left. `?now` is parameter 1.
const CLAIMABLE: &str = "((state = 'queued' AND run_after <= ?1) \
     OR (state = 'running' AND lease_until <= ?1 AND attempts < max_attempts))";

/// A job from [`JOB_COLUMNS`].
fn job(row: &Row) -> rusqlite::Result<Job> {
    let columns = JobColumns {
        id: row.get(0)?,
        kind: row.get(1)?,
        video_id: row.get(2)?,
        input_key: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        max_attempts: row.get(6)?,
        run_after: row.get(7)?,
        claimed_by: row.get(8)?,
        lease_until: row.get(9)?,
        progress_permille: row.get(10)?,
        last_error: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        finished_at: row.get(14)?,
    };
    columns.into_job().map_err(|message| rusqlite::Error::FromSqlConversionFailure(4, Type::Text, message.into()))
}

/// One job matching `condition` (parameters `params`).
fn job_where(conn: &Connection, condition: &str, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {condition}");
    conn.prepare_cached(&sql)?.query_row(params, job).optional()
}

/// See [`crate::MetaStore::enqueue_transcode`]; `None` when the video is not a
/// published stored video with this original.
pub(super) fn enqueue_transcode(conn: &mut Connection, new: &NewJob) -> rusqlite::Result<Option<Job>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored: Option<i64> = tx
        .prepare_cached(
            "SELECT 1 FROM videos WHERE id = ?1 AND source = 'MYVID' AND media_staged = 0 AND video_key = ?2",
        )?
        .query_row(params![new.video_id, new.input_key], |r| r.get(0))
        .optional()?;
    if stored.is_none() {
        return Ok(None);
    }
    tx.prepare_cached(
        "INSERT INTO jobs (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, \
         created_at, updated_at) VALUES (?1, 'transcode', ?2, ?3, 'queued', 0, ?4, ?5, ?5, ?5) \
         ON CONFLICT (video_id, kind) DO NOTHING",
    )?
    .execute(params![new.id, new.video_id, new.input_key, new.max_attempts, new.created_at])?;
    tx.prepare_cached("UPDATE videos SET transcode_state = 'processing' WHERE id = ?1 AND transcode_state IS NULL")?
        .execute([&new.video_id])?;
    let job = job_where(&tx, "video_id = ?1 AND kind = 'transcode'", &[&new.video_id])?;
    tx.commit()?;
    Ok(job)
}

/// See [`crate::MetaStore::videos_without_transcode`].
pub(super) fn videos_without_transcode(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<(String, String)>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, video_key FROM videos \
         WHERE source = 'MYVID' AND media_staged = 0 AND transcode_state IS NULL ORDER BY seq LIMIT ?1",
    )?;
    let rows = statement.query_map([i64::from(limit)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// See [`crate::MetaStore::claim_job`].
pub(super) fn claim_job(
    conn: &mut Connection,
    kinds: &[JobKind],
    worker: &str,
    token: &str,
    now: i64,
    lease_until: i64,
) -> rusqlite::Result<Option<Job>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(job) = job_where(&tx, "claim_token = ?1 AND state = 'running'", &[&token])? {
        return Ok(Some(job));
    }
    let candidate: Option<String> = tx
        .prepare_cached(&format!(
            "SELECT id FROM jobs WHERE {CLAIMABLE} AND kind IN ({}) ORDER BY run_after, created_at LIMIT 1",
            kind_list(kinds)
        ))?
        .query_row([now], |r| r.get(0))
        .optional()?;
    let Some(id) = candidate else { return Ok(None) };
    tx.prepare_cached(&format!(
        "UPDATE jobs SET state = 'running', claim_token = ?2, claimed_by = ?3, lease_until = ?4, \
         attempts = attempts + 1, progress_permille = 0, updated_at = ?1 WHERE id = ?5 AND {CLAIMABLE}"
    ))?
    .execute(params![now, token, worker, lease_until, id])?;
    let job = job_where(&tx, "id = ?1 AND claim_token = ?2", &[&id, &token])?;
    tx.commit()?;
    Ok(job)
}

/// See [`crate::MetaStore::renew_job`].
pub(super) fn renew_job(
    conn: &Connection,
    id: &str,
    token: &str,
    now: i64,
    lease_until: i64,
    progress_permille: u16,
) -> rusqlite::Result<bool> {
    let rows = conn
        .prepare_cached(
            "UPDATE jobs SET lease_until = ?3, progress_permille = ?4, updated_at = ?5 \
             WHERE id = ?1 AND claim_token = ?2 AND state = 'running'",
        )?
        .execute(params![id, token, lease_until, progress_permille.min(1000), now])?;
    Ok(rows > 0)
}

/// See [`crate::MetaStore::fail_job`].
pub(super) fn fail_job(
    conn: &mut Connection,
    id: &str,
    token: &str,
    error: &str,
    retry_at: i64,
    now: i64,
) -> rusqlite::Result<FailOutcome> {
    let error = kept_error(error);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let held: Option<(u32, u32, String)> = tx
        .prepare_cached(
            "SELECT attempts, max_attempts, video_id FROM jobs WHERE id = ?1 AND claim_token = ?2 AND state = 'running'",
        )?
        .query_row(params![id, token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((attempts, max_attempts, video_id)) = held else { return Ok(FailOutcome::LeaseLost) };
    let outcome = if attempts >= max_attempts {
        tx.prepare_cached(
            "UPDATE jobs SET state = 'dead', last_error = ?2, lease_until = NULL, finished_at = ?3, updated_at = ?3 \
             WHERE id = ?1",
        )?
        .execute(params![id, error, now])?;
        mark_failed(&tx, &video_id)?;
        FailOutcome::Dead
    } else {
        tx.prepare_cached(
            "UPDATE jobs SET state = 'queued', last_error = ?2, lease_until = NULL, run_after = ?3, updated_at = ?4 \
             WHERE id = ?1",
        )?
        .execute(params![id, error, retry_at, now])?;
        FailOutcome::Retried
    };
    tx.commit()?;
    Ok(outcome)
}

/// Marks a video whose transcode is dead-lettered as failed.
fn mark_failed(conn: &Connection, video_id: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE videos SET transcode_state = 'failed' WHERE id = ?1 AND transcode_state = 'processing'",
    )?
    .execute([video_id])
    .map(drop)
}

/// See [`crate::MetaStore::release_job`].
pub(super) fn release_job(
    conn: &Connection,
    id: &str,
    token: &str,
    now: i64,
    run_after: i64,
) -> rusqlite::Result<bool> {
    let rows = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'queued', run_after = ?4, attempts = attempts - 1, lease_until = NULL, \
             updated_at = ?3 WHERE id = ?1 AND claim_token = ?2 AND state = 'running'",
        )?
        .execute(params![id, token, now, run_after])?;
    Ok(rows > 0)
}

/// See [`crate::MetaStore::complete_transcode`].
pub(super) fn complete_transcode(
    conn: &mut Connection,
    id: &str,
    token: &str,
    hls: &HlsMedia,
    now: i64,
) -> rusqlite::Result<bool> {
    let renditions =
        serde_json::to_string(&hls.renditions).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let video_id: Option<String> = tx
        .prepare_cached(
            "UPDATE jobs SET state = 'done', lease_until = NULL, progress_permille = 1000, finished_at = ?3, \
             updated_at = ?3 WHERE id = ?1 AND claim_token = ?2 AND state = 'running' RETURNING video_id",
        )?
        .query_row(params![id, token, now], |r| r.get(0))
        .optional()?;
    let Some(video_id) = video_id else {
        // Not running under this token: done by this very call before, or lost.
        let done: Option<i64> = tx
            .prepare_cached(
                "SELECT 1 FROM jobs j JOIN videos v ON v.id = j.video_id \
                 WHERE j.id = ?1 AND j.claim_token = ?2 AND j.state = 'done' AND v.hls_key = ?3",
            )?
            .query_row(params![id, token, hls.prefix], |r| r.get(0))
            .optional()?;
        return Ok(done.is_some());
    };
    tx.prepare_cached(
        "UPDATE videos SET transcode_state = 'ready', hls_key = ?2, hls_renditions = ?3 \
         WHERE id = ?1 AND source = 'MYVID'",
    )?
    .execute(params![video_id, hls.prefix, renditions])?;
    tx.commit()?;
    Ok(true)
}

/// See [`crate::MetaStore::expire_jobs`].
pub(super) fn expire_jobs(conn: &mut Connection, now: i64) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let videos: Vec<String> = {
        let mut statement = tx.prepare_cached(
            "UPDATE jobs SET state = 'dead', last_error = ?2, lease_until = NULL, finished_at = ?1, updated_at = ?1 \
             WHERE state = 'running' AND lease_until <= ?1 AND attempts >= max_attempts RETURNING video_id",
        )?;
        let rows = statement.query_map(params![now, WORKER_LOST], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for video_id in &videos {
        mark_failed(&tx, video_id)?;
    }
    tx.commit()?;
    Ok(videos.len())
}

/// See [`crate::MetaStore::transcode_job`].
pub(super) fn transcode_job(conn: &Connection, video_id: &str) -> rusqlite::Result<Option<Job>> {
    job_where(conn, "video_id = ?1 AND kind = 'transcode'", &[&video_id])
}

/// See [`crate::MetaStore::complete_purge`].
pub(super) fn complete_purge(conn: &mut Connection, id: &str, token: &str, now: i64) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let finished = tx
        .prepare_cached(
            "UPDATE jobs SET state = 'done', lease_until = NULL, progress_permille = 1000, finished_at = ?3, \
             updated_at = ?3 WHERE id = ?1 AND claim_token = ?2 AND state = 'running' AND kind = 'purge'",
        )?
        .execute(params![id, token, now])?;
    let done = finished > 0
        || job_where(&tx, "id = ?1 AND claim_token = ?2 AND state = 'done' AND kind = 'purge'", &[&id, &token])?
            .is_some();
    tx.commit()?;
    Ok(done)
}

//! The job queue on MariaDB / Galera (see `crate::meta::jobs`).
//!
//! Claims are correct under Galera's certification: a claim reads a few candidates,
//! then takes one with an autocommit conditional `UPDATE … WHERE id = ? AND <still
//! claimable>` that writes a fresh token, and owns the job exactly when that update
//! changed a row. On one node, InnoDB's locking read makes the loser's update match
//! nothing; across nodes, the later write-set fails certification and the server re-runs
//! the statement (`wsrep_retry_autocommit`), which then matches nothing, or the client
//! gets a deadlock error that `Cluster::run` retries. `SELECT … FOR UPDATE` is never
//! used: its locks do not reach other nodes. Every operation may run again after an
//! unknown outcome, and recognises its own earlier success by the claim token.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, TxOpts};

use super::errors::Failure;
use super::rows::take;
use crate::error::StoreError;
use crate::meta::jobs::{JOB_COLUMNS, JobColumns, WORKER_LOST, kept_error, kind_list};
use crate::meta::{FailOutcome, HlsMedia, Job, JobKind, JobState, NewJob};

/// Whether a job may be claimed at `now` (bound twice, as the two `?`): queued and due,
/// or running with its lease run out and attempts left.
const CLAIMABLE: &str = "((state = 'queued' AND run_after <= ?) \
     OR (state = 'running' AND lease_until <= ? AND attempts < max_attempts))";

/// Candidates read per claim, tried oldest first: a claimer that loses the race for
/// one moves on to the next instead of coming back empty-handed.
const CANDIDATES: usize = 8;

/// A job from [`JOB_COLUMNS`].
fn job(mut row: Row) -> Result<Job, Failure> {
    let row = &mut row;
    let columns = JobColumns {
        id: take(row, 0)?,
        kind: take(row, 1)?,
        video_id: take(row, 2)?,
        input_key: take(row, 3)?,
        state: take(row, 4)?,
        attempts: take(row, 5)?,
        max_attempts: take(row, 6)?,
        run_after: take(row, 7)?,
        claimed_by: take(row, 8)?,
        lease_until: take(row, 9)?,
        progress_permille: take(row, 10)?,
        last_error: take(row, 11)?,
        created_at: take(row, 12)?,
        updated_at: take(row, 13)?,
        finished_at: take(row, 14)?,
    };
    columns.into_job().map_err(|e| StoreError::Internal(e).into())
}

/// The job with this id and claim token, in any state.
async fn job_with_token(conn: &mut impl Queryable, id: &str, token: &str) -> Result<Option<Job>, Failure> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND claim_token = ?");
    let row: Option<Row> = conn.exec_first(sql, (id, token)).await?;
    row.map(job).transpose()
}

/// See [`crate::MetaStore::enqueue_transcode`].
pub(super) async fn enqueue_transcode(conn: &mut Conn, new: &NewJob) -> Result<Job, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let stored: Option<i64> = tx
        .exec_first(
            "SELECT 1 FROM videos WHERE id = ? AND source = 'MYVID' AND NOT media_staged AND video_key = ?",
            (new.video_id.as_str(), new.input_key.as_str()),
        )
        .await?;
    if stored.is_none() {
        return Err(StoreError::NotFound.into());
    }
    // A second enqueue (or this one's earlier attempt) leaves the existing job alone.
    tx.exec_drop(
        "INSERT INTO jobs (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, \
         created_at, updated_at) VALUES (?, 'transcode', ?, ?, 'queued', 0, ?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE id = id",
        (
            new.id.as_str(),
            new.video_id.as_str(),
            new.input_key.as_str(),
            new.max_attempts,
            new.created_at,
            new.created_at,
            new.created_at,
        ),
    )
    .await?;
    tx.exec_drop(
        "UPDATE videos SET transcode_state = 'processing' WHERE id = ? AND transcode_state IS NULL",
        (new.video_id.as_str(),),
    )
    .await?;
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE video_id = ? AND kind = 'transcode'");
    let row: Option<Row> = tx.exec_first(sql, (new.video_id.as_str(),)).await?;
    tx.commit().await?;
    row.map(job).transpose()?.ok_or_else(|| StoreError::Internal("an enqueued job vanished".to_owned()).into())
}

/// See [`crate::MetaStore::videos_without_transcode`].
pub(super) async fn videos_without_transcode(conn: &mut Conn, limit: u32) -> Result<Vec<(String, String)>, Failure> {
    Ok(conn
        .exec(
            "SELECT id, video_key FROM videos \
             WHERE source = 'MYVID' AND NOT media_staged AND transcode_state IS NULL ORDER BY seq LIMIT ?",
            (i64::from(limit),),
        )
        .await?)
}

/// See [`crate::MetaStore::claim_job`]. Autocommit statements only (see the module
/// docs for why).
pub(super) async fn claim_job(
    conn: &mut Conn,
    kinds: &[JobKind],
    worker: &str,
    token: &str,
    now: i64,
    lease_until: i64,
) -> Result<Option<Job>, Failure> {
    // An earlier attempt of this very call may have claimed a job, its answer lost.
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE claim_token = ? AND state = 'running'");
    let mine: Option<Row> = conn.exec_first(sql, (token,)).await?;
    if let Some(row) = mine {
        return Ok(Some(job(row)?));
    }
    let sql = format!(
        "SELECT id FROM jobs WHERE {CLAIMABLE} AND kind IN ({}) ORDER BY run_after, created_at LIMIT {CANDIDATES}",
        kind_list(kinds)
    );
    let candidates: Vec<String> = conn.exec(sql, (now, now)).await?;
    let update = format!(
        "UPDATE jobs SET state = 'running', claim_token = ?, claimed_by = ?, lease_until = ?, \
         attempts = attempts + 1, progress_permille = 0, updated_at = ? WHERE id = ? AND {CLAIMABLE}"
    );
    for id in candidates {
        conn.exec_drop(&update, (token, worker, lease_until, now, id.as_str(), now, now)).await?;
        // The update always writes a new token, so "changed" is "matched" here.
        if conn.affected_rows() == 1 {
            return job_with_token(conn, &id, token).await;
        }
    }
    Ok(None)
}

/// See [`crate::MetaStore::renew_job`].
pub(super) async fn renew_job(
    conn: &mut Conn,
    id: &str,
    token: &str,
    now: i64,
    lease_until: i64,
    progress_permille: u16,
) -> Result<bool, Failure> {
    conn.exec_drop(
        "UPDATE jobs SET lease_until = ?, progress_permille = ?, updated_at = ? \
         WHERE id = ? AND claim_token = ? AND state = 'running'",
        (lease_until, progress_permille.min(1000), now, id, token),
    )
    .await?;
    if conn.affected_rows() > 0 {
        return Ok(true);
    }
    // MariaDB counts changed rows: the same values twice change nothing.
    Ok(job_with_token(conn, id, token).await?.is_some_and(|job| job.state == crate::meta::JobState::Running))
}

/// See [`crate::MetaStore::fail_job`].
pub(super) async fn fail_job(
    conn: &mut Conn,
    id: &str,
    token: &str,
    error: &str,
    retry_at: i64,
    now: i64,
) -> Result<FailOutcome, Failure> {
    let error = kept_error(error);
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let Some(held) = job_with_token(&mut tx, id, token).await? else { return Ok(FailOutcome::LeaseLost) };
    use crate::meta::JobState::{Dead, Queued, Running};
    let outcome = match held.state {
        Running if held.attempts >= held.max_attempts => {
            tx.exec_drop(
                "UPDATE jobs SET state = 'dead', last_error = ?, lease_until = NULL, finished_at = ?, updated_at = ? \
                 WHERE id = ? AND claim_token = ? AND state = 'running'",
                (error.as_str(), now, now, id, token),
            )
            .await?;
            tx.exec_drop(
                "UPDATE videos SET transcode_state = 'failed' WHERE id = ? AND transcode_state = 'processing'",
                (held.video_id.as_str(),),
            )
            .await?;
            FailOutcome::Dead
        }
        Running => {
            tx.exec_drop(
                "UPDATE jobs SET state = 'queued', last_error = ?, lease_until = NULL, run_after = ?, updated_at = ? \
                 WHERE id = ? AND claim_token = ? AND state = 'running'",
                (error.as_str(), retry_at, now, id, token),
            )
            .await?;
            FailOutcome::Retried
        }
        // This very call's earlier attempt, its answer lost (the token stays until the
        // next claim).
        Queued if held.last_error.as_deref() == Some(error.as_str()) => FailOutcome::Retried,
        Dead if held.last_error.as_deref() == Some(error.as_str()) => FailOutcome::Dead,
        _ => FailOutcome::LeaseLost,
    };
    tx.commit().await?;
    Ok(outcome)
}

/// See [`crate::MetaStore::release_job`].
pub(super) async fn release_job(
    conn: &mut Conn,
    id: &str,
    token: &str,
    now: i64,
    run_after: i64,
) -> Result<bool, Failure> {
    conn.exec_drop(
        "UPDATE jobs SET state = 'queued', run_after = ?, attempts = attempts - 1, lease_until = NULL, updated_at = ? \
         WHERE id = ? AND claim_token = ? AND state = 'running'",
        (run_after, now, id, token),
    )
    .await?;
    if conn.affected_rows() > 0 {
        return Ok(true);
    }
    // Queued under our token and not claimed since: this call's own earlier attempt.
    Ok(job_with_token(conn, id, token).await?.is_some_and(|job| job.state == crate::meta::JobState::Queued))
}

/// See [`crate::MetaStore::complete_transcode`].
pub(super) async fn complete_transcode(
    conn: &mut Conn,
    id: &str,
    token: &str,
    hls: &HlsMedia,
    now: i64,
) -> Result<bool, Failure> {
    let renditions =
        serde_json::to_string(&hls.renditions).map_err(|e| Failure::from(StoreError::Internal(e.to_string())))?;
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let Some(held) = job_with_token(&mut tx, id, token).await? else { return Ok(false) };
    let done = match held.state {
        crate::meta::JobState::Running => {
            tx.exec_drop(
                "UPDATE jobs SET state = 'done', lease_until = NULL, progress_permille = 1000, finished_at = ?, \
                 updated_at = ? WHERE id = ? AND claim_token = ? AND state = 'running'",
                (now, now, id, token),
            )
            .await?;
            tx.exec_drop(
                "UPDATE videos SET transcode_state = 'ready', hls_key = ?, hls_renditions = ? \
                 WHERE id = ? AND source = 'MYVID'",
                (hls.prefix.as_str(), renditions.as_str(), held.video_id.as_str()),
            )
            .await?;
            true
        }
        crate::meta::JobState::Done => {
            // Done under our token: ours if the video plays our ladder.
            let key: Option<Option<String>> =
                tx.exec_first("SELECT hls_key FROM videos WHERE id = ?", (held.video_id.as_str(),)).await?;
            key.flatten().as_deref() == Some(hls.prefix.as_str())
        }
        _ => false,
    };
    tx.commit().await?;
    Ok(done)
}

/// See [`crate::MetaStore::expire_jobs`].
pub(super) async fn expire_jobs(conn: &mut Conn, now: i64) -> Result<usize, Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    let expired: Vec<(String, String)> = tx
        .exec(
            "SELECT id, video_id FROM jobs WHERE state = 'running' AND lease_until <= ? AND attempts >= max_attempts",
            (now,),
        )
        .await?;
    let mut count = 0;
    for (id, video_id) in expired {
        tx.exec_drop(
            "UPDATE jobs SET state = 'dead', last_error = ?, lease_until = NULL, finished_at = ?, updated_at = ? \
             WHERE id = ? AND state = 'running' AND lease_until <= ? AND attempts >= max_attempts",
            (WORKER_LOST, now, now, id.as_str(), now),
        )
        .await?;
        if tx.affected_rows() > 0 {
            count += 1;
            tx.exec_drop(
                "UPDATE videos SET transcode_state = 'failed' WHERE id = ? AND transcode_state = 'processing'",
                (video_id.as_str(),),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(count)
}

/// See [`crate::MetaStore::transcode_job`].
pub(super) async fn transcode_job(conn: &mut Conn, video_id: &str) -> Result<Option<Job>, Failure> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE video_id = ? AND kind = 'transcode'");
    let row: Option<Row> = conn.exec_first(sql, (video_id,)).await?;
    row.map(job).transpose()
}

/// See [`crate::MetaStore::complete_purge`].
pub(super) async fn complete_purge(conn: &mut Conn, id: &str, token: &str, now: i64) -> Result<bool, Failure> {
    conn.exec_drop(
        "UPDATE jobs SET state = 'done', lease_until = NULL, progress_permille = 1000, finished_at = ?, \
         updated_at = ? WHERE id = ? AND claim_token = ? AND state = 'running' AND kind = 'purge'",
        (now, now, id, token),
    )
    .await?;
    if conn.affected_rows() > 0 {
        return Ok(true);
    }
    // Done under our token: this call's own earlier attempt, its answer lost.
    Ok(job_with_token(conn, id, token)
        .await?
        .is_some_and(|job| job.state == JobState::Done && job.kind == JobKind::Purge))
}

//! [`SqliteMeta`]: the embedded [`MetaStore`], one SQLite database file.
//!
//! One connection behind a mutex; every call runs on tokio's blocking pool, so the
//! async runtime never waits on SQLite. Several processes may share the file (the API
//! and `myvid endpoint`s on one data directory): write transactions start `IMMEDIATE`,
//! locks are waited for up to 5 s, and a call SQLite still answers "busy" is retried. Search uses an FTS5 index over title and
//! description (see `sqlite/0001_init.sql`).

mod errors;
mod fts;
mod jobs;
mod rows;
mod schema;
mod social;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params};

use self::errors::{map_migration, map_sqlite};
use self::rows::{USER_COLUMNS, VIDEO_COLUMNS, VIDEO_FROM, VIDEO_JOINS, insert_video_sql, video_params};
use super::columns::{Listing, offset_of};
use super::{
    FailOutcome, Followed, HlsMedia, Job, JobKind, LiveState, MetaStore, NewJob, NewPurge, NewUser, NewVideo, Page,
    PageToken, PublishedMedia, ServerEntry, ServerKind, User, UserCredentials, Video, VideoChange, ViewMark,
};
use crate::error::{Result, StoreError, from_io};

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Extra tries of [`SqliteMeta::open`] when the database is busy.
const OPEN_RETRIES: u32 = 5;

/// Extra tries of one call that SQLite answered "busy" without waiting.
const BUSY_RETRIES: u32 = 5;

/// The embedded metadata store on SQLite.
///
/// Paging: searches continue with [`PageToken::Offset`], listings with
/// [`PageToken::Before`]; a token of the other kind is treated as "from the start".
/// A `limit` of 0 gives an empty last page. Usernames and e-mails compare
/// case-insensitively for ASCII letters (SQLite `NOCASE`).
#[derive(Clone)]
pub struct SqliteMeta {
    /// The one connection; locked only inside blocking tasks.
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteMeta").finish_non_exhaustive()
    }
}

impl SqliteMeta {
    /// Opens (creating it and its parent directory if needed) the database at `path`
    /// in WAL mode, and brings its schema up to date.
    ///
    /// Other processes (the API, endpoints) may be writing the same file: a start that
    /// finds the database busy in a way SQLite's busy handler does not wait out (a read
    /// snapshot gone stale under the migration check) is retried a few times.
    pub async fn open(path: &Path) -> Result<SqliteMeta> {
        let mut attempt = 0;
        loop {
            match Self::open_once(path.to_owned()).await {
                Err(StoreError::MetadataUnavailable(why)) if attempt < OPEN_RETRIES => {
                    attempt += 1;
                    tracing::debug!(path = %path.display(), %why, attempt, "database busy at open; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn open_once(path: std::path::PathBuf) -> Result<SqliteMeta> {
        blocking(move || {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(from_io)?;
            }
            let conn = Connection::open(&path).map_err(map_sqlite)?;
            // Before anything else: other processes (endpoints, the API) may be writing.
            conn.busy_timeout(BUSY_TIMEOUT).map_err(map_sqlite)?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(map_sqlite)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode");
            }
            Self::prepare(conn)
        })
        .await
    }

    /// A private database in memory (for tests and trials), with the full schema.
    pub async fn open_in_memory() -> Result<SqliteMeta> {
        blocking(|| Self::prepare(Connection::open_in_memory().map_err(map_sqlite)?)).await
    }

    /// Sets the connection options and runs the migrations.
    fn prepare(mut conn: Connection) -> Result<SqliteMeta> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(map_sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(map_sqlite)?;
        schema::migrations().to_latest(&mut conn).map_err(map_migration)?;
        Ok(SqliteMeta { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on the blocking pool. A call SQLite answers
    /// "busy" without waiting (a snapshot gone stale, or recovery, when other processes
    /// write the same file) is run again, up to [`BUSY_RETRIES`] times; each run is its
    /// own transaction, so a retried call happens once.
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        blocking(move || {
            // A panic mid-call rolled its transaction back while unwinding, so the
            // connection is still usable.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            let mut attempt = 0;
            loop {
                match f(&mut conn) {
                    Err(rusqlite::Error::SqliteFailure(e, message))
                        if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < BUSY_RETRIES =>
                    {
                        attempt += 1;
                        tracing::debug!(extended_code = e.extended_code, ?message, attempt, "database busy; retrying");
                        std::thread::sleep(Duration::from_millis(10 << attempt));
                    }
                    other => return other.map_err(map_sqlite),
                }
            }
        })
        .await
    }
}

/// What [`SqliteMeta::set_live_state`] did, inside its transaction.
enum LiveUpdate {
    /// Moved; the stream as it is now.
    Done(Box<Video>),
    /// No live stream with this id.
    NotFound,
    /// The change would take the stream back in its life: refused, nothing written.
    Backwards,
}

impl LiveUpdate {
    fn into_result(self) -> Result<Video> {
        match self {
            LiveUpdate::Done(video) => Ok(*video),
            LiveUpdate::NotFound => Err(StoreError::NotFound),
            LiveUpdate::Backwards => Err(StoreError::Conflict("live_state".to_owned())),
        }
    }
}

/// Runs `f` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Internal(format!("database task failed: {e}")))?
}

/// Runs a video query and collects the rows.
fn videos(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<Vec<Video>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, rows::video)?;
    rows.collect()
}

/// Runs one `UPDATE` of video `id` and reads the video back, in one transaction;
/// `None` when the update matched no row.
fn update_then_read(
    conn: &mut Connection,
    sql: &str,
    params: &[&dyn ToSql],
    id: &str,
) -> rusqlite::Result<Option<Video>> {
    Ok(update_then(conn, sql, params, |tx| video_where(tx, "v.id = ?1", &id))?.flatten())
}

/// Runs one conditional `UPDATE` and, when it matched a row, `read` after it, in one
/// transaction; `None` (nothing written) when the update matched no row.
fn update_then<T>(
    conn: &mut Connection,
    sql: &str,
    params: &[&dyn ToSql],
    read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if tx.prepare_cached(sql)?.execute(params)? == 0 {
        return Ok(None);
    }
    let value = read(&tx)?;
    tx.commit()?;
    Ok(Some(value))
}

/// `Ok` when an update matched a row (SQLite counts the rows matched, changed or not),
/// else `NotFound`.
fn matched(rows: usize) -> Result<()> {
    if rows == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// One video by sequence number or id.
fn video_where(conn: &Connection, condition: &str, param: &dyn ToSql) -> rusqlite::Result<Option<Video>> {
    let sql = format!("SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE {condition}");
    conn.prepare_cached(&sql)?.query_row([param], rows::video).optional()
}

/// Cuts `rows` (fetched with `limit + 1`) to `limit`, reporting whether more exist.
fn cut(mut rows: Vec<Video>, limit: u32) -> (Vec<Video>, bool) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    (rows, more)
}

/// A newest-first page of `listing` by keyset (items with `seq` below the token's).
async fn keyset_page(meta: &SqliteMeta, listing: Listing, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
    if limit == 0 {
        return Ok(Page { items: Vec::new(), next: None });
    }
    let before = match start {
        Some(PageToken::Before(seq)) => seq,
        _ => i64::MAX,
    };
    let rows = meta
        .call(move |conn| {
            let (condition, param) = listing.condition("?1");
            let sql = format!(
                "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE {condition} AND v.seq < ?2 \
                 ORDER BY v.seq DESC LIMIT ?3"
            );
            videos(conn, &sql, &[&param, &before, &(i64::from(limit) + 1)])
        })
        .await?;
    let (items, more) = cut(rows, limit);
    let next = if more { items.last().map(|v| PageToken::Before(v.seq)) } else { None };
    Ok(Page { items, next })
}

/// The store error for an edit or delete that found something in the way.
fn outcome<T>(outcome: social::Outcome<T>) -> Result<T> {
    match outcome {
        social::Outcome::Done(value) => Ok(value),
        social::Outcome::NotFound => Err(StoreError::NotFound),
        social::Outcome::Conflict(what) => Err(StoreError::Conflict(what.to_owned())),
    }
}

#[async_trait]
impl MetaStore for SqliteMeta {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.call(move |conn| {
            let id = conn.query_row(
                "INSERT INTO users (username, email, password_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![user.username, user.email, user.password_hash, user.created_at],
                |r| r.get(0),
            )?;
            Ok(User { id, username: user.username.clone(), email: user.email.clone(), created_at: user.created_at })
        })
        .await
    }

    async fn user_credentials(&self, credential: &str) -> Result<Option<UserCredentials>> {
        let credential = credential.to_owned();
        self.call(move |conn| {
            // A username match wins over an e-mail match of another account.
            let sql = format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                 WHERE u.username = ?1 OR u.email = ?1 ORDER BY u.username = ?1 DESC LIMIT 1"
            );
            conn.prepare_cached(&sql)?
                .query_row([&credential], |r| Ok(UserCredentials { user: rows::user(r)?, password_hash: r.get(4)? }))
                .optional()
        })
        .await
    }

    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: i64) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)")?
                .execute(params![token_hash, user_id, expires_at])?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<User>> {
        let token_hash = token_hash.to_owned();
        self.call(move |conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            );
            conn.prepare_cached(&sql)?.query_row(params![token_hash, now], rows::user).optional()
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?.execute([&token_hash])?;
            Ok(())
        })
        .await
    }

    async fn create_video(&self, video: NewVideo) -> Result<Video> {
        let created = self
            .call(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let seq: i64 = tx
                    .prepare_cached(&insert_video_sql("RETURNING seq"))?
                    .query_row(video_params(&video).as_params().as_slice(), |r| r.get(0))?;
                let created = video_where(&tx, "v.seq = ?1", &seq)?;
                tx.commit()?;
                Ok(created)
            })
            .await?;
        created.ok_or_else(|| StoreError::Internal("a created video vanished".to_owned()))
    }

    async fn import_videos(&self, videos: Vec<NewVideo>) -> Result<usize> {
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut inserted = 0;
            {
                let mut stmt = tx.prepare_cached(&insert_video_sql("ON CONFLICT (id) DO NOTHING"))?;
                for video in &videos {
                    inserted += stmt.execute(video_params(video).as_params().as_slice())?;
                }
            }
            tx.commit()?;
            Ok(inserted)
        })
        .await
    }

    async fn video(&self, id: &str) -> Result<Option<Video>> {
        let id = id.to_owned();
        self.call(move |conn| video_where(conn, "v.id = ?1", &id)).await
    }

    async fn publish_video(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video> {
        let id = id.to_owned();
        let media = media.clone();
        self.call(move |conn| {
            update_then_read(
                conn,
                "UPDATE videos SET visibility = 'public', media_staged = 0, \
                 video_key = ?2, preview_key = ?3, duration_ms = ?4, published_at = ?5 \
                 WHERE id = ?1 AND source = 'MYVID' AND media_staged = 1",
                params![id, media.video_key, media.preview_key, media.duration_ms, now],
                &id,
            )
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn set_live_state(&self, id: &str, state: LiveState, host: Option<&str>, now: i64) -> Result<Video> {
        let id = id.to_owned();
        let host = host.map(str::to_owned);
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<String> = tx
                .prepare_cached("SELECT live_state FROM videos WHERE id = ?1 AND source = 'LIVE'")?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            let Some(current) = current else { return Ok(LiveUpdate::NotFound) };
            if rows::live_state(&current).is_some_and(|current| !current.may_become(state)) {
                return Ok(LiveUpdate::Backwards);
            }
            tx.prepare_cached(
                "UPDATE videos SET live_state = ?2, \
                 visibility = CASE WHEN ?2 = 'live' THEN 'public' ELSE 'private' END, \
                 published_at = CASE WHEN ?2 = 'live' THEN COALESCE(published_at, ?3) ELSE published_at END, \
                 live_host = CASE WHEN ?2 = 'live' THEN COALESCE(?4, live_host) END \
                 WHERE id = ?1",
            )?
            .execute(params![id, state.as_str(), now, host])?;
            let video = video_where(&tx, "v.id = ?1", &id)?;
            tx.commit()?;
            Ok(video.map_or(LiveUpdate::NotFound, |video| LiveUpdate::Done(Box::new(video))))
        })
        .await?
        .into_result()
    }

    async fn end_all_live(&self, _now: i64) -> Result<usize> {
        self.call(|conn| {
            conn.prepare_cached(
                "UPDATE videos SET live_state = 'ended', visibility = 'private', live_host = NULL \
                 WHERE source = 'LIVE' AND live_state = 'live'",
            )?
            .execute([])
        })
        .await
    }

    async fn note_recording_segment(&self, id: &str, index: u32) -> Result<()> {
        let id = id.to_owned();
        let rows = self
            .call(move |conn| {
                conn.prepare_cached(
                    "UPDATE videos SET recording_segments = MAX(recording_segments, ?2) \
                     WHERE id = ?1 AND source = 'LIVE'",
                )?
                .execute(params![id, index])
            })
            .await?;
        matched(rows)
    }

    async fn claim_recording(&self, id: &str, claimer: &str, now: i64, until: i64) -> Result<Option<u32>> {
        let (id, claimer) = (id.to_owned(), claimer.to_owned());
        self.call(move |conn| {
            update_then(
                conn,
                "UPDATE videos SET recording_claim = ?2, recording_claim_until = ?4 \
                 WHERE id = ?1 AND source = 'LIVE' AND live_state = 'ended' AND recording_segments > 0 \
                 AND (recording_claim IS NULL OR recording_claim_until <= ?3 OR recording_claim = ?2)",
                params![id, claimer, now, until],
                |tx| {
                    tx.prepare_cached("SELECT recording_segments FROM videos WHERE id = ?1")?
                        .query_row([&id], |r| r.get(0))
                },
            )
        })
        .await
    }

    async fn unfinished_recordings(&self, now: i64, limit: u32) -> Result<Vec<String>> {
        self.call(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id FROM videos \
                 WHERE recording_segments > 0 AND source = 'LIVE' AND live_state = 'ended' \
                 AND (recording_claim IS NULL OR recording_claim_until <= ?1) \
                 ORDER BY seq LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now, i64::from(limit)], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }

    async fn publish_recording(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video> {
        let id = id.to_owned();
        let media = media.clone();
        self.call(move |conn| {
            update_then_read(
                conn,
                "UPDATE videos SET source = 'MYVID', live_state = NULL, live_host = NULL, media_staged = 0, live_record = 1, \
                 video_key = ?2, preview_key = ?3, duration_ms = ?4, \
                 visibility = 'public', published_at = COALESCE(published_at, ?5), \
                 recording_segments = 0, recording_claim = NULL, recording_claim_until = NULL \
                 WHERE id = ?1 AND source = 'LIVE' AND live_state = 'ended' AND recording_segments > 0",
                params![id, media.video_key, media.preview_key, media.duration_ms, now],
                &id,
            )
        })
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn drop_recording(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        let rows = self
            .call(move |conn| {
                conn.prepare_cached(
                    "UPDATE videos SET recording_segments = 0, recording_claim = NULL, recording_claim_until = NULL \
                     WHERE id = ?1 AND source = 'LIVE'",
                )?
                .execute([&id])
            })
            .await?;
        matched(rows)
    }

    async fn end_orphaned_live(&self, alive: &[String], _now: i64) -> Result<usize> {
        if alive.is_empty() {
            return Ok(0);
        }
        let alive = alive.to_vec();
        self.call(move |conn| {
            let marks = vec!["?"; alive.len()].join(", ");
            let sql = format!(
                "UPDATE videos SET live_state = 'ended', visibility = 'private', live_host = NULL \
                 WHERE source = 'LIVE' AND live_state = 'live' AND live_host IS NOT NULL AND live_host NOT IN ({marks})"
            );
            conn.prepare(&sql)?.execute(rusqlite::params_from_iter(alive.iter()))
        })
        .await
    }

    async fn heartbeat(&self, server: ServerEntry) -> Result<()> {
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO servers (id, kind, url, load, turn, media, heartbeat_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET \
                 kind = ?2, url = ?3, load = ?4, turn = ?5, media = ?6, heartbeat_at = ?7",
            )?
            .execute(params![
                server.id,
                server.kind.as_str(),
                server.url,
                server.load,
                server.turn,
                server.media,
                server.heartbeat_at
            ])
            .map(drop)
        })
        .await
    }

    async fn live_servers(&self, kind: ServerKind, since: i64) -> Result<Vec<ServerEntry>> {
        self.call(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, url, load, turn, media, heartbeat_at FROM servers WHERE kind = ?1 AND heartbeat_at >= ?2 \
                 ORDER BY load, id",
            )?;
            let rows = statement.query_map(params![kind.as_str(), since], |row| {
                Ok(ServerEntry {
                    id: row.get(0)?,
                    kind,
                    url: row.get(1)?,
                    load: row.get(2)?,
                    turn: row.get(3)?,
                    media: row.get(4)?,
                    heartbeat_at: row.get(5)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn remove_server(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.call(move |conn| conn.prepare_cached("DELETE FROM servers WHERE id = ?1")?.execute([&id]).map(drop)).await
    }

    async fn expire_servers(&self, before: i64) -> Result<usize> {
        self.call(move |conn| conn.prepare_cached("DELETE FROM servers WHERE heartbeat_at < ?1")?.execute([before]))
            .await
    }

    async fn search_public(&self, query: &str, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        let Some(expression) = fts::match_expression(query).filter(|_| limit > 0) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let offset = offset_of(start);
        let rows = self
            .call(move |conn| {
                let sql = format!(
                    "SELECT {VIDEO_COLUMNS} FROM videos_fts JOIN videos v ON v.seq = videos_fts.rowid {VIDEO_JOINS} \
                     WHERE videos_fts MATCH ?1 AND v.visibility = 'public' \
                     ORDER BY bm25(videos_fts, 10.0, 1.0), v.seq DESC LIMIT ?2 OFFSET ?3"
                );
                videos(conn, &sql, &[&expression, &(i64::from(limit) + 1), &i64::from(offset)])
            })
            .await?;
        let (items, more) = cut(rows, limit);
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn list_public(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        keyset_page(self, Listing::Public, limit, start).await
    }

    async fn random_public(&self, limit: u32) -> Result<Vec<Video>> {
        self.call(move |conn| {
            let sql = format!(
                "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.visibility = 'public' \
                 ORDER BY random() LIMIT ?1"
            );
            videos(conn, &sql, &[&i64::from(limit)])
        })
        .await
    }

    async fn list_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        keyset_page(self, Listing::Owner(owner_id), limit, start).await
    }

    async fn enqueue_transcode(&self, job: NewJob) -> Result<Job> {
        self.call(move |conn| jobs::enqueue_transcode(conn, &job)).await?.ok_or(StoreError::NotFound)
    }

    async fn videos_without_transcode(&self, limit: u32) -> Result<Vec<(String, String)>> {
        self.call(move |conn| jobs::videos_without_transcode(conn, limit)).await
    }

    async fn claim_job(
        &self,
        kinds: &[JobKind],
        worker: &str,
        token: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<Job>> {
        let (kinds, worker, token) = (kinds.to_vec(), worker.to_owned(), token.to_owned());
        self.call(move |conn| jobs::claim_job(conn, &kinds, &worker, &token, now, lease_until)).await
    }

    async fn renew_job(
        &self,
        id: &str,
        token: &str,
        now: i64,
        lease_until: i64,
        progress_permille: u16,
    ) -> Result<bool> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.call(move |conn| jobs::renew_job(conn, &id, &token, now, lease_until, progress_permille)).await
    }

    async fn fail_job(&self, id: &str, token: &str, error: &str, retry_at: i64, now: i64) -> Result<FailOutcome> {
        let (id, token, error) = (id.to_owned(), token.to_owned(), error.to_owned());
        self.call(move |conn| jobs::fail_job(conn, &id, &token, &error, retry_at, now)).await
    }

    async fn release_job(&self, id: &str, token: &str, now: i64, run_after: i64) -> Result<bool> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.call(move |conn| jobs::release_job(conn, &id, &token, now, run_after)).await
    }

    async fn complete_transcode(&self, id: &str, token: &str, hls: &HlsMedia, now: i64) -> Result<bool> {
        let (id, token, hls) = (id.to_owned(), token.to_owned(), hls.clone());
        self.call(move |conn| jobs::complete_transcode(conn, &id, &token, &hls, now)).await
    }

    async fn expire_jobs(&self, now: i64) -> Result<usize> {
        self.call(move |conn| jobs::expire_jobs(conn, now)).await
    }

    async fn transcode_job(&self, video_id: &str) -> Result<Option<Job>> {
        let video_id = video_id.to_owned();
        self.call(move |conn| jobs::transcode_job(conn, &video_id)).await
    }

    async fn update_video(&self, id: &str, owner: i64, change: &VideoChange, now: i64) -> Result<Video> {
        let (id, change) = (id.to_owned(), change.clone());
        outcome(self.call(move |conn| social::update_video(conn, &id, owner, &change, now)).await?)
    }

    async fn delete_video(&self, id: &str, owner: i64, purge: &NewPurge) -> Result<()> {
        let (id, purge) = (id.to_owned(), purge.clone());
        outcome(self.call(move |conn| social::delete_video(conn, &id, owner, &purge)).await?)
    }

    async fn complete_purge(&self, id: &str, token: &str, now: i64) -> Result<bool> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.call(move |conn| jobs::complete_purge(conn, &id, &token, now)).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_owned();
        self.call(move |conn| social::user_by_name(conn, &username)).await
    }

    async fn list_public_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        keyset_page(self, Listing::OwnerPublic(owner_id), limit, start).await
    }

    async fn list_live(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        keyset_page(self, Listing::Live, limit, start).await
    }

    async fn live_by_owner(&self, owner_id: i64) -> Result<Option<Video>> {
        Ok(keyset_page(self, Listing::OwnerLive(owner_id), 1, None).await?.items.into_iter().next())
    }

    async fn list_popular(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let offset = offset_of(start);
        let rows = self
            .call(move |conn| {
                let sql = format!(
                    "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.visibility = 'public' \
                     ORDER BY COALESCE(s.views, 0) DESC, v.seq DESC LIMIT ?1 OFFSET ?2"
                );
                videos(conn, &sql, &[&(i64::from(limit) + 1), &i64::from(offset)])
            })
            .await?;
        let (items, more) = cut(rows, limit);
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn co_watched(&self, id: &str, min_n: u32, limit: u32) -> Result<Vec<Video>> {
        let id = id.to_owned();
        self.call(move |conn| social::co_watched(conn, &id, min_n, limit)).await
    }

    async fn follow(&self, follower: i64, followee: i64, now: i64) -> Result<bool> {
        if follower == followee {
            return Err(StoreError::Conflict("self".to_owned()));
        }
        self.call(move |conn| social::follow(conn, follower, followee, now)).await?.ok_or(StoreError::NotFound)
    }

    async fn unfollow(&self, follower: i64, followee: i64) -> Result<bool> {
        self.call(move |conn| social::unfollow(conn, follower, followee)).await
    }

    async fn follow_state(&self, viewer: Option<i64>, channel: i64) -> Result<(u64, bool)> {
        self.call(move |conn| social::follow_state(conn, viewer, channel)).await
    }

    async fn following(&self, follower: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Followed>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let offset = offset_of(start);
        let (items, more) = self.call(move |conn| social::following(conn, follower, limit, offset)).await?;
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn followers_among(&self, followee: i64, candidates: &[i64]) -> Result<Vec<i64>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = candidates.to_vec();
        self.call(move |conn| social::followers_among(conn, followee, &candidates)).await
    }

    async fn count_views(&self, marks: &[ViewMark], window_secs: i64, now: i64) -> Result<u64> {
        if marks.is_empty() {
            return Ok(0);
        }
        let marks = marks.to_vec();
        self.call(move |conn| social::count_views(conn, &marks, window_secs, now)).await
    }

    async fn prune_view_marks(&self, before: i64, limit: u32) -> Result<usize> {
        self.call(move |conn| social::prune_view_marks(conn, before, limit)).await
    }
}

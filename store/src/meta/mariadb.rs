//! [`MariaMeta`]: the [`MetaStore`] on MariaDB, a single server or a Galera cluster,
//! over `mysql_async`.
//!
//! Behaves like [`SqliteMeta`](crate::SqliteMeta) (the conformance suite runs against
//! both): the same results, errors and paging. Search uses two InnoDB FULLTEXT
//! indexes in boolean mode: title and description together find the rows, which are
//! ranked by their title's relevance first, then by the relevance of both. (Relevance
//! values are only compared, never computed with: MariaDB 10.11 can return a value
//! that any arithmetic refuses as out of range.) It needs `innodb_ft_min_token_size = 1`
//! and `innodb_ft_enable_stopword = OFF` on the server to find short and common words
//! as SQLite does (a warning is logged at start otherwise).
//!
//! Node choice, failover, retries and timeouts are in `cluster.rs`. Every write can be
//! retried after an unknown outcome without duplicating anything: inserts are keyed
//! (a clash with the row this very operation wrote is recognised as success), updates
//! are conditional and idempotent.

mod cluster;
mod errors;
mod fts;
mod jobs;
mod options;
mod rows;
mod schema;
mod seq;
mod social;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, TxOpts, Value};

use self::cluster::Cluster;
use self::errors::Failure;
pub use self::options::MariaOptions;
use super::columns::{Listing, NEW_VIDEO_COLUMNS, USER_COLUMNS, VIDEO_COLUMNS, VIDEO_FROM, live_state, offset_of};
use super::{
    FailOutcome, Followed, HlsMedia, Job, JobKind, LiveState, MetaStore, NewJob, NewPurge, NewUser, NewVideo, Page,
    PageToken, PublishedMedia, ServerEntry, ServerKind, User, UserCredentials, Video, VideoChange, VideoSource,
    ViewMark,
};
use crate::error::{Result, StoreError};

/// Rows per `INSERT` statement of an import.
const IMPORT_BATCH: usize = 200;

/// The metadata store on MariaDB / Galera.
///
/// Paging: searches continue with [`PageToken::Offset`], listings with
/// [`PageToken::Before`]; a token of the other kind is treated as "from the start".
pub struct MariaMeta {
    cluster: Cluster,
}

impl std::fmt::Debug for MariaMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaMeta").field("cluster", &self.cluster).finish()
    }
}

impl MariaMeta {
    /// Connects to the nodes of `options` and brings the schema up to date (once per
    /// cluster, however many processes start together). Fails with
    /// `MetadataUnavailable` when no node answers within the timeouts.
    pub async fn open(options: &MariaOptions) -> Result<MariaMeta> {
        let cluster = Cluster::new(options).map_err(StoreError::Internal)?;
        let holder = format!("{:016x}", rand::random::<u64>());
        let version = cluster
            .run_long("migrate", schema::wait_limit(), move |conn| {
                let holder = holder.clone();
                Box::pin(async move { schema::migrate(conn, &holder).await })
            })
            .await?;
        let settings: (Option<u32>, Option<i64>) = cluster
            .run("settings", |conn| {
                Box::pin(async move {
                    let row: Option<(Option<u32>, Option<i64>)> =
                        conn.query_first("SELECT @@innodb_ft_min_token_size, @@innodb_ft_enable_stopword").await?;
                    Ok(row.unwrap_or((None, None)))
                })
            })
            .await?;
        if settings.0.unwrap_or(3) > 1 || settings.1.unwrap_or(1) != 0 {
            tracing::warn!(
                innodb_ft_min_token_size = ?settings.0,
                innodb_ft_enable_stopword = ?settings.1,
                "search will miss short or common words: set innodb_ft_min_token_size=1 and \
                 innodb_ft_enable_stopword=OFF on the database servers (infra/galera/README.md)"
            );
        }
        tracing::info!(nodes = ?options.nodes, database = %options.database, version, "metadata on MariaDB");
        Ok(MariaMeta { cluster })
    }

    /// Closes the connection pools.
    pub async fn close(&self) {
        self.cluster.close().await;
    }
}

/// One video by id, on `conn`.
async fn video_by_id(conn: &mut impl Queryable, id: &str) -> Result<Option<Video>, Failure> {
    let sql = format!("SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.id = ?");
    let row: Option<Row> = conn.exec_first(sql, (id,)).await?;
    row.map(rows::video).transpose()
}

/// Runs one `UPDATE` of live stream `id` in a transaction: `NotFound` when there is no
/// live stream with this id. MariaDB counts only the rows an update changed, so when it
/// changed none the stream is looked for (it may have been left as it was).
async fn update_live_stream(conn: &mut Conn, sql: &str, params: Vec<Value>, id: &str) -> Result<(), Failure> {
    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    tx.exec_drop(sql, params).await?;
    if tx.affected_rows() == 0 {
        let found: Option<i64> = tx.exec_first("SELECT 1 FROM videos WHERE id = ? AND source = 'LIVE'", (id,)).await?;
        if found.is_none() {
            return Err(StoreError::NotFound.into());
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Whether `video` is the recording `media` published (so a publication that changed
/// nothing was this operation's own earlier attempt: the keys are unique to it).
fn published_with(video: &Video, media: &PublishedMedia) -> bool {
    matches!(&video.source, VideoSource::Stored { video_key, preview_key }
        if *video_key == media.video_key && *preview_key == media.preview_key)
        && video.duration_ms == Some(media.duration_ms)
}

/// Cuts `rows` (fetched with `limit + 1`) to `limit`, reporting whether more exist.
fn cut(mut rows: Vec<Video>, limit: u32) -> (Vec<Video>, bool) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    (rows, more)
}

/// The `INSERT` of `count` videos (`seq` then [`NEW_VIDEO_COLUMNS`]), then `tail`.
fn insert_videos_sql(count: usize, tail: &str) -> String {
    let one = format!("({})", vec!["?"; 18].join(", "));
    let values = vec![one; count].join(", ");
    format!("INSERT INTO videos (seq, {NEW_VIDEO_COLUMNS}) VALUES {values} {tail}")
}

/// Whether `existing` is the record `new` asked for (so an insert that clashed on its
/// id was this operation's own earlier attempt).
fn same_record(existing: &Video, new: &NewVideo) -> bool {
    existing.id == new.id
        && existing.owner_id == new.owner_id
        && existing.title == new.title
        && existing.description == new.description
        && existing.created_at == new.created_at
        && existing.source == new.source
}

impl MariaMeta {
    /// A newest-first page of `listing` by keyset (items with `seq` below the token's).
    async fn keyset_page(&self, listing: Listing, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let before = match start {
            Some(PageToken::Before(seq)) => seq,
            _ => i64::MAX,
        };
        let rows = self
            .cluster
            .run("list videos", move |conn| {
                Box::pin(async move {
                    let (condition, owner) = listing.condition("?");
                    let sql = format!(
                        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE {condition} AND v.seq < ? \
                         ORDER BY v.seq DESC LIMIT ?"
                    );
                    let mut params: Vec<Value> = owner.into_iter().map(Value::from).collect();
                    params.extend([Value::from(before), Value::from(i64::from(limit) + 1)]);
                    let rows: Vec<Row> = conn.exec(sql, params).await?;
                    rows::videos(rows)
                })
            })
            .await?;
        let (items, more) = cut(rows, limit);
        let next = if more { items.last().map(|v| PageToken::Before(v.seq)) } else { None };
        Ok(Page { items, next })
    }
}

#[async_trait]
impl MetaStore for MariaMeta {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.cluster
            .run("create user", move |conn| {
                let user = user.clone();
                Box::pin(async move {
                    let inserted = conn
                        .exec_drop(
                            "INSERT INTO users (username, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
                            (user.username.as_str(), user.email.as_str(), user.password_hash.as_str(), user.created_at),
                        )
                        .await
                        .map_err(Failure::from);
                    match inserted {
                        Ok(()) => {
                            let id = conn.last_insert_id().and_then(|id| i64::try_from(id).ok()).ok_or_else(|| {
                                StoreError::Internal("the server reported no id for a new user".into())
                            })?;
                            Ok(User { id, username: user.username, email: user.email, created_at: user.created_at })
                        }
                        Err(Failure::Final(StoreError::Conflict(column))) => {
                            // An earlier attempt of this very sign-up may have been committed
                            // with its answer lost: the salted hash tells it apart.
                            let sql =
                                format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = ?");
                            if let Some(mut row) = conn.exec_first::<Row, _, _>(sql, (user.username.as_str(),)).await?
                                && rows::take::<String>(&mut row, 4)? == user.password_hash
                            {
                                return rows::user(&mut row);
                            }
                            Err(StoreError::Conflict(column).into())
                        }
                        Err(other) => Err(other),
                    }
                })
            })
            .await
    }

    async fn user_credentials(&self, credential: &str) -> Result<Option<UserCredentials>> {
        let credential = credential.to_owned();
        self.cluster
            .run("find user", move |conn| {
                let credential = credential.clone();
                Box::pin(async move {
                    // A username match wins over an e-mail match of another account.
                    let sql = format!(
                        "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                         WHERE u.username = ? OR u.email = ? ORDER BY u.username = ? DESC LIMIT 1"
                    );
                    let c = credential.as_str();
                    let Some(mut row) = conn.exec_first::<Row, _, _>(sql, (c, c, c)).await? else { return Ok(None) };
                    Ok(Some(UserCredentials { user: rows::user(&mut row)?, password_hash: rows::take(&mut row, 4)? }))
                })
            })
            .await
    }

    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: i64) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.cluster
            .run("create session", move |conn| {
                let token_hash = token_hash.clone();
                Box::pin(async move {
                    let inserted = conn
                        .exec_drop(
                            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                            (token_hash.as_str(), user_id, expires_at),
                        )
                        .await
                        .map_err(Failure::from);
                    match inserted {
                        // The token is 256 random bits: a clash is this session's own retry.
                        Err(Failure::Final(StoreError::Conflict(column))) => {
                            let owner: Option<i64> = conn
                                .exec_first("SELECT user_id FROM sessions WHERE token_hash = ?", (token_hash.as_str(),))
                                .await?;
                            if owner == Some(user_id) { Ok(()) } else { Err(StoreError::Conflict(column).into()) }
                        }
                        other => other,
                    }
                })
            })
            .await
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<User>> {
        let token_hash = token_hash.to_owned();
        self.cluster
            .run("find session", move |conn| {
                let token_hash = token_hash.clone();
                Box::pin(async move {
                    let sql = format!(
                        "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
                         WHERE s.token_hash = ? AND s.expires_at > ?"
                    );
                    let row: Option<Row> = conn.exec_first(sql, (token_hash.as_str(), now)).await?;
                    row.map(|mut row| rows::user(&mut row)).transpose()
                })
            })
            .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.cluster
            .run("end session", move |conn| {
                let token_hash = token_hash.clone();
                Box::pin(async move {
                    conn.exec_drop("DELETE FROM sessions WHERE token_hash = ?", (token_hash.as_str(),)).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn create_video(&self, video: NewVideo) -> Result<Video> {
        self.cluster
            .run("create video", move |conn| {
                let video = video.clone();
                Box::pin(async move {
                    loop {
                        let values = rows::new_video_values(seq::next(), &video);
                        match conn.exec_drop(insert_videos_sql(1, ""), values).await.map_err(Failure::from) {
                            Ok(()) => break,
                            // Two processes drew the same sequence number: draw again.
                            Err(Failure::Final(StoreError::Conflict(key))) if key == "PRIMARY" => {}
                            Err(Failure::Final(StoreError::Conflict(key))) => {
                                return match video_by_id(conn, &video.id).await? {
                                    Some(existing) if same_record(&existing, &video) => Ok(existing),
                                    _ => Err(StoreError::Conflict(key).into()),
                                };
                            }
                            Err(other) => return Err(other),
                        }
                    }
                    video_by_id(conn, &video.id)
                        .await?
                        .ok_or_else(|| StoreError::Internal("a created video vanished".into()).into())
                })
            })
            .await
    }

    async fn import_videos(&self, videos: Vec<NewVideo>) -> Result<usize> {
        let videos = std::sync::Arc::new(videos);
        self.cluster
            .run("import videos", move |conn| {
                let videos = std::sync::Arc::clone(&videos);
                Box::pin(async move {
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    let mut inserted = 0;
                    for batch in videos.chunks(IMPORT_BATCH) {
                        let values: Vec<Value> =
                            batch.iter().flat_map(|v| rows::new_video_values(seq::next(), v)).collect();
                        // An existing id is skipped (the statement changes nothing for it).
                        tx.exec_drop(insert_videos_sql(batch.len(), "ON DUPLICATE KEY UPDATE id = id"), values).await?;
                        inserted += usize::try_from(tx.affected_rows()).unwrap_or(usize::MAX);
                    }
                    tx.commit().await?;
                    Ok(inserted)
                })
            })
            .await
    }

    async fn video(&self, id: &str) -> Result<Option<Video>> {
        let id = id.to_owned();
        self.cluster
            .run("find video", move |conn| {
                let id = id.clone();
                Box::pin(async move { video_by_id(conn, &id).await })
            })
            .await
    }

    async fn publish_video(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video> {
        let (id, media) = (id.to_owned(), media.clone());
        self.cluster
            .run("publish video", move |conn| {
                let (id, media) = (id.clone(), media.clone());
                Box::pin(async move {
                    conn.exec_drop(
                        "UPDATE videos SET visibility = 'public', media_staged = FALSE, video_key = ?, \
                         preview_key = ?, duration_ms = ?, published_at = ? \
                         WHERE id = ? AND source = 'MYVID' AND media_staged",
                        (media.video_key.as_str(), media.preview_key.as_str(), media.duration_ms, now, id.as_str()),
                    )
                    .await?;
                    let video = video_by_id(conn, &id).await?;
                    // Nothing changed: not a staged upload, unless this publication's own
                    // earlier attempt already went through (its keys are unique to it).
                    match video {
                        Some(video)
                            if matches!(&video.source, VideoSource::Stored { video_key, .. } if *video_key == media.video_key) =>
                        {
                            Ok(video)
                        }
                        _ => Err(StoreError::NotFound.into()),
                    }
                })
            })
            .await
    }

    async fn set_live_state(&self, id: &str, state: LiveState, host: Option<&str>, now: i64) -> Result<Video> {
        let id = id.to_owned();
        let host = host.map(str::to_owned);
        self.cluster
            .run("set live state", move |conn| {
                let (id, host) = (id.clone(), host.clone());
                Box::pin(async move {
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    let current: Option<String> = tx
                        .exec_first(
                            "SELECT live_state FROM videos WHERE id = ? AND source = 'LIVE' FOR UPDATE",
                            (id.as_str(),),
                        )
                        .await?;
                    let Some(current) = current else { return Err(StoreError::NotFound.into()) };
                    if live_state(&current).is_some_and(|current| !current.may_become(state)) {
                        return Err(StoreError::Conflict("live_state".into()).into());
                    }
                    tx.exec_drop(
                        "UPDATE videos SET live_state = ?, \
                         visibility = CASE WHEN ? = 'live' THEN 'public' ELSE 'private' END, \
                         published_at = CASE WHEN ? = 'live' THEN COALESCE(published_at, ?) ELSE published_at END, \
                         live_host = CASE WHEN ? = 'live' THEN COALESCE(?, live_host) END \
                         WHERE id = ?",
                        (
                            state.as_str(),
                            state.as_str(),
                            state.as_str(),
                            now,
                            state.as_str(),
                            host.as_deref(),
                            id.as_str(),
                        ),
                    )
                    .await?;
                    let video = video_by_id(&mut tx, &id).await?;
                    tx.commit().await?;
                    video.ok_or_else(|| StoreError::NotFound.into())
                })
            })
            .await
    }

    async fn end_all_live(&self, _now: i64) -> Result<usize> {
        self.cluster
            .run("end live streams", |conn| {
                Box::pin(async move {
                    conn.query_drop(
                        "UPDATE videos SET live_state = 'ended', visibility = 'private', live_host = NULL \
                         WHERE source = 'LIVE' AND live_state = 'live'",
                    )
                    .await?;
                    Ok(usize::try_from(conn.affected_rows()).unwrap_or(usize::MAX))
                })
            })
            .await
    }

    async fn note_recording_segment(&self, id: &str, index: u32) -> Result<()> {
        let id = id.to_owned();
        self.cluster
            .run("note recording segment", move |conn| {
                let id = id.clone();
                Box::pin(async move {
                    update_live_stream(
                        conn,
                        "UPDATE videos SET recording_segments = GREATEST(recording_segments, ?) \
                         WHERE id = ? AND source = 'LIVE'",
                        vec![index.into(), id.as_str().into()],
                        &id,
                    )
                    .await
                })
            })
            .await
    }

    async fn claim_recording(&self, id: &str, claimer: &str, now: i64, until: i64) -> Result<Option<u32>> {
        let (id, claimer) = (id.to_owned(), claimer.to_owned());
        self.cluster
            .run("claim recording", move |conn| {
                let (id, claimer) = (id.clone(), claimer.clone());
                Box::pin(async move {
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    tx.exec_drop(
                        "UPDATE videos SET recording_claim = ?, recording_claim_until = ? \
                         WHERE id = ? AND source = 'LIVE' AND live_state = 'ended' AND recording_segments > 0 \
                         AND (recording_claim IS NULL OR recording_claim_until <= ? OR recording_claim = ?)",
                        (claimer.as_str(), until, id.as_str(), now, claimer.as_str()),
                    )
                    .await?;
                    let changed = tx.affected_rows() > 0;
                    let row: Option<(u32, Option<String>, Option<i64>)> = tx
                        .exec_first(
                            "SELECT recording_segments, recording_claim, recording_claim_until FROM videos \
                             WHERE id = ? AND source = 'LIVE' AND live_state = 'ended'",
                            (id.as_str(),),
                        )
                        .await?;
                    tx.commit().await?;
                    // Nothing changed: lost, unless the claim already is exactly this one (an
                    // earlier attempt of this call, or a renewal to the same time).
                    Ok(row
                        .filter(|(segments, holder, held_until)| {
                            *segments > 0
                                && (changed
                                    || (holder.as_deref() == Some(claimer.as_str()) && *held_until == Some(until)))
                        })
                        .map(|(segments, ..)| segments))
                })
            })
            .await
    }

    async fn unfinished_recordings(&self, now: i64, limit: u32) -> Result<Vec<String>> {
        self.cluster
            .run("unfinished recordings", move |conn| {
                Box::pin(async move {
                    let ids: Vec<String> = conn
                        .exec(
                            "SELECT id FROM videos \
                             WHERE recording_segments > 0 AND source = 'LIVE' AND live_state = 'ended' \
                             AND (recording_claim IS NULL OR recording_claim_until <= ?) \
                             ORDER BY seq LIMIT ?",
                            (now, i64::from(limit)),
                        )
                        .await?;
                    Ok(ids)
                })
            })
            .await
    }

    async fn publish_recording(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video> {
        let (id, media) = (id.to_owned(), media.clone());
        self.cluster
            .run("publish recording", move |conn| {
                let (id, media) = (id.clone(), media.clone());
                Box::pin(async move {
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    tx.exec_drop(
                        "UPDATE videos SET source = 'MYVID', live_state = NULL, live_host = NULL, \
                         media_staged = FALSE, live_record = TRUE, video_key = ?, preview_key = ?, duration_ms = ?, \
                         visibility = 'public', published_at = COALESCE(published_at, ?), \
                         recording_segments = 0, recording_claim = NULL, recording_claim_until = NULL \
                         WHERE id = ? AND source = 'LIVE' AND live_state = 'ended' AND recording_segments > 0",
                        (media.video_key.as_str(), media.preview_key.as_str(), media.duration_ms, now, id.as_str()),
                    )
                    .await?;
                    let changed = tx.affected_rows() > 0;
                    let video = video_by_id(&mut tx, &id).await?;
                    tx.commit().await?;
                    // Nothing changed: not an ended stream with a recording, unless this
                    // publication's own earlier attempt already went through.
                    match video {
                        Some(video) if changed || published_with(&video, &media) => Ok(video),
                        _ => Err(StoreError::NotFound.into()),
                    }
                })
            })
            .await
    }

    async fn drop_recording(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.cluster
            .run("drop recording", move |conn| {
                let id = id.clone();
                Box::pin(async move {
                    update_live_stream(
                        conn,
                        "UPDATE videos SET recording_segments = 0, recording_claim = NULL, \
                         recording_claim_until = NULL WHERE id = ? AND source = 'LIVE'",
                        vec![id.as_str().into()],
                        &id,
                    )
                    .await
                })
            })
            .await
    }

    async fn end_orphaned_live(&self, alive: &[String], _now: i64) -> Result<usize> {
        if alive.is_empty() {
            return Ok(0);
        }
        let alive = alive.to_vec();
        self.cluster
            .run("end orphaned streams", move |conn| {
                let alive = alive.clone();
                Box::pin(async move {
                    let marks = vec!["?"; alive.len()].join(", ");
                    let sql = format!(
                        "UPDATE videos SET live_state = 'ended', visibility = 'private', live_host = NULL \
                         WHERE source = 'LIVE' AND live_state = 'live' AND live_host IS NOT NULL \
                         AND live_host NOT IN ({marks})"
                    );
                    let values: Vec<Value> = alive.iter().map(|h| h.as_str().into()).collect();
                    conn.exec_drop(sql, values).await?;
                    Ok(usize::try_from(conn.affected_rows()).unwrap_or(usize::MAX))
                })
            })
            .await
    }

    async fn search_public(&self, query: &str, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        let Some(expression) = fts::against_expression(query).filter(|_| limit > 0) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let offset = match start {
            Some(PageToken::Offset(offset)) => offset,
            _ => 0,
        };
        let rows = self
            .cluster
            .run("search", move |conn| {
                let expression = expression.clone();
                Box::pin(async move {
                    let sql = format!(
                        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} \
                         WHERE MATCH (v.title, v.description) AGAINST (? IN BOOLEAN MODE) AND v.visibility = 'public' \
                         ORDER BY MATCH (v.title) AGAINST (? IN BOOLEAN MODE) DESC, \
                                  MATCH (v.title, v.description) AGAINST (? IN BOOLEAN MODE) DESC, v.seq DESC \
                         LIMIT ? OFFSET ?"
                    );
                    let e = expression.as_str();
                    let rows: Vec<Row> = conn.exec(sql, (e, e, e, i64::from(limit) + 1, i64::from(offset))).await?;
                    rows::videos(rows)
                })
            })
            .await?;
        let (items, more) = cut(rows, limit);
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn list_public(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        self.keyset_page(Listing::Public, limit, start).await
    }

    async fn random_public(&self, limit: u32) -> Result<Vec<Video>> {
        self.cluster
            .run("random videos", move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.visibility = 'public' ORDER BY RAND() LIMIT ?"
                    );
                    let rows: Vec<Row> = conn.exec(sql, (i64::from(limit),)).await?;
                    rows::videos(rows)
                })
            })
            .await
    }

    async fn heartbeat(&self, server: ServerEntry) -> Result<()> {
        self.cluster
            .run("heartbeat", move |conn| {
                let server = server.clone();
                Box::pin(async move {
                    conn.exec_drop(
                        "INSERT INTO servers (id, kind, url, `load`, turn, media, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON DUPLICATE KEY UPDATE kind = VALUES(kind), url = VALUES(url), `load` = VALUES(`load`), \
                         turn = VALUES(turn), media = VALUES(media), heartbeat_at = VALUES(heartbeat_at)",
                        (
                            server.id.as_str(),
                            server.kind.as_str(),
                            server.url.as_str(),
                            server.load,
                            server.turn.as_deref(),
                            server.media.as_deref(),
                            server.heartbeat_at,
                        ),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    async fn live_servers(&self, kind: ServerKind, since: i64) -> Result<Vec<ServerEntry>> {
        self.cluster
            .run("list servers", move |conn| {
                Box::pin(async move {
                    let rows: Vec<Row> = conn
                        .exec(
                            "SELECT id, url, `load`, turn, media, heartbeat_at FROM servers \
                             WHERE kind = ? AND heartbeat_at >= ? ORDER BY `load`, id",
                            (kind.as_str(), since),
                        )
                        .await?;
                    rows.into_iter().map(|row| rows::server(row, kind)).collect()
                })
            })
            .await
    }

    async fn remove_server(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.cluster
            .run("remove server", move |conn| {
                let id = id.clone();
                Box::pin(async move {
                    conn.exec_drop("DELETE FROM servers WHERE id = ?", (id.as_str(),)).await?;
                    Ok(())
                })
            })
            .await
    }

    async fn expire_servers(&self, before: i64) -> Result<usize> {
        self.cluster
            .run("expire servers", move |conn| {
                Box::pin(async move {
                    conn.exec_drop("DELETE FROM servers WHERE heartbeat_at < ?", (before,)).await?;
                    Ok(usize::try_from(conn.affected_rows()).unwrap_or(usize::MAX))
                })
            })
            .await
    }

    async fn list_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        self.keyset_page(Listing::Owner(owner_id), limit, start).await
    }

    async fn enqueue_transcode(&self, job: NewJob) -> Result<Job> {
        self.cluster
            .run("enqueue transcode", move |conn| {
                let job = job.clone();
                Box::pin(async move { jobs::enqueue_transcode(conn, &job).await })
            })
            .await
    }

    async fn videos_without_transcode(&self, limit: u32) -> Result<Vec<(String, String)>> {
        self.cluster
            .run("videos without transcode", move |conn| {
                Box::pin(async move { jobs::videos_without_transcode(conn, limit).await })
            })
            .await
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
        self.cluster
            .run("claim job", move |conn| {
                let (kinds, worker, token) = (kinds.clone(), worker.clone(), token.clone());
                Box::pin(async move { jobs::claim_job(conn, &kinds, &worker, &token, now, lease_until).await })
            })
            .await
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
        self.cluster
            .run("renew job", move |conn| {
                let (id, token) = (id.clone(), token.clone());
                Box::pin(async move { jobs::renew_job(conn, &id, &token, now, lease_until, progress_permille).await })
            })
            .await
    }

    async fn fail_job(&self, id: &str, token: &str, error: &str, retry_at: i64, now: i64) -> Result<FailOutcome> {
        let (id, token, error) = (id.to_owned(), token.to_owned(), error.to_owned());
        self.cluster
            .run("fail job", move |conn| {
                let (id, token, error) = (id.clone(), token.clone(), error.clone());
                Box::pin(async move { jobs::fail_job(conn, &id, &token, &error, retry_at, now).await })
            })
            .await
    }

    async fn release_job(&self, id: &str, token: &str, now: i64, run_after: i64) -> Result<bool> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.cluster
            .run("release job", move |conn| {
                let (id, token) = (id.clone(), token.clone());
                Box::pin(async move { jobs::release_job(conn, &id, &token, now, run_after).await })
            })
            .await
    }

    async fn complete_transcode(&self, id: &str, token: &str, hls: &HlsMedia, now: i64) -> Result<bool> {
        let (id, token, hls) = (id.to_owned(), token.to_owned(), hls.clone());
        self.cluster
            .run("complete transcode", move |conn| {
                let (id, token, hls) = (id.clone(), token.clone(), hls.clone());
                Box::pin(async move { jobs::complete_transcode(conn, &id, &token, &hls, now).await })
            })
            .await
    }

    async fn expire_jobs(&self, now: i64) -> Result<usize> {
        self.cluster.run("expire jobs", move |conn| Box::pin(async move { jobs::expire_jobs(conn, now).await })).await
    }

    async fn transcode_job(&self, video_id: &str) -> Result<Option<Job>> {
        let video_id = video_id.to_owned();
        self.cluster
            .run("transcode job", move |conn| {
                let video_id = video_id.clone();
                Box::pin(async move { jobs::transcode_job(conn, &video_id).await })
            })
            .await
    }

    async fn update_video(&self, id: &str, owner: i64, change: &VideoChange, now: i64) -> Result<Video> {
        let (id, change) = (id.to_owned(), change.clone());
        self.cluster
            .run("update video", move |conn| {
                let (id, change) = (id.clone(), change.clone());
                Box::pin(async move { social::update_video(conn, &id, owner, &change, now).await })
            })
            .await
    }

    async fn delete_video(&self, id: &str, owner: i64, purge: &NewPurge) -> Result<()> {
        let (id, purge) = (id.to_owned(), purge.clone());
        self.cluster
            .run("delete video", move |conn| {
                let (id, purge) = (id.clone(), purge.clone());
                Box::pin(async move { social::delete_video(conn, &id, owner, &purge).await })
            })
            .await
    }

    async fn complete_purge(&self, id: &str, token: &str, now: i64) -> Result<bool> {
        let (id, token) = (id.to_owned(), token.to_owned());
        self.cluster
            .run("complete purge", move |conn| {
                let (id, token) = (id.clone(), token.clone());
                Box::pin(async move { jobs::complete_purge(conn, &id, &token, now).await })
            })
            .await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_owned();
        self.cluster
            .run("find channel", move |conn| {
                let username = username.clone();
                Box::pin(async move { social::user_by_name(conn, &username).await })
            })
            .await
    }

    async fn list_public_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        self.keyset_page(Listing::OwnerPublic(owner_id), limit, start).await
    }

    async fn list_live(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        self.keyset_page(Listing::Live, limit, start).await
    }

    async fn live_by_owner(&self, owner_id: i64) -> Result<Option<Video>> {
        Ok(self.keyset_page(Listing::OwnerLive(owner_id), 1, None).await?.items.into_iter().next())
    }

    async fn list_popular(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let offset = offset_of(start);
        let rows = self
            .cluster
            .run("list popular", move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.visibility = 'public' \
                         ORDER BY COALESCE(s.views, 0) DESC, v.seq DESC LIMIT ? OFFSET ?"
                    );
                    let rows: Vec<Row> = conn.exec(sql, (i64::from(limit) + 1, i64::from(offset))).await?;
                    rows::videos(rows)
                })
            })
            .await?;
        let (items, more) = cut(rows, limit);
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn co_watched(&self, id: &str, min_n: u32, limit: u32) -> Result<Vec<Video>> {
        let id = id.to_owned();
        self.cluster
            .run("co-watched", move |conn| {
                let id = id.clone();
                Box::pin(async move { social::co_watched(conn, &id, min_n, limit).await })
            })
            .await
    }

    async fn follow(&self, follower: i64, followee: i64, now: i64) -> Result<bool> {
        if follower == followee {
            return Err(StoreError::Conflict("self".to_owned()));
        }
        self.cluster
            .run("follow", move |conn| Box::pin(async move { social::follow(conn, follower, followee, now).await }))
            .await
    }

    async fn unfollow(&self, follower: i64, followee: i64) -> Result<bool> {
        self.cluster
            .run("unfollow", move |conn| Box::pin(async move { social::unfollow(conn, follower, followee).await }))
            .await
    }

    async fn follow_state(&self, viewer: Option<i64>, channel: i64) -> Result<(u64, bool)> {
        self.cluster
            .run("follow state", move |conn| Box::pin(async move { social::follow_state(conn, viewer, channel).await }))
            .await
    }

    async fn following(&self, follower: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Followed>> {
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next: None });
        }
        let offset = offset_of(start);
        let (items, more) = self
            .cluster
            .run("following", move |conn| {
                Box::pin(async move { social::following(conn, follower, limit, offset).await })
            })
            .await?;
        let next = more.then(|| PageToken::Offset(offset.saturating_add(items.len() as u32)));
        Ok(Page { items, next })
    }

    async fn followers_among(&self, followee: i64, candidates: &[i64]) -> Result<Vec<i64>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let candidates = candidates.to_vec();
        self.cluster
            .run("followers among", move |conn| {
                let candidates = candidates.clone();
                Box::pin(async move { social::followers_among(conn, followee, &candidates).await })
            })
            .await
    }

    async fn count_views(&self, marks: &[ViewMark], window_secs: i64, now: i64) -> Result<u64> {
        if marks.is_empty() {
            return Ok(0);
        }
        let marks = marks.to_vec();
        self.cluster
            .run("count views", move |conn| {
                let marks = marks.clone();
                Box::pin(async move { social::count_views(conn, &marks, window_secs, now).await })
            })
            .await
    }

    async fn prune_view_marks(&self, before: i64, limit: u32) -> Result<usize> {
        self.cluster
            .run("prune view marks", move |conn| {
                Box::pin(async move { social::prune_view_marks(conn, before, limit).await })
            })
            .await
    }
}

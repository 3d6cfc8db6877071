//! The MariaDB schema: numbered migrations applied once per database, even when many
//! MyVid processes (on any Galera nodes) start together.
//!
//! `GET_LOCK` is local to one Galera node, so the lock is a row: whoever inserts row 1
//! of `myvid_migration_lock` migrates; the others wait until the schema is current.
//! A lock left by a crashed process expires. Applied versions are rows of
//! `myvid_schema`. Every migration's statements are idempotent (`IF NOT EXISTS`), so
//! one cut short by a crash is simply run again. Append new migrations; never edit
//! one that has shipped.

use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::errors::Failure;
use crate::error::StoreError;

/// All migrations, oldest first: (version, what it does, SQL statements).
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "users, sessions, videos, server registry", include_str!("0001_init.sql")),
    (2, "live streams' media servers", include_str!("0002_live_host.sql")),
    (3, "recordings of live streams", include_str!("0003_recordings.sql")),
    (4, "live streams that are not recorded", include_str!("0004_live_record.sql")),
    (5, "the job queue: transcoding into HLS", include_str!("0005_jobs.sql")),
    (6, "unlisted videos, follows, view counts, purge jobs", include_str!("0006_product.sql")),
];

/// How long a lock holder may take before others treat it as crashed.
const LOCK_LEASE: Duration = Duration::from_secs(120);

/// How long a process waits for another one's migration.
const WAIT_FOR_OTHERS: Duration = Duration::from_secs(150);

/// How long opening may take: waiting for another process's migration, then ours.
pub(super) fn wait_limit() -> Duration {
    WAIT_FOR_OTHERS + LOCK_LEASE
}

/// The newest schema version this build knows.
pub(super) fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Statements of one migration file: split at `;` ending a line, comments dropped.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// The version the database is at.
async fn current_version(conn: &mut Conn) -> Result<u32, Failure> {
    let version: Option<Option<u32>> = conn.query_first("SELECT MAX(version) FROM myvid_schema").await?;
    Ok(version.flatten().unwrap_or(0))
}

/// Brings the schema up to date; returns the version it is at. Refuses a database
/// migrated by a newer MyVid.
pub(super) async fn migrate(conn: &mut Conn, holder: &str) -> Result<u32, Failure> {
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS myvid_schema (version INT NOT NULL PRIMARY KEY, \
         description VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL) ENGINE = InnoDB",
    )
    .await?;
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS myvid_migration_lock (id TINYINT NOT NULL PRIMARY KEY, \
         holder VARCHAR(64) NOT NULL, expires_at BIGINT NOT NULL) ENGINE = InnoDB",
    )
    .await?;
    let waited_since = Instant::now();
    loop {
        let version = current_version(conn).await?;
        if version > latest() {
            return Err(StoreError::Internal(format!(
                "the database schema is at version {version}, newer than this MyVid knows ({}); upgrade MyVid",
                latest()
            ))
            .into());
        }
        if version == latest() {
            return Ok(version);
        }
        if take_lock(conn, holder).await? {
            let outcome = apply_from(conn, version).await;
            conn.exec_drop("DELETE FROM myvid_migration_lock WHERE id = 1 AND holder = ?", (holder,)).await?;
            return outcome;
        }
        if waited_since.elapsed() > WAIT_FOR_OTHERS {
            return Err(StoreError::MetadataUnavailable("another process is still migrating the schema".into()).into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Takes the migration lock (or a lapsed one); `false` if someone else holds it.
async fn take_lock(conn: &mut Conn, holder: &str) -> Result<bool, Failure> {
    let now = unix_now();
    let expires = now + i64::try_from(LOCK_LEASE.as_secs()).unwrap_or(120);
    conn.exec_drop("DELETE FROM myvid_migration_lock WHERE id = 1 AND expires_at < ?", (now,)).await?;
    match conn
        .exec_drop("INSERT INTO myvid_migration_lock (id, holder, expires_at) VALUES (1, ?, ?)", (holder, expires))
        .await
        .map_err(Failure::from)
    {
        Ok(()) => Ok(true),
        // Taken, or (Galera) lost the race to a process on another node.
        Err(Failure::Final(StoreError::Conflict(_)) | Failure::Conflict(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// Applies every migration after `version`.
async fn apply_from(conn: &mut Conn, version: u32) -> Result<u32, Failure> {
    let mut at = version;
    for (number, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > version) {
        tracing::info!(version = number, description, "migrating the metadata schema");
        for statement in statements(sql) {
            conn.query_drop(statement).await?;
        }
        conn.exec_drop(
            "INSERT IGNORE INTO myvid_schema (version, description, applied_at) VALUES (?, ?, ?)",
            (number, description, unix_now()),
        )
        .await?;
        at = *number;
    }
    Ok(at)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_statements() {
        for (_, _, sql) in MIGRATIONS {
            let statements = statements(sql);
            assert!(!statements.is_empty());
            for s in &statements {
                assert!(s.starts_with("CREATE") || s.starts_with("ALTER"), "{s}");
                assert!(!s.contains(";\n"), "{s}");
            }
        }
        assert_eq!(statements("-- c\nA;\nB\n  x;\n"), vec!["A", "B\n  x"]);
        assert_eq!(latest(), 6);
    }
}

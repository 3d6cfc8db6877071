//! Runs the `MetaStore` conformance suite (`tests/common/meta.rs`) against
//! `SqliteMeta`, in memory and on disk, plus the SQLite-specific behaviour.

mod common;

use common::meta::{self as suite, NOW};
use myvid_store::SqliteMeta;
use std::sync::Arc;

use myvid_store::meta::{MetaStore, PageToken, ServerEntry, ServerKind, Visibility};

/// One `#[tokio::test]` per check and per flavour of store.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test]
                async fn $check() {
                    let store = myvid_store::SqliteMeta::open_in_memory().await.unwrap();
                    crate::suite::$check(&store).await;
                }
            )*
        }
        mod on_disk {
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = myvid_store::SqliteMeta::open(&dir.path().join("meta.db")).await.unwrap();
                    crate::suite::$check(&store).await;
                }
            )*
        }
    };
}

suite::every_check!(conformance);

#[tokio::test]
async fn all_checks_share_one_store() {
    let store = SqliteMeta::open_in_memory().await.unwrap();
    suite::run_all(&store).await;
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/meta.db");
    let (user, video) = {
        let store = SqliteMeta::open(&path).await.expect("creates the parent directories");
        let user = suite::user(&store, "henry").await;
        store.create_session(&"f".repeat(64), user.id, NOW + 10).await.unwrap();
        let new = suite::stored("vidHenry", Some(user.id), "Persistent ibex", "", Visibility::Private);
        store.create_video(new).await.unwrap();
        let video = store.publish_video("vidHenry", &suite::media("vidHenry", 7), NOW).await.unwrap();
        (user, video)
    };
    let store = SqliteMeta::open(&path).await.expect("reopens (migrations already applied)");
    assert_eq!(store.user_credentials("HENRY").await.unwrap().unwrap().user, user);
    assert_eq!(store.session_user(&"f".repeat(64), NOW).await.unwrap(), Some(user));
    assert_eq!(store.video("vidHenry").await.unwrap(), Some(video));
    let found = store.search_public("ibex", 10, None).await.unwrap();
    assert_eq!(found.items.len(), 1, "the full-text index persists too");
    suite::run_all(&store).await;
}

#[tokio::test]
async fn wrong_token_kind_starts_from_the_beginning() {
    let store = SqliteMeta::open_in_memory().await.unwrap();
    for i in 0..3 {
        let new = suite::stored(&format!("vidTok{i}"), None, "Token lemur", "", Visibility::Public);
        store.create_video(new).await.unwrap();
    }
    let search = store.search_public("lemur", 10, Some(PageToken::Before(1))).await.unwrap();
    assert_eq!(search.items.len(), 3);
    let list = store.list_public(10, Some(PageToken::Offset(2))).await.unwrap();
    assert_eq!(list.items.len(), 3);
    let owned = store.list_by_owner(0, 10, Some(PageToken::Offset(2))).await.unwrap();
    assert!(owned.items.is_empty());
}

#[tokio::test]
async fn zero_limit_gives_an_empty_last_page() {
    let store = SqliteMeta::open_in_memory().await.unwrap();
    store.create_video(suite::stored("vidZero", None, "Zero", "", Visibility::Public)).await.unwrap();
    let search = store.search_public("zero", 0, None).await.unwrap();
    assert!(search.items.is_empty() && search.next.is_none());
    let list = store.list_public(0, None).await.unwrap();
    assert!(list.items.is_empty() && list.next.is_none());
    assert!(store.random_public(0).await.unwrap().is_empty());
    assert_eq!(store.list_public(1, None).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn concurrent_calls_are_serialised_safely() {
    let store = std::sync::Arc::new(SqliteMeta::open_in_memory().await.unwrap());
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let new = suite::stored(&format!("vidPar{i:02}"), None, "Parallel tapir", "", Visibility::Public);
                store.create_video(new).await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let page = store.search_public("tapir", 100, None).await.unwrap();
    assert_eq!(page.items.len(), 16);
}

/// A database made by schema version 1 (before live streams) keeps its data, its
/// search index and its constraints when version 2 rebuilds the videos table.
#[tokio::test]
async fn version_one_databases_migrate_with_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../src/meta/sqlite/0001_init.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, email, password_hash, created_at) VALUES (1, 'old', 'old@x', 'h', 1); \
             INSERT INTO videos (id, owner_id, title, description, source, video_key, preview_key, visibility, \
               created_at, published_at) VALUES ('v1', 1, 'Archived pangolin talk', 'd', 'MYVID', 'k', 'p', 'public', 1, 1); \
             INSERT INTO videos (id, title, description, source, external_url, visibility, created_at, published_at) \
               VALUES ('v2', 'Imported wombat talk', '', 'HTTP', 'https://x/y.mp4', 'public', 2, 2);",
        )
        .unwrap();
    }
    let store = SqliteMeta::open(&path).await.unwrap();
    let found = store.search_public("pangolin", 10, None).await.unwrap();
    assert_eq!(found.items.len(), 1, "the full-text index survives the rebuild");
    assert_eq!(found.items[0].owner_name.as_deref(), Some("old"));
    assert_eq!(store.search_public("wombat", 10, None).await.unwrap().items.len(), 1);
    // New rows continue the sequence and are indexed by the recreated triggers.
    let fresh =
        store.create_video(suite::stored("v3", None, "Fresh numbat talk", "", Visibility::Public)).await.unwrap();
    assert!(fresh.seq > 2);
    assert_eq!(store.search_public("numbat", 10, None).await.unwrap().items.len(), 1);
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 10, "every migration applied");
    let old = store.video("v1").await.unwrap().unwrap();
    assert_eq!(
        old.source,
        myvid_store::meta::VideoSource::Stored { video_key: "k".into(), preview_key: "p".into() },
        "videos published before staging keep their (final) keys"
    );
}

/// Version 10 rebuilds the job table (purge jobs outlive their video, so the foreign
/// key goes): a database at version 9 keeps its running transcode job, its video and
/// that video's search entry, and the job can still be completed by its holder.
#[tokio::test]
async fn version_nine_databases_keep_their_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v9.db");
    let token = "t".repeat(32);
    {
        // What a version-9 build made: the migrations up to 0009, in order.
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../src/meta/sqlite/0001_init.sql"),
            include_str!("../src/meta/sqlite/0002_live.sql"),
            include_str!("../src/meta/sqlite/0003_servers.sql"),
            include_str!("../src/meta/sqlite/0004_sfu_media.sql"),
            include_str!("../src/meta/sqlite/0005_staged_uploads.sql"),
            include_str!("../src/meta/sqlite/0006_live_host.sql"),
            include_str!("../src/meta/sqlite/0007_recordings.sql"),
            include_str!("../src/meta/sqlite/0008_live_record.sql"),
            include_str!("../src/meta/sqlite/0009_jobs.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO videos (id, title, description, source, video_key, preview_key, visibility, created_at, \
               published_at, transcode_state) VALUES ('v9', 'Migrating quoll', '', 'MYVID', 'v9/a.mp4', 'v9/a.jpg', \
               'public', 1, 1, 'processing'); \
             INSERT INTO jobs (id, kind, video_id, input_key, state, attempts, max_attempts, run_after, claim_token, \
               claimed_by, lease_until, progress_permille, created_at, updated_at) VALUES ('{token}', 'transcode', \
               'v9', 'v9/a.mp4', 'running', 1, 5, 1, '{token}', 'w', 9999999999, 420, 1, 1);"
        ))
        .unwrap();
    }
    let store = SqliteMeta::open(&path).await.unwrap();
    let job = store.transcode_job("v9").await.unwrap().expect("the running job survives");
    assert_eq!((job.attempts, job.progress_permille), (1, Some(420)));
    assert_eq!(store.search_public("quoll", 10, None).await.unwrap().items.len(), 1, "the search entry survives");
    let hls = myvid_store::meta::HlsMedia { prefix: "v9/hls/x/a1".into(), renditions: Vec::new() };
    assert!(store.complete_transcode(&token, &token, &hls, 2).await.unwrap(), "its holder completes it");
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 10);
}

/// Several processes on one SQLite file (the API and `myvid endpoint`s share the data
/// directory): two independent stores on the same path write and read at once, and
/// every call succeeds — SQLite's "busy" answers are waited out or retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_write_at_once_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite3");
    let a = Arc::new(SqliteMeta::open(&path).await.unwrap());
    let b = Arc::new(SqliteMeta::open(&path).await.unwrap());
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                let video = suite::stored(&format!("v{i}"), None, "Shared file", "", Visibility::Public);
                a.create_video(video).await.expect("create_video");
                a.search_public("shared", 5, None).await.expect("search");
            }
        })
    };
    let beater = {
        let b = b.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let entry = ServerEntry {
                    id: format!("e{}", i % 3),
                    kind: ServerKind::Endpoint,
                    url: "http://e.test".into(),
                    load: i,
                    turn: None,
                    media: None,
                    heartbeat_at: suite::NOW + i,
                };
                b.heartbeat(entry).await.expect("heartbeat");
                b.live_servers(ServerKind::Endpoint, suite::NOW).await.expect("live_servers");
            }
        })
    };
    // A third opener while both write (as an endpoint process starting up).
    let c = SqliteMeta::open(&path).await.expect("open while others write");
    writer.await.unwrap();
    beater.await.unwrap();
    assert_eq!(c.list_public(200, None).await.unwrap().items.len(), 150);
    assert_eq!(c.live_servers(ServerKind::Endpoint, 0).await.unwrap().len(), 3);
}

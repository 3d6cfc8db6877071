//! Metadata on a real 3-node MariaDB Galera cluster on loopback (`tools/galera-harness`).
//!
//! Measures:
//! - search over 100,000 public titles through `myvid api` (`GET /v1/videos?q=`), one
//!   client: p50 / p99, against the very same FULLTEXT query sent straight to the same
//!   node (`mysql_async` text protocol, no MyVid code, same session settings); broad
//!   queries (two vocabulary words, a third of the catalogue matches and is ranked) and
//!   selective ones (a title's number, a handful of rows);
//! - sign-up throughput through the API (8 clients; argon2 hashing included);
//! - create + publish throughput of video records on the cluster (16 tasks, store level);
//! - the registry's heartbeat: writes per server and the latency of one on the cluster.
//!
//! Run: `cargo bench -p myvid --bench galera` (needs mariadb-server and galera-4:
//! `scripts/install-deps.sh test`). Prints one line per figure.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use mysql_async::prelude::Queryable;
use myvid::config::{Config, MetadataBackend};
use myvid_core::Clock;
use myvid_galera_harness::Cluster;
use myvid_store::meta::{MetaStore, NewVideo, PublishedMedia, ServerEntry, ServerKind, VideoSource, Visibility};
use myvid_store::{MariaMeta, MariaOptions};
use serde_json::Value;
use support::{WORDS, percentile};

mod support;

const VIDEOS: usize = 100_000;
const BROAD_QUERIES: usize = 300;
const SELECTIVE_QUERIES: usize = 1_000;
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The SQL `MariaMeta::search_public` runs for `words` (its text, with the expression
/// inlined), for the first page of 24 (+1 to know whether there is more).
fn raw_search_sql(words: &str) -> String {
    let e: String = words.split(' ').map(|w| format!("{w}*")).collect::<Vec<_>>().join(" ");
    format!(
        "SELECT v.seq, v.id, v.owner_id, u.username, v.title, v.description, v.source, v.video_key, \
         v.preview_key, v.external_url, v.external_preview_url, v.visibility, v.duration_ms, v.created_at, \
         v.published_at, v.live_state, v.media_staged \
         FROM videos v LEFT JOIN users u ON u.id = v.owner_id \
         WHERE MATCH (v.title, v.description) AGAINST ('{e}' IN BOOLEAN MODE) AND v.visibility = 'public' \
         ORDER BY MATCH (v.title) AGAINST ('{e}' IN BOOLEAN MODE) DESC, \
                  MATCH (v.title, v.description) AGAINST ('{e}' IN BOOLEAN MODE) DESC, v.seq DESC LIMIT 25"
    )
}

fn query_words(i: usize) -> String {
    format!("{} {}", WORDS[(i * 7) % WORDS.len()], WORDS[(i * 11 + 3) % WORDS.len()])
}

fn video(i: usize, visibility: Visibility) -> NewVideo {
    let w = |k: usize| WORDS[(i * 7 + k * 13 + i / 97) % WORDS.len()];
    let source = match visibility {
        Visibility::Public | Visibility::Unlisted => {
            VideoSource::External { url: format!("https://media.example.org/{i}.mp4"), preview_url: None }
        }
        Visibility::Private => {
            VideoSource::Staged { video_key: format!("b{i}/video"), preview_key: format!("b{i}/preview") }
        }
    };
    NewVideo {
        id: format!("b{i:07}"),
        owner_id: None,
        title: format!("{} {} talk {i}", w(0), w(1)),
        description: format!("about {} and {} at scale", w(2), w(3)),
        source,
        visibility,
        duration_ms: Some(60_000),
        created_at: 1_700_000_000,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = Cluster::galera();
    let database = db.create_database("bench");
    let options = MariaOptions::new(db.addrs(), db.user(), db.password(), &database);
    let meta = Arc::new(MariaMeta::open(&options).await?);

    let started = Instant::now();
    for chunk in (0..VIDEOS).collect::<Vec<_>>().chunks(5_000) {
        meta.import_videos(chunk.iter().map(|&i| video(i, Visibility::Public)).collect()).await?;
    }
    println!("imported {VIDEOS} titles into the cluster in {:.1} s", started.elapsed().as_secs_f64());

    // The API, in this process, on the same cluster (node 0 preferred).
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut config = Config { data_dir: dir.path().join("data"), ..Config::default() };
    config.metadata.backend = MetadataBackend::Mariadb;
    config.metadata.nodes = db.addrs();
    config.metadata.user = db.user().to_owned();
    config.metadata.password = Some(db.password().to_owned());
    config.metadata.database = database.clone();
    config.limits.enabled = false;
    config.live.stream_secret = Some("bench-stream-secret-0123456789abcdef".into());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(myvid::roles::api::run(config, listener, Clock::system(), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Search through the API and straight to node 0, for two kinds of query: broad (two
    // vocabulary words: about a third of the catalogue matches, all of it ranked) and
    // selective (a title's number: a handful of rows).
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(db.addr(0).rsplit_once(':').map_or(3306, |(_, p)| p.parse().unwrap_or(3306)))
        .user(Some(db.user()))
        .pass(Some(db.password()))
        .db_name(Some(database.clone()))
        .init(vec!["SET SESSION wsrep_sync_wait = 1"]);
    let mut conn = mysql_async::Conn::new(opts).await?;
    let broad: Vec<String> = (0..BROAD_QUERIES).map(query_words).collect();
    let selective: Vec<String> = (0..SELECTIVE_QUERIES).map(|i| ((i * 7_919) % VIDEOS).to_string()).collect();
    for (kind, queries) in [("broad", &broad), ("selective", &selective)] {
        let mut api = Vec::new();
        for words in queries {
            let started = Instant::now();
            let res = http.get(format!("{url}/v1/videos?q={}&limit=24", words.replace(' ', "+"))).send().await?;
            anyhow::ensure!(res.status() == 200, "search answered {}", res.status());
            let page: Value = res.json().await?;
            anyhow::ensure!(page["items"].as_array().is_some_and(|v| !v.is_empty()), "results: {page}");
            api.push(started.elapsed());
        }
        let mut raw = Vec::new();
        for words in queries {
            let sql = raw_search_sql(words);
            let started = Instant::now();
            let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
            anyhow::ensure!(!rows.is_empty());
            raw.push(started.elapsed());
        }
        api.sort();
        raw.sort();
        let (a50, a99) = (percentile(&api, 50.0), percentile(&api, 99.0));
        let (r50, r99) = (percentile(&raw, 50.0), percentile(&raw, 99.0));
        println!(
            "search, {kind} ({} queries over {VIDEOS} titles, 1 client): API p50 {:.2} ms, p99 {:.2} ms; \
             the same query straight to the node p50 {:.2} ms, p99 {:.2} ms; API/raw p50 {:.2}x, p99 {:.2}x",
            queries.len(),
            ms(a50),
            ms(a99),
            ms(r50),
            ms(r99),
            a50.as_secs_f64() / r50.as_secs_f64(),
            a99.as_secs_f64() / r99.as_secs_f64()
        );
    }
    conn.disconnect().await?;

    // Sign-ups through the API: 8 clients, 25 each.
    let started = Instant::now();
    let clients = (0..8).map(|c| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            for i in 0..25 {
                let name = format!("bench{c}x{i}");
                let body = serde_json::json!({"username": name, "email": format!("{name}@example.org"), "password": "bench-password-1"});
                let res = http.post(format!("{url}/v1/auth/signup")).json(&body).send().await?;
                anyhow::ensure!(res.status() == 201, "sign-up answered {}", res.status());
            }
            Ok(())
        }
    });
    join_all(clients).await.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    println!(
        "sign-up through the API, 8 clients, 200 accounts: {:.0} sign-ups/s",
        200.0 / started.elapsed().as_secs_f64()
    );

    // Create + publish of video records on the cluster: 16 tasks, on all three nodes.
    let stores: Vec<Arc<MariaMeta>> = join_all((0..3).map(|k| {
        let nodes = (0..3).map(|j| db.addr((k + j) % 3)).collect();
        let options = MariaOptions::new(nodes, db.user(), db.password(), &database);
        async move { MariaMeta::open(&options).await.map(Arc::new) }
    }))
    .await
    .into_iter()
    .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let tasks = (0..16).map(|t| {
        let store = stores[t % 3].clone();
        async move {
            for i in 0..40 {
                let n = VIDEOS + t * 1_000 + i;
                store.create_video(video(n, Visibility::Private)).await?;
                let media = PublishedMedia {
                    video_key: format!("b{n}/final.mp4"),
                    preview_key: format!("b{n}/final.jpg"),
                    duration_ms: 1_000,
                };
                store.publish_video(&format!("b{n:07}"), &media, 1_700_000_100).await?;
            }
            Ok::<_, myvid_store::StoreError>(())
        }
    });
    join_all(tasks).await.into_iter().collect::<Result<Vec<()>, _>>()?;
    println!(
        "create + publish of video records, 16 tasks on 3 nodes, 640 pairs: {:.0} pairs/s",
        640.0 / started.elapsed().as_secs_f64()
    );

    // The registry: each server upserts its row every HEARTBEAT_INTERVAL.
    let interval = myvid_core::registry::HEARTBEAT_INTERVAL;
    let mut beats = Vec::new();
    for i in 0..500i64 {
        let entry = ServerEntry {
            id: format!("server{}", i % 50),
            kind: ServerKind::Sfu,
            url: "http://10.0.0.1:8080".into(),
            load: i,
            turn: None,
            media: Some("10.0.0.1:50000".into()),
            heartbeat_at: 1_700_000_000 + i,
        };
        let started = Instant::now();
        meta.heartbeat(entry).await?;
        beats.push(started.elapsed());
    }
    beats.sort();
    println!(
        "registry: 1 upsert per server every {interval:?} ({:.1} writes/s per server, 50 for 100 servers); \
         one heartbeat on the cluster: p50 {:.2} ms, p99 {:.2} ms",
        1.0 / interval.as_secs_f64(),
        ms(percentile(&beats, 50.0)),
        ms(percentile(&beats, 99.0))
    );

    let _ = stop.send(());
    server.await??;
    for store in stores {
        store.close().await;
    }
    meta.close().await;
    Ok(())
}

//! The `MetaStore` conformance suite (`tests/common/meta.rs`) against `MariaMeta` on a
//! real standalone MariaDB and on a real 3-node Galera cluster on loopback (started by
//! the project's harness, `tools/galera-harness`), plus what only a cluster can show:
//! writes on one node read at once on another, schema migrations racing from several
//! nodes, and listing order that does not follow Galera's interleaved AUTO_INCREMENT.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::meta::{self as suite, NOW};
use myvid_galera_harness::Cluster;
use myvid_store::meta::{JobKind, MetaStore, NewJob, NewVideo, PageToken, VideoSource, ViewMark, Visibility};
use myvid_store::{MariaMeta, MariaOptions, StoreError};

/// A store on a fresh database of `db`, preferring node `first` (the others follow).
async fn store_on(db: &Cluster, database: &str, first: usize) -> MariaMeta {
    let n = db.node_count();
    let nodes = (0..n).map(|k| db.addr((first + k) % n)).collect();
    let mut options = MariaOptions::new(nodes, db.user(), db.password(), database);
    options.query_timeout = Duration::from_secs(10);
    options.request_timeout = Duration::from_secs(30);
    MariaMeta::open(&options).await.expect("open the MariaDB store")
}

/// Runs each named check on its own fresh database; on a cluster each check prefers
/// the next node, so that every node serves some.
macro_rules! run_checks {
    ($db:expr, $($check:ident),* $(,)?) => {{
        let mut k = 0usize;
        $(
            let database = $db.create_database(stringify!($check));
            let store = store_on(&$db, &database, k % $db.node_count()).await;
            eprintln!("check {} on node {}", stringify!($check), k % $db.node_count());
            suite::$check(&store).await;
            store.close().await;
            k += 1;
        )*
        let _ = k;
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_a_single_mariadb() {
    let db = Cluster::single();
    suite::every_check!(run_checks, db);
    let database = db.create_database("all");
    suite::run_all(&store_on(&db, &database, 0).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_a_galera_cluster() {
    let db = Cluster::galera();
    suite::every_check!(run_checks, db);
    let database = db.create_database("all");
    suite::run_all(&store_on(&db, &database, 1).await).await;

    // What only a cluster shows, on one more database.
    let database = db.create_database("cluster");
    // Schema migrations: six processes' stores opening at once on all three nodes.
    let opened = futures_util::future::join_all((0..6).map(|k| store_on(&db, &database, k % 3))).await;
    let versions = db.sql(0, Some(&database), "SELECT COUNT(*), MAX(version) FROM myvid_schema").unwrap();
    assert_eq!(versions, "6\t6", "each migration applied exactly once");
    let [a, _, c, ..] = opened.as_slice() else { unreachable!() };

    // Read-your-writes across nodes: written through node 0, read at once on node 2.
    for i in 0..50 {
        let name = format!("rw{i}");
        let user = suite::user(a, &name).await;
        let found = c.user_credentials(&name).await.unwrap().expect("a write on node 0 is visible on node 2");
        assert_eq!(found.user, user);
    }

    // Listing order is creation order although the two stores write on different nodes
    // (whose AUTO_INCREMENT series interleave).
    let mut created = Vec::new();
    for i in 0..30 {
        let store: &dyn MetaStore = if i % 2 == 0 { a } else { c };
        let id = format!("order{i:02}");
        store.create_video(public_video(&id)).await.unwrap();
        created.push(id);
    }
    let mut listed = Vec::new();
    let mut start = None;
    loop {
        let page = a.list_public(7, start).await.unwrap();
        listed.extend(page.items.iter().map(|v| v.id.clone()));
        match page.next {
            Some(next @ PageToken::Before(_)) => start = Some(next),
            _ => break,
        }
    }
    created.reverse();
    assert_eq!(listed, created, "newest first, across nodes");

    claimers_on_three_nodes_never_share_a_job(&db, &opened).await;
    three_nodes_count_one_hot_video_exactly(&db, &opened).await;
    racing_follows_from_two_nodes_end_with_one(&opened).await;
    for store in &opened {
        store.close().await;
    }
}

fn public_video(id: &str) -> NewVideo {
    NewVideo {
        id: id.to_owned(),
        owner_id: None,
        title: format!("Ordered {id}"),
        description: String::new(),
        source: VideoSource::Stored { video_key: format!("{id}/v.webm"), preview_key: format!("{id}/p.jpg") },
        visibility: Visibility::Public,
        duration_ms: Some(1),
        created_at: NOW,
    }
}

/// Workers on all three nodes claim from one queue at once: Galera's certification
/// (not row locks, which are local to a node) decides races, and every job is still
/// claimed exactly once. The certification failures absorbed are printed as evidence
/// that the claims did collide across nodes.
async fn claimers_on_three_nodes_never_share_a_job(db: &Cluster, stores: &[MariaMeta]) {
    let t = NOW + 50_000;
    let mut jobs = HashSet::new();
    for i in 0..60 {
        let id = format!("gq{i:02}");
        let video = stores[0].create_video(public_video(&id)).await.unwrap();
        let VideoSource::Stored { video_key, .. } = &video.source else { unreachable!() };
        let job = NewJob {
            id: format!("{:032x}", 0xa000 + i),
            video_id: id,
            input_key: video_key.clone(),
            max_attempts: 3,
            created_at: t,
        };
        jobs.insert(stores[0].enqueue_transcode(job).await.unwrap().id);
    }
    let conflicts = |i: usize| -> u64 {
        let out = db.sql(i, None, "SHOW GLOBAL STATUS LIKE 'wsrep_local_cert_failures'").unwrap();
        out.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let before: u64 = (0..3).map(conflicts).sum();
    // Four claimers per node, each on its own store preferring that node.
    let claimers = stores.iter().take(6).enumerate().flat_map(|(k, store)| {
        (0..2).map(move |w| async move {
            let mut mine = Vec::new();
            let mut lost = 0;
            for round in 0.. {
                let token = format!("{:016x}{:08x}{:08x}", 0xc1a1, k * 10 + w, round);
                match store
                    .claim_job(&[JobKind::Transcode], &format!("node{}-w{w}", k % 3), &token, t + 1, t + 600)
                    .await
                {
                    Ok(Some(job)) => {
                        mine.push(job.id);
                        lost = 0;
                    }
                    Ok(None) => return mine,
                    // Twelve claimers on one queue: a claim can lose every retry to the
                    // others' commits. A worker then polls again later; so does this one.
                    Err(StoreError::MetadataUnavailable(why)) => {
                        lost += 1;
                        assert!(lost <= 20, "claimer {k}/{w} lost 20 claims in a row to conflicts: {why}");
                        tokio::time::sleep(Duration::from_millis(20 + 10 * (k as u64 % 3))).await;
                    }
                    Err(other) => panic!("claim failed: {other}"),
                }
            }
            mine
        })
    });
    let claims: Vec<String> = futures_util::future::join_all(claimers).await.into_iter().flatten().collect();
    let distinct: HashSet<String> = claims.iter().cloned().collect();
    assert_eq!(claims.len(), distinct.len(), "a job was claimed twice across nodes");
    assert_eq!(distinct, jobs, "every job claimed once");
    let after: u64 = (0..3).map(conflicts).sum();
    println!("cross-node claims: {} jobs, {} certification failures absorbed", claims.len(), after - before);
}

/// Galera's certification failures so far, summed over the three nodes.
fn cert_failures(db: &Cluster) -> u64 {
    (0..3)
        .map(|i| {
            let out = db.sql(i, None, "SHOW GLOBAL STATUS LIKE 'wsrep_local_cert_failures'").unwrap();
            out.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or(0)
        })
        .sum()
}

/// Three API processes on three nodes flush views of one popular video at the same
/// moment, in batches of 20: 200 viewers each, 50 of them seen by all three. The
/// count's row is hot on every node, so commits collide; the retried transactions
/// (whose marks make a re-run count nothing twice) end with exactly 500 views.
async fn three_nodes_count_one_hot_video_exactly(db: &Cluster, stores: &[MariaMeta]) {
    stores[0].create_video(public_video("hot")).await.unwrap();
    let t = NOW + 60_000;
    let viewer = |n: u32| {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&n.to_be_bytes());
        bytes
    };
    let before = cert_failures(db);
    let flushers = (0..3).map(|node| {
        let store = &stores[node];
        async move {
            // Viewers 0..50 are shared; each node also has 150 of its own.
            let own = (0..150).map(|n| 1_000 * (node as u32 + 1) + n);
            let marks: Vec<ViewMark> = (0..50)
                .chain(own)
                .map(|n| ViewMark { video_id: "hot".into(), viewer: viewer(n), at: t + i64::from(n % 7) })
                .collect();
            let mut counted = 0;
            for batch in marks.chunks(20) {
                counted += store.count_views(batch, 3600, t + 10).await.unwrap();
            }
            counted
        }
    });
    let counted: u64 = futures_util::future::join_all(flushers).await.into_iter().sum();
    assert_eq!(counted, 500, "each view counted once by whichever node counted it");
    for store in stores.iter().take(3) {
        assert_eq!(store.video("hot").await.unwrap().unwrap().views, 500, "every node reads 500");
    }
    println!(
        "hot video: 600 views flushed from 3 nodes, 500 counted, {} certification failures absorbed",
        cert_failures(db) - before
    );
}

/// The same follow made through two nodes at once is one follow.
async fn racing_follows_from_two_nodes_end_with_one(stores: &[MariaMeta]) {
    let star = suite::user(&stores[0], "racestar").await;
    let fan = suite::user(&stores[0], "racefan").await;
    for round in 0..5 {
        let (a, b) = tokio::join!(stores[0].follow(fan.id, star.id, NOW), stores[2].follow(fan.id, star.id, NOW));
        let (a, b) = (a.unwrap(), b.unwrap());
        if round == 0 {
            assert!(a || b, "one of them made the follow");
        }
        assert_eq!(stores[1].follow_state(Some(fan.id), star.id).await.unwrap(), (1, true), "one follow");
        let (a, b) = tokio::join!(stores[0].unfollow(fan.id, star.id), stores[2].unfollow(fan.id, star.id));
        let _ = (a.unwrap(), b.unwrap());
        assert_eq!(stores[1].follow_state(Some(fan.id), star.id).await.unwrap(), (0, false));
        stores[0].follow(fan.id, star.id, NOW).await.unwrap();
    }
}

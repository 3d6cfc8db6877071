//! `MariaMeta` when a Galera node misbehaves, on a real 3-node cluster: a hung node
//! (SIGSTOP: connections open, no answers) never hangs an operation, which moves to
//! another node after the attempt timeout; without quorum an operation gives up with
//! `MetadataUnavailable` within the request timeout and writes nothing.

use std::time::{Duration, Instant};

use myvid_galera_harness::Cluster;
use myvid_store::meta::{MetaStore, NewUser};
use myvid_store::{MariaMeta, MariaOptions, StoreError};

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        email: format!("{name}@example.org"),
        password_hash: format!("$argon2id$hash-of-{name}"),
        created_at: 1_700_000_000,
    }
}

async fn store(db: &Cluster, database: &str, query: Duration, request: Duration) -> MariaMeta {
    let mut options = MariaOptions::new(db.addrs(), db.user(), db.password(), database);
    options.query_timeout = query;
    options.request_timeout = request;
    MariaMeta::open(&options).await.expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_node_never_hangs_an_operation() {
    let db = Cluster::galera();
    let database = db.create_database("hung");
    let query = Duration::from_millis(1_500);
    let meta = store(&db, &database, query, Duration::from_secs(15)).await;
    meta.create_user(new_user("warm")).await.unwrap(); // node 0 is in use

    db.pause(0);
    let asked = Instant::now();
    let created = meta.create_user(new_user("during")).await;
    let took = asked.elapsed();
    let read = meta.user_credentials("during").await;
    db.resume(0);
    let user = created.expect("the write moves to a live node");
    assert_eq!(read.unwrap().map(|c| c.user), Some(user));
    // One attempt times out on the hung node, then the cluster evicts it (about
    // evs.suspect_timeout, 2 s) and the retry on another node commits.
    println!("write with node 0 hung: {took:?}");
    assert!(took >= query, "the first attempt waited for the hung node ({took:?})");
    assert!(took < Duration::from_secs(9), "the write did not wait for the hung node ({took:?})");
    meta.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_cluster_is_left_for_the_majority() {
    let db = Cluster::galera();
    let database = db.create_database("cutoff");
    let meta = store(&db, &database, Duration::from_secs(2), Duration::from_secs(15)).await;
    meta.create_user(new_user("warm")).await.unwrap(); // node 0 is in use
    // Galera's own isolation switch: node 0 drops out of the group (a network split
    // with node 0 in the minority) but keeps its clients, and refuses their work.
    db.sql(0, None, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'").unwrap();
    db.wait_cluster_size(1, 2, Duration::from_secs(30)).expect("the majority goes on without node 0");
    let asked = Instant::now();
    let user = meta.create_user(new_user("split")).await.expect("the write goes to the majority");
    let read = meta.user_credentials("split").await.unwrap().map(|c| c.user);
    println!("write and read with node 0 cut off: {:?}", asked.elapsed());
    assert_eq!(read, Some(user));
    db.sql(0, None, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'").unwrap();
    meta.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quorum_an_operation_gives_up_in_time_and_writes_nothing() {
    let db = Cluster::galera();
    let database = db.create_database("quorum");
    let request = Duration::from_secs(5);
    let meta = store(&db, &database, Duration::from_secs(2), request).await;
    meta.create_user(new_user("before")).await.unwrap();
    db.kill(1);
    db.kill(2);
    for what in ["write", "read"] {
        let asked = Instant::now();
        let outcome = match what {
            "write" => meta.create_user(new_user("lost")).await.map(drop),
            _ => meta.user_credentials("before").await.map(drop),
        };
        let took = asked.elapsed();
        println!("{what} without quorum: {outcome:?} after {took:?}");
        assert!(matches!(outcome, Err(StoreError::MetadataUnavailable(_))), "{what}: {outcome:?}");
        assert!(took <= request + Duration::from_millis(500), "{what} gave up in time ({took:?})");
    }
    // Quorum back (both nodes together: each waits for the other to be Synced).
    std::thread::scope(|threads| {
        threads.spawn(|| db.restart(1));
        threads.spawn(|| db.restart(2));
    });
    for node in 0..3 {
        let sql = "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM users WHERE username = 'lost'";
        assert_eq!(db.sql(node, Some(&database), sql).unwrap(), "0", "the refused write left no row on node {node}");
    }
    meta.create_user(new_user("lost")).await.expect("the same store works again by itself");
    meta.close().await;
}

//! The harness against real servers: a 3-node Galera cluster that loses a node and gets it
//! back, and a single plain MariaDB.

use std::time::{Duration, Instant};

use myvid_galera_harness::Cluster;

/// Long enough for a loaded machine; on an idle one each wait takes 2-3 s at most.
const WAIT: Duration = Duration::from_secs(30);

fn count(cluster: &Cluster, node: usize, db: &str) -> String {
    // wsrep_sync_wait: the read waits until this node has applied every earlier commit
    cluster
        .sql(node, Some(db), "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM items")
        .unwrap_or_else(|e| panic!("count on node {node}: {e}"))
}

#[test]
fn galera_replicates_survives_a_crashed_node_and_takes_it_back() {
    let cluster = Cluster::galera();
    assert_eq!(cluster.node_count(), 3);
    assert_eq!(cluster.addrs().len(), 3);
    for node in 0..3 {
        assert_eq!(cluster.status(node, "wsrep_cluster_size").as_deref(), Some("3"));
        assert_eq!(cluster.status(node, "wsrep_local_state_comment").as_deref(), Some("Synced"));
    }
    let db = cluster.create_database("replication");

    // written on node 0, read on node 2
    cluster
        .sql(0, Some(&db), "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100) NOT NULL)")
        .unwrap();
    cluster.sql(0, Some(&db), "INSERT INTO items (title) VALUES ('first'), ('second'), ('été ✓')").unwrap();
    assert_eq!(count(&cluster, 2, &db), "3");
    let titles =
        cluster.sql(2, Some(&db), "SET SESSION wsrep_sync_wait = 1; SELECT title FROM items ORDER BY title").unwrap();
    // utf8mb4_unicode_ci sorts "é" with "e"
    assert_eq!(titles, "été ✓\nfirst\nsecond");

    // node 1 crashes: the other two go on without it
    cluster.kill(1);
    assert!(cluster.sql(1, Some(&db), "SELECT 1").is_err(), "node 1 still answers after kill");
    let crashed = Instant::now();
    cluster.wait_cluster_size(0, 2, WAIT).unwrap();
    cluster.wait_cluster_size(2, 2, WAIT).unwrap();
    eprintln!("cluster size 2 after {:.1} s", crashed.elapsed().as_secs_f64());
    cluster.sql(0, Some(&db), "INSERT INTO items (title) VALUES ('while node 1 is down')").unwrap();
    cluster.sql(2, Some(&db), "INSERT INTO items (title) VALUES ('also while it is down')").unwrap();
    assert_eq!(count(&cluster, 0, &db), "5");

    // node 1 comes back, catches up and counts again
    cluster.restart(1);
    cluster.wait_cluster_size(1, 3, WAIT).unwrap();
    cluster.wait_cluster_size(0, 3, WAIT).unwrap();
    assert_eq!(cluster.status(1, "wsrep_local_state_comment").as_deref(), Some("Synced"));
    assert_eq!(count(&cluster, 1, &db), "5");
    cluster.sql(1, Some(&db), "INSERT INTO items (title) VALUES ('after the rejoin')").unwrap();
    assert_eq!(count(&cluster, 0, &db), "6");
    // it caught up by IST (only the missed write-sets), not by a full copy
    let log = std::fs::read_to_string(cluster.base_dir().join("node2/error.log")).unwrap();
    assert!(log.contains("IST received"), "node 1 did not rejoin by IST");

    let base_dir = cluster.base_dir().to_owned();
    drop(cluster);
    if std::env::var_os("MYVID_KEEP_DB").is_none() {
        assert!(!base_dir.exists(), "{} is left after drop", base_dir.display());
    }
}

#[test]
fn single_is_one_plain_mariadb_with_the_project_settings() {
    let cluster = Cluster::single();
    assert_eq!(cluster.node_count(), 1);
    assert_eq!(cluster.addrs(), vec![cluster.addr(0)]);
    assert_eq!((cluster.user(), cluster.password()), ("myvid", "myvid"));

    let settings = cluster
        .sql(
            0,
            None,
            "SELECT @@wsrep_on, @@character_set_server, @@collation_server, @@innodb_ft_min_token_size, \
             @@innodb_ft_enable_stopword, @@ft_min_word_len, @@max_connections, @@bind_address",
        )
        .unwrap();
    assert_eq!(settings, "0\tutf8mb4\tutf8mb4_unicode_ci\t1\t0\t1\t300\t127.0.0.1");

    // one-letter words and stopwords are found by full-text search
    let db = cluster.create_database("single");
    cluster
        .sql(
            0,
            Some(&db),
            "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, FULLTEXT (body)); \
             INSERT INTO notes VALUES (1, 'a b c'), (2, 'the way it is'), (3, 'nothing')",
        )
        .unwrap();
    let found = cluster
        .sql(0, Some(&db), "SELECT id FROM notes WHERE MATCH (body) AGAINST ('+b +the' IN BOOLEAN MODE) ORDER BY id")
        .unwrap();
    assert_eq!(found, "");
    let found = cluster
        .sql(0, Some(&db), "SELECT id FROM notes WHERE MATCH (body) AGAINST ('b the' IN BOOLEAN MODE) ORDER BY id")
        .unwrap();
    assert_eq!(found, "1\n2");

    // stop and start again: the data is still there
    cluster.stop(0);
    assert!(cluster.sql(0, None, "SELECT 1").is_err());
    cluster.restart(0);
    assert_eq!(cluster.sql(0, Some(&db), "SELECT COUNT(*) FROM notes").unwrap(), "3");
    assert!(cluster.sql(0, None, "SELECT nonsense FROM nowhere").unwrap_err().contains("ERROR"));
}

//! A real MariaDB for integration tests: a 3-node Galera cluster or one plain server, started
//! on free loopback ports by `scripts/galera/up.sh` and thrown away when the [`Cluster`] is
//! dropped.
//!
//! ```no_run
//! use myvid_galera_harness::Cluster;
//! use std::time::Duration;
//!
//! let cluster = Cluster::galera();
//! let db = cluster.create_database("videos");
//! cluster.sql(0, Some(&db), "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)").unwrap();
//! let n = cluster.sql(2, Some(&db), "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM t").unwrap();
//! assert_eq!(n, "1");
//! cluster.kill(1);
//! cluster.wait_cluster_size(0, 2, Duration::from_secs(20)).unwrap();
//! cluster.restart(1);
//! ```
//!
//! Needs `mariadb-server`, `galera-4` and `rsync` (`scripts/install-deps.sh test`). Nodes are
//! numbered from 0 here (the scripts' directories are `node1`, `node2`, …). Set
//! `MYVID_KEEP_DB=1` to keep the servers' directories (logs, data) after a test.

mod cluster;
mod nodes;
mod ports;
mod programs;
mod scripts;
mod sql;
mod start;

pub use cluster::Cluster;

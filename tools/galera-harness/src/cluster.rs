//! The [`Cluster`] handle: where its servers are, and their removal on drop.

use std::path::{Path, PathBuf};

use crate::scripts;

/// The account `up.sh` creates on every node (ALL privileges on `*.*`).
pub(crate) const USER: &str = "myvid";
/// The password of [`USER`].
pub(crate) const PASSWORD: &str = "myvid";

/// Running MariaDB servers on 127.0.0.1 owned by a test: a Galera cluster ([`Cluster::galera`])
/// or one standalone server ([`Cluster::single`]).
///
/// The servers run detached from the test (their own session); the PIDs live in each node's
/// directory (`launcher.pid`, `mysqld.pid`) and the scripts signal a PID only after checking
/// in `/proc/PID/cmdline` that it is that node's `mariadbd`. Dropping the `Cluster` kills
/// every node and removes its directory (kept when `MYVID_KEEP_DB` is set). If the test
/// process dies without dropping it, a watchdog started with the servers does the same.
#[derive(Debug)]
pub struct Cluster {
    /// Directory with one `nodeN` directory per node and `cluster.env`.
    pub(crate) base_dir: PathBuf,
    /// The client (SQL) port of each node, by 0-based node index.
    pub(crate) client_ports: Vec<u16>,
    /// Whether the nodes run Galera replication.
    pub(crate) wsrep: bool,
    /// The `mariadb` command-line client.
    pub(crate) client: PathBuf,
}

impl Cluster {
    /// How many nodes the cluster has (3 for [`Cluster::galera`], 1 for [`Cluster::single`]).
    pub fn node_count(&self) -> usize {
        self.client_ports.len()
    }

    /// The client address of `node` (0-based), `"127.0.0.1:PORT"`.
    ///
    /// Panics when there is no such node.
    pub fn addr(&self, node: usize) -> String {
        format!("127.0.0.1:{}", self.port(node))
    }

    /// The client addresses of all nodes, in node order.
    pub fn addrs(&self) -> Vec<String> {
        (0..self.node_count()).map(|node| self.addr(node)).collect()
    }

    /// The user name to log in with (it may create and drop databases).
    pub fn user(&self) -> &str {
        USER
    }

    /// The password of [`Cluster::user`].
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// The directory holding the servers' files: `nodeN/error.log`, `nodeN/my.cnf`,
    /// `cluster.env`, … (`nodeN` is 1-based: node 0 is `node1`).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The client port of `node`; panics with the valid range when there is no such node.
    pub(crate) fn port(&self, node: usize) -> u16 {
        match self.client_ports.get(node) {
            Some(port) => *port,
            None => panic!("no node {node}: this cluster has nodes 0..{}", self.node_count()),
        }
    }

    /// The directory of `node` (0-based), as the scripts name it (1-based).
    pub(crate) fn node_dir(&self, node: usize) -> PathBuf {
        self.port(node);
        self.base_dir.join(format!("node{}", node + 1))
    }
}

impl Drop for Cluster {
    /// Kills every node (this is the end of the test, whatever its outcome) and removes the
    /// directory unless `MYVID_KEEP_DB` is set. Never panics.
    fn drop(&mut self) {
        scripts::remove(&self.base_dir);
    }
}

//! Stopping, crashing and restarting single nodes.

use std::time::Instant;

use crate::cluster::Cluster;
use crate::scripts;

impl Cluster {
    /// Crashes `node` (0-based): SIGKILL to its `mariadbd`, by a PID checked against
    /// `/proc/PID/cmdline`; returns once the process is gone. The other Galera nodes notice
    /// about two seconds later (`evs.suspect_timeout`); until then writes elsewhere stall.
    ///
    /// Panics when the node cannot be stopped. A node that is already down is fine.
    pub fn kill(&self, node: usize) {
        self.down(node, "KILL");
    }

    /// Shuts `node` (0-based) down cleanly (SIGTERM; it leaves the Galera cluster at once).
    ///
    /// Panics when the node cannot be stopped. A node that is already down is fine.
    pub fn stop(&self, node: usize) {
        self.down(node, "TERM");
    }

    /// Starts `node` (0-based) again after [`Cluster::kill`] or [`Cluster::stop`] and waits
    /// until it serves queries: with Galera, until it has rejoined and is Synced (after a crash
    /// it recovers its position first and so gets only the missed write-sets, by IST).
    ///
    /// Panics when the node does not come back, with the end of its error log.
    pub fn restart(&self, node: usize) {
        let dir = self.node_dir(node);
        let started = Instant::now();
        if let Err(failure) = scripts::run(&dir.join("start.sh"), ["--wait"], &[]) {
            panic!(
                "galera-harness: restarting node {node} failed (exit {:?}):\n{}\n{}",
                failure.code,
                failure.log,
                scripts::error_log_tails(&self.base_dir)
            );
        }
        let state = if self.wsrep { "rejoined, Synced" } else { "up" };
        eprintln!("galera-harness: node {node} {state} in {:.1} s", started.elapsed().as_secs_f64());
    }

    fn down(&self, node: usize, signal: &str) {
        self.node_dir(node);
        if let Err(failure) = scripts::down(&self.base_dir, &[node], signal) {
            panic!("galera-harness: stopping node {node} with {signal} failed: {}", failure.log);
        }
    }
}

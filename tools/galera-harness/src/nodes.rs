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
        let mut outcome = scripts::run(&dir.join("start.sh"), ["--wait"], &[]);
        if let Err(failure) = &outcome {
            // A start can crash (seen once: exit 139 while two nodes rejoined at once,
            // each waiting for the other): a second start recovers from where it stopped.
            eprintln!("galera-harness: starting node {node} failed (exit {:?}); trying once more", failure.code);
            std::thread::sleep(std::time::Duration::from_secs(1));
            outcome = scripts::run(&dir.join("start.sh"), ["--wait"], &[]);
        }
        if let Err(failure) = outcome {
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

    /// Freezes `node` (0-based) with SIGSTOP: it keeps its connections open but answers
    /// nothing, like a hung server. [`Cluster::resume`] thaws it; dropping the cluster
    /// kills it either way.
    ///
    /// Panics when the node's `mariadbd` is not running.
    pub fn pause(&self, node: usize) {
        self.signal_server(node, "STOP");
    }

    /// Thaws a node frozen by [`Cluster::pause`].
    pub fn resume(&self, node: usize) {
        self.signal_server(node, "CONT");
    }

    /// Sends `signal` to `node`'s `mariadbd`, found by its pid file and checked against
    /// `/proc/PID/cmdline` (so a stale pid file never hits another process).
    fn signal_server(&self, node: usize, signal: &str) {
        let dir = self.node_dir(node);
        let pid = std::fs::read_to_string(dir.join("mysqld.pid")).unwrap_or_default().trim().to_owned();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let expected = format!("--defaults-file={}", dir.join("my.cnf").display());
        let ours = !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && String::from_utf8_lossy(&cmdline).split('\0').any(|arg| arg == expected);
        assert!(ours, "galera-harness: node {node} has no running mariadbd to send SIG{signal}");
        let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "galera-harness: kill -{signal} {pid} failed");
    }

    fn down(&self, node: usize, signal: &str) {
        self.node_dir(node);
        if let Err(failure) = scripts::down(&self.base_dir, &[node], signal) {
            panic!("galera-harness: stopping node {node} with {signal} failed: {}", failure.log);
        }
    }
}

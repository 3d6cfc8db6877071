//! Talking to the nodes with the `mariadb` client: SQL, status variables, new databases.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::cluster::{Cluster, PASSWORD, USER};

/// How often the waiting functions ask again.
const POLL: Duration = Duration::from_millis(100);
/// How long [`Cluster::create_database`] waits for every node to see a new database.
const DDL_TIMEOUT: Duration = Duration::from_secs(30);

impl Cluster {
    /// Creates a database with a unique name that starts with `prefix` (reduced to
    /// `[a-z0-9_]`) and returns the name. With Galera it returns once every node that is up
    /// has the database, so the next statement may go to any node.
    ///
    /// Panics when no node can create it.
    pub fn create_database(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let create = format!("CREATE DATABASE `{name}`");
        let mut errors = Vec::new();
        let created = (0..self.node_count()).any(|node| match self.sql(node, None, &create) {
            Ok(_) => true,
            Err(e) => {
                errors.push(e);
                false
            }
        });
        assert!(created, "galera-harness: cannot create database {name}: {}", errors.join("; "));
        if self.wsrep {
            self.wait_database_everywhere(&name);
        }
        name
    }

    /// Runs `sql` (one or more statements separated by `;`) on `node` (0-based) as
    /// [`Cluster::user`] over TCP with the `mariadb` client in batch mode without column names
    /// (`-N -B`), in `database` if given. Returns the output: one line per row, columns
    /// separated by tabs, without the final newline (tabs, newlines and backslashes inside
    /// values are escaped as `\t`, `\n`, `\\`, and NULL is `NULL`). The error is the client's
    /// message, e.g. "ERROR 1213 (40001) at line 1: Deadlock found ...".
    ///
    /// Panics when there is no such node.
    pub fn sql(&self, node: usize, database: Option<&str>, sql: &str) -> Result<String, String> {
        let port = self.port(node);
        let mut command = Command::new(&self.client);
        command
            .args(["--no-defaults", "--protocol=TCP", "--host=127.0.0.1", "--connect-timeout=10", "-N", "-B"])
            .arg(format!("--port={port}"))
            .arg(format!("--user={USER}"))
            .env("MYSQL_PWD", PASSWORD);
        if let Some(database) = database {
            command.arg(format!("--database={database}"));
        }
        let output = command.arg("--execute").arg(sql).output().map_err(|e| format!("cannot run mariadb: {e}"))?;
        if !output.status.success() {
            let error = String::from_utf8_lossy(&output.stderr);
            return Err(format!("node {node}: {}", error.trim_end()));
        }
        let mut stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if stdout.ends_with('\n') {
            stdout.pop();
        }
        Ok(stdout)
    }

    /// The value of a server status variable on `node` (`SHOW GLOBAL STATUS LIKE variable`),
    /// e.g. `wsrep_cluster_size` or `wsrep_local_state_comment`. `None` when the node does
    /// not answer or has no such variable.
    pub fn status(&self, node: usize, variable: &str) -> Option<String> {
        if !variable.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let rows = self.sql(node, None, &format!("SHOW GLOBAL STATUS LIKE '{variable}'")).ok()?;
        let row = rows.lines().next()?;
        row.split_once('\t').map(|(_, value)| value.to_owned())
    }

    /// Waits until `node` reports `wsrep_cluster_size` = `size`, e.g. 2 after a node of three
    /// was killed, 3 after it rejoined. The error says what the node last reported.
    pub fn wait_cluster_size(&self, node: usize, size: u32, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let wanted = size.to_string();
        loop {
            let seen = self.status(node, "wsrep_cluster_size");
            if seen.as_deref() == Some(wanted.as_str()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let seen = seen.unwrap_or_else(|| "no answer".to_owned());
                return Err(format!("node {node}: cluster size {seen} after {timeout:?}, expected {size}"));
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until every node that answers sees database `name`. A read with
    /// `wsrep_sync_wait` waits until the node has applied everything committed before it, so
    /// a healthy node answers 1 at once; nodes that are down or not in the primary component
    /// are skipped (they get the database when they rejoin).
    fn wait_database_everywhere(&self, name: &str) {
        let check = format!(
            "SET SESSION wsrep_sync_wait = 1; \
             SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
        );
        let deadline = Instant::now() + DDL_TIMEOUT;
        for node in 0..self.node_count() {
            while let Ok(count) = self.sql(node, None, &check) {
                if count == "1" {
                    break;
                }
                assert!(Instant::now() < deadline, "galera-harness: node {node} does not see database {name}");
                thread::sleep(POLL);
            }
        }
    }
}

/// `prefix` in lower case with anything but `[a-z0-9]` turned into `_` (at most 40
/// characters), then the process ID and a counter: at most 64 characters, a valid name.
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let mut safe: String =
        prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(40).collect();
    if safe.is_empty() {
        safe.push_str("test");
    }
    format!("{safe}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn database_names_are_safe_short_and_distinct() {
        let a = unique_name("Video Feed-2!");
        let b = unique_name("Video Feed-2!");
        assert!(a.starts_with("video_feed_2__"), "{a}");
        assert_ne!(a, b);
        assert!(unique_name(&"x".repeat(100)).len() <= 64);
        assert!(unique_name("").starts_with("test_"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
}

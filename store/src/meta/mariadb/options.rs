//! What [`MariaMeta`](super::MariaMeta) needs to reach a MariaDB server or Galera cluster.

use std::time::Duration;

/// Connection settings of the MariaDB backend.
#[derive(Clone)]
pub struct MariaOptions {
    /// Every node, `host:port`. One entry for a single server; all of a Galera cluster's
    /// nodes for failover (the order is the order of preference).
    pub nodes: Vec<String>,
    /// Account name.
    pub user: String,
    /// Account password.
    pub password: String,
    /// Database (schema) name; it must exist, MyVid creates the tables in it.
    pub database: String,
    /// Most connections kept open to each node.
    pub pool_size: usize,
    /// Longest wait for a connection to a node (TCP connect, log-in, or a free pooled one).
    pub connect_timeout: Duration,
    /// Longest one attempt of an operation may take on one node (all its statements).
    pub query_timeout: Duration,
    /// Longest a whole operation may take, retries and failovers included; after it the
    /// caller gets `MetadataUnavailable`.
    pub request_timeout: Duration,
    /// Extra attempts after a failed one (deadlock, lost connection, node not ready).
    pub retries: u32,
}

impl std::fmt::Debug for MariaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaOptions")
            .field("nodes", &self.nodes)
            .field("user", &self.user)
            .field("database", &self.database)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl MariaOptions {
    /// Options for `nodes` with the defaults: pool of 16, connect 2 s, query 5 s,
    /// request 12 s, 4 retries.
    pub fn new(nodes: Vec<String>, user: &str, password: &str, database: &str) -> Self {
        MariaOptions {
            nodes,
            user: user.to_owned(),
            password: password.to_owned(),
            database: database.to_owned(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            query_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(12),
            retries: 4,
        }
    }

    /// `host` and `port` of a node address (`host:port`, `[v6]:port`, or a bare host
    /// meaning port 3306).
    pub fn split_node(node: &str) -> Result<(String, u16), String> {
        let bad = || format!("database node {node:?} is not host:port");
        if let Some(rest) = node.strip_prefix('[') {
            let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
            return Ok((host.to_owned(), port.parse().map_err(|_| bad())?));
        }
        match node.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !host.contains(':') => {
                Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
            }
            None if !node.is_empty() => Ok((node.to_owned(), 3306)),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MariaOptions;

    #[test]
    fn node_addresses_split() {
        assert_eq!(MariaOptions::split_node("db1:3307").unwrap(), ("db1".to_owned(), 3307));
        assert_eq!(MariaOptions::split_node("10.0.0.1").unwrap(), ("10.0.0.1".to_owned(), 3306));
        assert_eq!(MariaOptions::split_node("[fd00::1]:3308").unwrap(), ("fd00::1".to_owned(), 3308));
        for bad in ["", ":3306", "db:x", "fd00::1", "[fd00::1]"] {
            assert!(MariaOptions::split_node(bad).is_err(), "{bad}");
        }
    }
}

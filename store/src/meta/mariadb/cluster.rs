//! Galera-aware access: mysql_async talks to one server, so this keeps a pool per
//! node, sends work to a healthy one, and runs each operation as retried attempts.
//!
//! ```text
//!  run(op) ──▶ pick node ──▶ connect (health check if the node was in doubt)
//!                 ▲              │
//!                 │              ▼
//!                 │         attempt: op's statements, within query_timeout
//!                 │              │
//!   Node failure: mark down ◀────┤ lost connection, timeout, 1047/1180 (no quorum)
//!   Conflict: back off, again ◀──┤ 1213 / 40001 (deadlock, certification failure)
//!                                └──▶ answer (or a final error) to the caller
//! ```
//!
//! A node is healthy when `wsrep_ready = ON` and `wsrep_local_state = 4` (Synced), or
//! when it is a plain server (`wsrep_on = OFF`). The last node that answered is
//! preferred, so that one process's reads and writes go to one node while it is well;
//! every session also sets `wsrep_sync_wait = 1`, so that a read on any node sees
//! every write acknowledged before it (read-your-writes after a failover too).
//!
//! Every attempt of an operation may run again after an unknown outcome (a lost
//! connection during `COMMIT`): the operations in `super` are written so that a retry
//! never duplicates a row.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use super::errors::Failure;
use super::options::MariaOptions;
use crate::error::{Result, StoreError};

/// How long a node that failed is passed over while others are healthy.
const DOWN_COOLDOWN: Duration = Duration::from_secs(1);

/// One attempt of an operation on a connection.
pub(super) type Attempt<'c, T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send + 'c>>;

/// One database node.
struct Node {
    /// `host:port`, for logs.
    addr: String,
    /// How to open connections to it.
    opts: OptsBuilder,
    /// Its pool; replaced (old connections dropped) when the node fails.
    pool: Mutex<Pool>,
    /// When it last failed; `None` while healthy.
    down_since: Mutex<Option<Instant>>,
}

impl Node {
    fn pool(&self) -> Pool {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn down_since(&self) -> Option<Instant> {
        *self.down_since.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The nodes of one server or cluster, and the policy for using them.
pub(super) struct Cluster {
    nodes: Vec<Node>,
    /// Index of the node that answered last.
    preferred: AtomicUsize,
    connect_timeout: Duration,
    query_timeout: Duration,
    request_timeout: Duration,
    retries: u32,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<&str> = self.nodes.iter().map(|n| n.addr.as_str()).collect();
        f.debug_struct("Cluster").field("nodes", &nodes).finish_non_exhaustive()
    }
}

impl Cluster {
    /// Pools for every node of `options` (no connection is opened yet).
    pub(super) fn new(options: &MariaOptions) -> std::result::Result<Cluster, String> {
        if options.nodes.is_empty() {
            return Err("no database nodes configured".to_owned());
        }
        let constraints =
            PoolConstraints::new(0, options.pool_size.max(1)).ok_or_else(|| "invalid database pool size".to_owned())?;
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(Duration::from_secs(60))
            .with_reset_connection(false);
        let query_secs = options.query_timeout.as_secs_f64().max(0.1);
        // A statement never runs (or waits for a row lock) longer than one attempt may.
        let init = vec![
            "SET SESSION wsrep_sync_wait = 1".to_owned(),
            format!("SET SESSION max_statement_time = {query_secs:.3}"),
            format!("SET SESSION innodb_lock_wait_timeout = {}", options.query_timeout.as_secs().max(1)),
        ];
        let mut nodes = Vec::with_capacity(options.nodes.len());
        for addr in &options.nodes {
            let (host, port) = MariaOptions::split_node(addr)?;
            let opts = OptsBuilder::default()
                .ip_or_hostname(host)
                .tcp_port(port)
                .user(Some(options.user.clone()))
                .pass(Some(options.password.clone()))
                .db_name(Some(options.database.clone()))
                .init(init.clone())
                .tcp_nodelay(true)
                .stmt_cache_size(128)
                .pool_opts(pool_opts.clone());
            nodes.push(Node {
                addr: addr.clone(),
                pool: Mutex::new(Pool::new(opts.clone())),
                opts,
                down_since: Mutex::new(Some(Instant::now() - DOWN_COOLDOWN)),
            });
        }
        Ok(Cluster {
            nodes,
            preferred: AtomicUsize::new(0),
            connect_timeout: options.connect_timeout,
            query_timeout: options.query_timeout,
            request_timeout: options.request_timeout,
            retries: options.retries,
        })
    }

    /// The node to try next: the preferred one if healthy, else the next healthy one,
    /// else the one that has been down longest (it may be back).
    fn pick(&self, now: Instant) -> usize {
        let n = self.nodes.len();
        let start = self.preferred.load(Ordering::Relaxed) % n;
        let ring = (0..n).map(|k| (start + k) % n);
        let usable = |i: &usize| self.nodes[*i].down_since().is_none_or(|t| now.duration_since(t) >= DOWN_COOLDOWN);
        if let Some(i) = ring.clone().find(|i| self.nodes[*i].down_since().is_none()) {
            return i;
        }
        if let Some(i) = ring.clone().find(usable) {
            return i;
        }
        ring.min_by_key(|i| self.nodes[*i].down_since()).unwrap_or(start)
    }

    fn mark_up(&self, i: usize) {
        let was_down = self.nodes[i].down_since.lock().unwrap_or_else(PoisonError::into_inner).take().is_some();
        if was_down {
            tracing::info!(node = %self.nodes[i].addr, "database node in use");
        }
        self.preferred.store(i, Ordering::Relaxed);
    }

    /// Marks node `i` down and drops its pooled connections (they may be dead).
    fn mark_down(&self, i: usize, why: &str) {
        let node = &self.nodes[i];
        let newly = node.down_since.lock().unwrap_or_else(PoisonError::into_inner).replace(Instant::now()).is_none();
        if newly {
            tracing::warn!(node = %node.addr, %why, "database node failed; using another");
        }
        let old = std::mem::replace(
            &mut *node.pool.lock().unwrap_or_else(PoisonError::into_inner),
            Pool::new(node.opts.clone()),
        );
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), old.disconnect()).await;
        });
    }

    /// A connection to node `i`; a node that was in doubt must prove it is healthy.
    async fn connect(&self, i: usize) -> Result<Conn, Failure> {
        let node = &self.nodes[i];
        let conn = tokio::time::timeout(self.connect_timeout, node.pool().get_conn())
            .await
            .map_err(|_| Failure::Node(format!("no connection within {:?}", self.connect_timeout)))??;
        let mut conn = conn;
        if node.down_since().is_some() {
            check_health(&mut conn).await?;
        }
        Ok(conn)
    }

    /// Runs `attempt` on a healthy node, again after a conflict (with backoff) or on
    /// another node after a node failure, within the request timeout. `what` names the
    /// operation in errors.
    pub(super) async fn run<T, F>(&self, what: &'static str, attempt: F) -> Result<T>
    where
        T: Send,
        F: for<'c> Fn(&'c mut Conn) -> Attempt<'c, T> + Send + Sync,
    {
        self.run_within(what, self.query_timeout, self.request_timeout, attempt).await
    }

    /// [`Cluster::run`] for an operation that may take up to `limit` (schema migrations,
    /// which may wait for another process's).
    pub(super) async fn run_long<T, F>(&self, what: &'static str, limit: Duration, attempt: F) -> Result<T>
    where
        T: Send,
        F: for<'c> Fn(&'c mut Conn) -> Attempt<'c, T> + Send + Sync,
    {
        self.run_within(what, limit, limit.max(self.request_timeout), attempt).await
    }

    async fn run_within<T, F>(
        &self,
        what: &'static str,
        query_timeout: Duration,
        request_timeout: Duration,
        attempt: F,
    ) -> Result<T>
    where
        T: Send,
        F: for<'c> Fn(&'c mut Conn) -> Attempt<'c, T> + Send + Sync,
    {
        let started = Instant::now();
        let deadline = started + request_timeout;
        let mut last = String::from("no attempt");
        for tries in 0..=self.retries {
            let now = Instant::now();
            let Some(remaining) = deadline.checked_duration_since(now).filter(|d| !d.is_zero()) else { break };
            let node = self.pick(now);
            let one = async {
                let mut conn = self.connect(node).await?;
                attempt(&mut conn).await
            };
            match tokio::time::timeout(query_timeout.min(remaining), one).await {
                Ok(Ok(value)) => {
                    self.mark_up(node);
                    if tries > 0 {
                        tracing::debug!(what, tries, elapsed = ?started.elapsed(), "database operation succeeded after retries");
                    }
                    return Ok(value);
                }
                Ok(Err(Failure::Final(e))) => return Err(e),
                Ok(Err(Failure::Node(why))) => {
                    self.mark_down(node, &why);
                    last = why;
                }
                Ok(Err(Failure::Conflict(why))) => {
                    last = why;
                    let backoff = Duration::from_millis(5 << tries.min(6)) + jitter();
                    tokio::time::sleep(backoff.min(deadline.saturating_duration_since(Instant::now()))).await;
                }
                Err(_) => {
                    let why = format!("no answer within {:?}", query_timeout.min(remaining));
                    self.mark_down(node, &why);
                    last = why;
                }
            }
        }
        Err(StoreError::MetadataUnavailable(format!("{what}: {last} (after {:?})", started.elapsed())))
    }

    /// Closes every pool (at shutdown).
    pub(super) async fn close(&self) {
        for node in &self.nodes {
            let _ = tokio::time::timeout(Duration::from_secs(2), node.pool().disconnect()).await;
        }
    }
}

/// Up to 10 ms of random delay, so that retried conflicts do not collide again.
fn jitter() -> Duration {
    Duration::from_micros(rand::random::<u64>() % 10_000)
}

/// `Ok` when the server is a plain MariaDB or a Galera node that is ready and Synced.
async fn check_health(conn: &mut Conn) -> Result<(), Failure> {
    let wsrep_on: Option<i64> = conn.query_first("SELECT @@GLOBAL.wsrep_on").await?;
    if wsrep_on.unwrap_or(0) == 0 {
        return Ok(());
    }
    let status: Vec<(String, String)> =
        conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state')").await?;
    let value = |name: &str| status.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    match (value("wsrep_ready"), value("wsrep_local_state")) {
        (Some("ON"), Some("4")) => Ok(()),
        (ready, state) => Err(Failure::Node(format!(
            "Galera node not ready (wsrep_ready={}, wsrep_local_state={})",
            ready.unwrap_or("?"),
            state.unwrap_or("?")
        ))),
    }
}

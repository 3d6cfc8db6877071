//! `[metadata]`: which metadata store every role uses, and how to reach MariaDB.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use myvid_store::MariaOptions;
use serde::{Deserialize, Serialize};

/// The metadata backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataBackend {
    /// The embedded SQLite file in `data_dir` (one machine).
    Sqlite,
    /// A MariaDB server or Galera cluster (`nodes`).
    Mariadb,
}

/// `[metadata]`
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    /// `sqlite` (default) or `mariadb`.
    pub backend: MetadataBackend,
    /// MariaDB: every node, `host:port`, in order of preference (one for a single
    /// server, all three of a Galera cluster).
    pub nodes: Vec<String>,
    /// MariaDB account.
    pub user: String,
    /// MariaDB password (prefer `password_file`).
    pub password: Option<String>,
    /// A file whose first line is the MariaDB password.
    pub password_file: Option<PathBuf>,
    /// MariaDB database; it must exist (MyVid creates and migrates its tables).
    pub database: String,
    /// Most connections to each node.
    pub pool_size: usize,
    /// Longest wait for a connection to a node, in ms.
    pub connect_timeout_ms: u64,
    /// Longest one attempt of an operation may run on one node, in ms.
    pub query_timeout_ms: u64,
    /// Longest a whole operation may take with its retries and failovers, in ms; after
    /// it the request answers 503 `metadata_unavailable`.
    pub request_timeout_ms: u64,
    /// Extra attempts after a deadlock, a lost connection or a node without quorum.
    pub retries: u32,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            backend: MetadataBackend::Sqlite,
            nodes: Vec::new(),
            user: "myvid".into(),
            password: None,
            password_file: None,
            database: "myvid".into(),
            pool_size: 16,
            connect_timeout_ms: 2_000,
            query_timeout_ms: 5_000,
            request_timeout_ms: 12_000,
            retries: 4,
        }
    }
}

impl std::fmt::Debug for MetadataConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataConfig")
            .field("backend", &self.backend)
            .field("nodes", &self.nodes)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("database", &self.database)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("query_timeout_ms", &self.query_timeout_ms)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("retries", &self.retries)
            .finish()
    }
}

impl MetadataConfig {
    /// Checks the fields the backend uses, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.backend == MetadataBackend::Sqlite {
            return Ok(());
        }
        if self.nodes.is_empty() {
            bail!("`metadata.nodes` must list the MariaDB nodes (host:port) when `metadata.backend` is \"mariadb\"");
        }
        for node in &self.nodes {
            MariaOptions::split_node(node).map_err(|e| anyhow::anyhow!("`metadata.nodes`: {e}"))?;
        }
        if self.user.is_empty() || self.database.is_empty() {
            bail!("`metadata.user` and `metadata.database` must not be empty");
        }
        if self.password.is_some() && self.password_file.is_some() {
            bail!("set `metadata.password` or `metadata.password_file`, not both");
        }
        if !(1..=1000).contains(&self.pool_size) {
            bail!("`metadata.pool_size` must be between 1 and 1000, got {}", self.pool_size);
        }
        for (field, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("query_timeout_ms", self.query_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                bail!("`metadata.{field}` must be between 100 and 600000, got {ms}");
            }
        }
        if self.request_timeout_ms < self.query_timeout_ms {
            bail!("`metadata.request_timeout_ms` must be at least `metadata.query_timeout_ms`");
        }
        if self.retries > 20 {
            bail!("`metadata.retries` must be at most 20, got {}", self.retries);
        }
        Ok(())
    }

    /// The MariaDB connection settings (reading `password_file`).
    pub fn maria_options(&self) -> anyhow::Result<MariaOptions> {
        let password = match (&self.password, &self.password_file) {
            (Some(password), _) => password.clone(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("cannot read `metadata.password_file` {}", file.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => String::new(),
        };
        let mut options = MariaOptions::new(self.nodes.clone(), &self.user, &password, &self.database);
        options.pool_size = self.pool_size;
        options.connect_timeout = Duration::from_millis(self.connect_timeout_ms);
        options.query_timeout = Duration::from_millis(self.query_timeout_ms);
        options.request_timeout = Duration::from_millis(self.request_timeout_ms);
        options.retries = self.retries;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_needs_nodes_and_sane_limits() {
        let mut config = MetadataConfig { backend: MetadataBackend::Mariadb, ..MetadataConfig::default() };
        assert!(config.validate().unwrap_err().to_string().contains("metadata.nodes"));
        config.nodes = vec!["db1:3306".into(), "db2".into()];
        config.validate().unwrap();
        config.nodes.push("db3:x".into());
        assert!(config.validate().is_err());
        config.nodes.pop();
        config.query_timeout_ms = 50;
        assert!(config.validate().is_err());
        assert!(MetadataConfig::default().validate().is_ok(), "sqlite needs nothing");
    }

    #[test]
    fn the_password_comes_from_its_file_and_is_never_logged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret-pass\nignored\n").unwrap();
        let config = MetadataConfig {
            backend: MetadataBackend::Mariadb,
            nodes: vec!["db:3306".into()],
            password_file: Some(file),
            ..MetadataConfig::default()
        };
        assert_eq!(config.maria_options().unwrap().password, "s3cret-pass");
        let shown = MetadataConfig { password: Some("s3cret-pass".into()), ..MetadataConfig::default() };
        assert!(!format!("{shown:?}").contains("s3cret"));
    }
}

//! `[views]`: how view counts are batched before they reach the metadata store.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[views]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewsConfig {
    /// Milliseconds between counting the views an API process has taken in (default
    /// 10000): a crash loses at most this long of first views, never counts one twice.
    pub flush_ms: u64,
    /// A viewer counts once per video per this many seconds (default 3600).
    pub window_secs: i64,
    /// Most views one process holds between flushes (default 50000); beyond it (the
    /// store down for long) new views are dropped and counted in a metric.
    pub max_pending: usize,
}

impl Default for ViewsConfig {
    fn default() -> Self {
        ViewsConfig { flush_ms: 10_000, window_secs: 3600, max_pending: 50_000 }
    }
}

impl ViewsConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(50..=600_000).contains(&self.flush_ms) {
            bail!("`views.flush_ms` must be between 50 and 600000, got {}", self.flush_ms);
        }
        if !(60..=7 * 86_400).contains(&self.window_secs) {
            bail!("`views.window_secs` must be between 60 and 604800, got {}", self.window_secs);
        }
        if !(1..=10_000_000).contains(&self.max_pending) {
            bail!("`views.max_pending` must be between 1 and 10000000, got {}", self.max_pending);
        }
        Ok(())
    }

    /// The counting settings.
    pub fn settings(&self) -> myvid_core::views::ViewSettings {
        myvid_core::views::ViewSettings {
            flush_every: Duration::from_millis(self.flush_ms),
            window_secs: self.window_secs,
            max_pending: self.max_pending,
        }
    }
}

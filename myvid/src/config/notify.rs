//! `[notify]`: live notifications (the API's `GET /v1/me/notifications` sockets).

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[notify]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Milliseconds between reads of the live streams while this process has a
    /// notification socket open (default 500, 100 ..= 10000): a notice takes at most
    /// about this long, plus the read.
    pub poll_ms: u64,
    /// Notification sockets one account may hold on one process (default 8, 1 ..= 64):
    /// one per open page.
    pub max_sockets_per_user: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig { poll_ms: 500, max_sockets_per_user: myvid_core::notify::hub::DEFAULT_MAX_SOCKETS_PER_USER }
    }
}

impl NotifyConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(100..=10_000).contains(&self.poll_ms) {
            bail!("`notify.poll_ms` must be between 100 and 10000, got {}", self.poll_ms);
        }
        if !(1..=64).contains(&self.max_sockets_per_user) {
            bail!("`notify.max_sockets_per_user` must be between 1 and 64, got {}", self.max_sockets_per_user);
        }
        Ok(())
    }

    /// The poll period.
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_out_of_range_values_are_named() {
        NotifyConfig::default().validate().unwrap();
        let slow = NotifyConfig { poll_ms: 50, ..NotifyConfig::default() };
        assert!(slow.validate().unwrap_err().to_string().contains("notify.poll_ms"));
        let none = NotifyConfig { max_sockets_per_user: 0, ..NotifyConfig::default() };
        assert!(none.validate().unwrap_err().to_string().contains("notify.max_sockets_per_user"));
    }
}

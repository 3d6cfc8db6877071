//! `[chat]`: live chat's rules, read by the SFU role (each SFU holds the rooms of the
//! streams it hosts).

use anyhow::bail;
use myvid_sfu::chat::MAX_CHAT_HISTORY;
use serde::{Deserialize, Serialize};

/// `[chat]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Most characters in a message after trimming (default 300; 1 .. 300: the
    /// signalling limit of 1,200 bytes holds 300 characters of any width).
    pub max_chars: u32,
    /// Messages a user may send at once (default 5).
    pub burst: u32,
    /// Milliseconds until a user may send one more after the burst (default 2000).
    pub refill_ms: u64,
    /// Messages kept for newcomers (default 50; at most 100, what one `chat_joined`
    /// frame carries).
    pub history: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        let limits = myvid_sfu::chat::ChatLimits::default();
        ChatConfig {
            max_chars: limits.max_chars,
            burst: limits.burst,
            refill_ms: limits.refill_ms,
            history: limits.history,
        }
    }
}

impl ChatConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=300).contains(&self.max_chars) {
            bail!("`chat.max_chars` must be between 1 and 300, got {}", self.max_chars);
        }
        if !(1..=1_000).contains(&self.burst) {
            bail!("`chat.burst` must be between 1 and 1000, got {}", self.burst);
        }
        if !(1..=3_600_000).contains(&self.refill_ms) {
            bail!("`chat.refill_ms` must be between 1 and 3600000, got {}", self.refill_ms);
        }
        if self.history > MAX_CHAT_HISTORY {
            bail!("`chat.history` must be between 0 and {MAX_CHAT_HISTORY}, got {}", self.history);
        }
        Ok(())
    }

    /// The rooms' rules.
    pub fn limits(&self) -> myvid_sfu::chat::ChatLimits {
        myvid_sfu::chat::ChatLimits {
            max_chars: self.max_chars,
            burst: self.burst,
            refill_ms: self.refill_ms,
            history: self.history,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_each_bad_field_is_named() {
        ChatConfig::default().validate().unwrap();
        let bad = [
            ChatConfig { max_chars: 0, ..ChatConfig::default() },
            ChatConfig { max_chars: 301, ..ChatConfig::default() },
            ChatConfig { burst: 0, ..ChatConfig::default() },
            ChatConfig { refill_ms: 0, ..ChatConfig::default() },
            ChatConfig { history: MAX_CHAT_HISTORY + 1, ..ChatConfig::default() },
        ];
        for (config, field) in bad.iter().zip(["max_chars", "max_chars", "burst", "refill_ms", "history"]) {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("chat.{field}")), "{err}");
        }
    }
}

//! `[limits]`: the rates, and the connection limits the HTTP server enforces.

use serde::{Deserialize, Serialize};

use super::Action;

/// A rate: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// How many may come at once (1 or more).
    pub burst: u32,
    /// How many more are allowed per minute after that (1 or more).
    pub per_minute: u32,
}

impl Rate {
    const fn new(burst: u32, per_minute: u32) -> Rate {
        Rate { burst, per_minute }
    }
}

/// Abuse limits and their defaults. Every rate is per client IP except
/// `login_per_account`. The defaults leave room for a household or an office behind
/// one address and stop scripted guessing and flooding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbuseLimits {
    /// Enforce the rates at all (default true).
    pub enabled: bool,
    /// Log-in attempts per IP (default 20 at once, 10 a minute).
    pub login_per_ip: Rate,
    /// Log-in attempts per account, from any IP (default 10 at once, 2 a minute): 100
    /// guesses take about 45 minutes instead of a second and a half.
    pub login_per_account: Rate,
    /// Sign-ups per IP (default 10 at once, 5 a minute).
    pub signup_per_ip: Rate,
    /// Uploads created per IP (default 20 at once, 10 a minute).
    pub upload_per_ip: Rate,
    /// Live streams created per IP (default 10 at once, 5 a minute).
    pub stream_per_ip: Rate,
    /// Searches and listings per IP (default 120 at once, 600 a minute).
    pub search_per_ip: Rate,
    /// Signalling WebSocket connects per IP (default 60 at once, 120 a minute).
    pub connect_per_ip: Rate,
    /// WHIP/WHEP offers per IP (default 20 at once, 30 a minute).
    pub whip_per_ip: Rate,
    /// Follows and unfollows per IP (default 30 at once, 30 a minute).
    pub follow_per_ip: Rate,
    /// Views reported per IP (default 120 at once, 600 a minute).
    pub view_per_ip: Rate,
    /// Live-notification sockets opened per IP (default 60 at once, 120 a minute):
    /// every page a signed-in user opens holds one, and reconnects after a drop.
    pub notify_per_ip: Rate,
    /// Chat tokens asked for per IP (default 30 at once, 60 a minute): a page asks for
    /// one each time it joins a stream's chat, and again after a reconnect.
    pub chat_token_per_ip: Rate,
    /// How long a failed log-in takes at least, in milliseconds (default 400): the
    /// same for an unknown account and a wrong password, and a slowdown for guessing.
    pub failed_login_ms: u64,
    /// Open connections one IP may hold (default 256).
    pub max_connections_per_ip: u32,
    /// Seconds a client may take to send a request's headers (default 10).
    pub header_timeout_secs: u64,
    /// Seconds a request body may go without sending a byte (default 30).
    pub body_idle_timeout_secs: u64,
}

impl Default for AbuseLimits {
    fn default() -> Self {
        AbuseLimits {
            enabled: true,
            login_per_ip: Rate::new(20, 10),
            login_per_account: Rate::new(10, 2),
            signup_per_ip: Rate::new(10, 5),
            upload_per_ip: Rate::new(20, 10),
            stream_per_ip: Rate::new(10, 5),
            search_per_ip: Rate::new(120, 600),
            connect_per_ip: Rate::new(60, 120),
            whip_per_ip: Rate::new(20, 30),
            follow_per_ip: Rate::new(30, 30),
            view_per_ip: Rate::new(120, 600),
            notify_per_ip: Rate::new(60, 120),
            chat_token_per_ip: Rate::new(30, 60),
            failed_login_ms: 400,
            max_connections_per_ip: 256,
            header_timeout_secs: 10,
            body_idle_timeout_secs: 30,
        }
    }
}

impl AbuseLimits {
    /// The per-IP rate of `action`.
    pub fn rate(&self, action: Action) -> Rate {
        match action {
            Action::Login => self.login_per_ip,
            Action::Signup => self.signup_per_ip,
            Action::Upload => self.upload_per_ip,
            Action::Stream => self.stream_per_ip,
            Action::Search => self.search_per_ip,
            Action::Connect => self.connect_per_ip,
            Action::Whip => self.whip_per_ip,
            Action::Follow => self.follow_per_ip,
            Action::View => self.view_per_ip,
            Action::Notify => self.notify_per_ip,
            Action::ChatToken => self.chat_token_per_ip,
        }
    }

    /// Checks every value; the error names the field (under `limits.`).
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("login_per_ip", self.login_per_ip),
            ("login_per_account", self.login_per_account),
            ("signup_per_ip", self.signup_per_ip),
            ("upload_per_ip", self.upload_per_ip),
            ("stream_per_ip", self.stream_per_ip),
            ("search_per_ip", self.search_per_ip),
            ("connect_per_ip", self.connect_per_ip),
            ("whip_per_ip", self.whip_per_ip),
            ("follow_per_ip", self.follow_per_ip),
            ("view_per_ip", self.view_per_ip),
            ("notify_per_ip", self.notify_per_ip),
            ("chat_token_per_ip", self.chat_token_per_ip),
        ];
        for (field, rate) in rates {
            if rate.burst == 0 || rate.per_minute == 0 {
                return Err(format!("`limits.{field}` needs burst and per_minute of 1 or more"));
            }
        }
        if self.failed_login_ms > 10_000 {
            return Err(format!("`limits.failed_login_ms` must be at most 10000, got {}", self.failed_login_ms));
        }
        if self.max_connections_per_ip == 0 {
            return Err("`limits.max_connections_per_ip` must be 1 or more".into());
        }
        if !(1..=600).contains(&self.header_timeout_secs) {
            return Err(format!("`limits.header_timeout_secs` must be 1 ..= 600, got {}", self.header_timeout_secs));
        }
        if !(1..=3600).contains(&self.body_idle_timeout_secs) {
            return Err(format!(
                "`limits.body_idle_timeout_secs` must be 1 ..= 3600, got {}",
                self.body_idle_timeout_secs
            ));
        }
        Ok(())
    }
}

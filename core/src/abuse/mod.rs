//! Abuse limits: how often one client IP (or one account) may do the costly or
//! sensitive things — log in, sign up, create uploads and streams, search, open
//! signalling sockets, offer WHIP/WHEP — with GCRA rate limiters from `governor`.
//!
//! ```text
//! request ──▶ routes.rs: (method, route template) → Action ──▶ per-IP limiter of that action
//!                                                     │ over: 429 rate_limited + Retry-After
//! log-in ──▶ per-account limiter (attempts per credential), then the password check
//! ```
//!
//! Limiters keep one small entry per key they have seen; [`Limiters::forget_idle`]
//! (called every minute by the server) drops entries that are back to full, so memory
//! follows the number of recently active clients, not of all clients ever.

mod config;
pub mod middleware;
mod routes;

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

pub use config::{AbuseLimits, Rate};
pub use routes::{Action, action_for};

use crate::error::{ApiError, ErrorCode};

/// The rate limiters of one process.
pub struct Limiters {
    /// Whether limits are enforced at all.
    enabled: bool,
    /// One per-IP limiter per [`Action`], in [`Action::ALL`] order.
    per_ip: Vec<DefaultKeyedRateLimiter<IpAddr>>,
    /// Log-in attempts per account (the credential as typed, lower-cased).
    per_account: DefaultKeyedRateLimiter<String>,
    /// The clock the limiters use (for `Retry-After`).
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").field("enabled", &self.enabled).finish_non_exhaustive()
    }
}

fn quota(rate: Rate) -> Quota {
    // `AbuseLimits::validate` keeps both at 1 or more; `max(1)` only guards defaults.
    let burst = NonZeroU32::new(rate.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let per_minute = NonZeroU32::new(rate.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl Limiters {
    /// Limiters with the configured rates.
    pub fn new(limits: &AbuseLimits) -> Limiters {
        Limiters {
            enabled: limits.enabled,
            per_ip: Action::ALL.iter().map(|a| DefaultKeyedRateLimiter::keyed(quota(limits.rate(*a)))).collect(),
            per_account: DefaultKeyedRateLimiter::keyed(quota(limits.login_per_account)),
            clock: DefaultClock::default(),
        }
    }

    /// Limiters that never refuse (tests of other things, tools).
    pub fn disabled() -> Limiters {
        Limiters::new(&AbuseLimits { enabled: false, ..AbuseLimits::default() })
    }

    /// Counts one `action` by `ip`; `rate_limited` (429, with `Retry-After`) when the
    /// IP is over its rate.
    pub fn check_ip(&self, action: Action, ip: IpAddr) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let limiter = &self.per_ip[action.index()];
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            refusal(action.describe(), wait.as_secs() + 1)
        })
    }

    /// Counts one log-in attempt for `credential` (username or e-mail as typed);
    /// `rate_limited` when there were too many lately, whichever IPs they came from.
    pub fn check_account(&self, credential: &str) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        self.per_account.check_key(&credential.to_lowercase()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            refusal("log-in attempts for this account", wait.as_secs() + 1)
        })
    }

    /// Drops state of keys that are back at their full burst, and gives the memory back.
    pub fn forget_idle(&self) {
        for limiter in &self.per_ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
    }

    /// How many keys the limiters hold (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.per_ip.iter().map(|l| l.len()).sum::<usize>() + self.per_account.len()
    }
}

/// The 429 answer.
fn refusal(what: &str, retry_after_secs: u64) -> ApiError {
    ApiError::new(ErrorCode::RateLimited, format!("too many {what}; try again in {retry_after_secs} s"))
        .with_retry_after(retry_after_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tight() -> AbuseLimits {
        let one = Rate { burst: 2, per_minute: 1 };
        AbuseLimits { login_per_ip: one, login_per_account: one, ..AbuseLimits::default() }
    }

    #[test]
    fn an_ip_over_its_burst_is_refused_with_a_retry_after() {
        let limiters = Limiters::new(&tight());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiters.check_ip(Action::Login, ip).is_ok());
        assert!(limiters.check_ip(Action::Login, ip).is_ok());
        let err = limiters.check_ip(Action::Login, ip).unwrap_err();
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert!((1..=61).contains(&err.retry_after.unwrap()), "{err:?}");
        // Another IP and another action have their own budgets.
        assert!(limiters.check_ip(Action::Login, "192.0.2.2".parse().unwrap()).is_ok());
        assert!(limiters.check_ip(Action::Search, ip).is_ok());
    }

    #[test]
    fn an_account_is_limited_whatever_the_case_of_its_name() {
        let limiters = Limiters::new(&tight());
        assert!(limiters.check_account("Alice").is_ok());
        assert!(limiters.check_account("alice").is_ok());
        assert!(limiters.check_account("ALICE").is_err());
        assert!(limiters.check_account("bob").is_ok());
    }

    #[test]
    fn disabled_limiters_never_refuse() {
        let limiters = Limiters::disabled();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!((0..1000).all(|_| limiters.check_ip(Action::Login, ip).is_ok()));
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let limiters = Limiters::new(&AbuseLimits::default());
        for i in 0..50u8 {
            limiters.check_ip(Action::Search, IpAddr::from([192, 0, 2, i])).unwrap();
        }
        assert_eq!(limiters.tracked_keys(), 50);
        // One request is far from emptying a burst, but the keys stay until their cell
        // is replenished; a limiter with a very fast rate replenishes at once.
        let fast = Rate { burst: 1, per_minute: 60_000 };
        let limiters = Limiters::new(&AbuseLimits { search_per_ip: fast, ..AbuseLimits::default() });
        for i in 0..50u8 {
            limiters.check_ip(Action::Search, IpAddr::from([192, 0, 2, i])).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        limiters.forget_idle();
        assert_eq!(limiters.tracked_keys(), 0);
    }
}

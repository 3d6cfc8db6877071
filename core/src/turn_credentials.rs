//! Time-limited TURN credentials ("TURN REST" scheme, draft-uberti-behave-turn-rest):
//! the API issues them, the endpoint's TURN server checks them, and the two share
//! nothing but a secret — no database look-up per allocation.
//!
//! ```text
//!  username = "<expiry unix seconds>:<user>"
//!  password = base64(HMAC-SHA1(secret, username))
//!
//!  API ─issue(secret, user, now, lifetime)─▶ browser ─TURN Allocate─▶ endpoint
//!                                                        check_username(username, now)
//!                                                        password(secret, username) → MESSAGE-INTEGRITY key
//! ```
//!
//! A forged password fails the TURN MESSAGE-INTEGRITY check (the server derives the
//! key from the password it computes itself); an expired username is refused before.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac_legacy::{Hmac, Mac};
use sha1::Sha1;

/// What the API needs to hand out the endpoint's own STUN and TURN server: where
/// clients reach it, the secret it checks credentials with, and their lifetime.
#[derive(Clone)]
pub struct TurnGrant {
    /// `host:port` of the TURN server (UDP) as clients reach it; the STUN URL is the
    /// same address (the TURN server answers STUN Binding requests too).
    pub address: String,
    /// The secret shared with the TURN server.
    pub secret: Vec<u8>,
    /// Seconds issued credentials stay valid.
    pub lifetime_secs: i64,
}

impl std::fmt::Debug for TurnGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnGrant")
            .field("address", &self.address)
            .field("secret", &"<redacted>")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}

impl TurnGrant {
    /// `stun:host:port`.
    pub fn stun_url(&self) -> String {
        format!("stun:{}", self.address)
    }

    /// `turn:host:port?transport=udp` (the server speaks UDP only).
    pub fn turn_url(&self) -> String {
        format!("turn:{}?transport=udp", self.address)
    }

    /// Fresh credentials for `user` at `now`.
    pub fn credential(&self, user: &str, now: i64) -> TurnCredential {
        issue(&self.secret, user, now, self.lifetime_secs)
    }
}

/// A TURN user name and password, as handed to a browser's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    /// `<expiry unix seconds>:<user>`.
    pub username: String,
    /// `base64(HMAC-SHA1(secret, username))`.
    pub password: String,
}

/// Why a TURN user name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not `<expiry>:<user>` with a numeric expiry and a non-empty user.
    #[error("the TURN user name is not `<expiry>:<user>`")]
    Malformed,
    /// The expiry has passed.
    #[error("the TURN credential has expired")]
    Expired,
}

/// Credentials for `user` valid from `now` for `lifetime_secs` (Unix seconds).
pub fn issue(secret: &[u8], user: &str, now: i64, lifetime_secs: i64) -> TurnCredential {
    let username = format!("{}:{user}", now.saturating_add(lifetime_secs));
    TurnCredential { password: password(secret, &username), username }
}

/// The password that goes with `username`: `base64(HMAC-SHA1(secret, username))`.
pub fn password(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the shape and expiry of `username` at `now`; returns the user part. A
/// credential is valid through its expiry second.
pub fn check_username(username: &str, now: i64) -> Result<&str, CredentialError> {
    let (expiry, user) = username.split_once(':').ok_or(CredentialError::Malformed)?;
    let expiry: i64 = expiry.parse().map_err(|_| CredentialError::Malformed)?;
    if user.is_empty() {
        return Err(CredentialError::Malformed);
    }
    if expiry < now {
        return Err(CredentialError::Expired);
    }
    Ok(user)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_credentials_follow_the_rest_scheme() {
        let cred = issue(b"secret", "42", 1_000, 86_400);
        assert_eq!(cred.username, "87400:42");
        assert_eq!(cred.password, password(b"secret", "87400:42"));
        assert_ne!(cred.password, password(b"other", "87400:42"));
        assert_eq!(check_username(&cred.username, 1_000), Ok("42"));
        assert_eq!(check_username(&cred.username, 87_400), Ok("42"));
        assert_eq!(check_username(&cred.username, 87_401), Err(CredentialError::Expired));
    }

    #[test]
    fn a_grant_names_its_urls_and_hides_its_secret() {
        let grant = TurnGrant { address: "203.0.113.7:3478".into(), secret: b"s3cret".to_vec(), lifetime_secs: 60 };
        assert_eq!(grant.stun_url(), "stun:203.0.113.7:3478");
        assert_eq!(grant.turn_url(), "turn:203.0.113.7:3478?transport=udp");
        assert_eq!(grant.credential("7", 100), issue(b"s3cret", "7", 100, 60));
        assert!(!format!("{grant:?}").contains("s3cret"));
    }

    #[test]
    fn password_matches_a_known_vector() {
        // Computed independently with
        // `printf %s 1433895918506:alice | openssl dgst -sha1 -hmac north -binary | base64`.
        assert_eq!(password(b"north", "1433895918506:alice"), "GPCalOXHCHJRqBRVGXzX5o/tUXE=");
    }

    #[test]
    fn malformed_user_names_are_refused() {
        for bad in ["", "alice", "x:alice", "100:", ":alice", "-:a"] {
            assert_eq!(check_username(bad, 0), Err(CredentialError::Malformed), "{bad:?}");
        }
        assert_eq!(check_username("100:anon:x", 0), Ok("anon:x"));
    }
}

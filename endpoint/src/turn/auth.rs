//! TURN authentication with time-limited credentials ([`myvid_core::turn_credentials`]):
//! the user name carries its expiry, the password is an HMAC of the user name, so
//! the server needs only the shared secret.
//!
//! The `turn` crate asks [`AuthHandler::auth_handle`] for the long-term key of a user
//! name and checks MESSAGE-INTEGRITY with it; any `Err` becomes a 400 answer. Its
//! own `LongTermAuthHandler` has no notion of `<expiry>:<user>` names, hence this one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use myvid_core::Clock;
use myvid_core::turn_credentials::{self, check_username};
use turn::auth::{AuthHandler, generate_auth_key};

/// The user whose request the server is handling, handed from authentication to the
/// relay generator (the `turn` crate passes no user to `allocate_conn`).
///
/// Sound because the server handles one listener's datagrams strictly one after
/// another: its read loop awaits `handle_request` before reading the next datagram,
/// and an Allocate request runs `auth_handle` then `allocate_conn` within that one
/// call. We run exactly one listener per server, so no other request can come in
/// between. (With several listeners, each would need its own slot.)
#[derive(Debug, Default, Clone)]
pub struct AllocatingUser(Arc<Mutex<Option<String>>>);

impl AllocatingUser {
    fn set(&self, user: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(user.to_owned());
    }

    /// The user of the request being handled, if it authenticated.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Checks `<expiry>:<user>` names against the clock and derives their key from the
/// shared secret.
pub struct RestAuth {
    secret: Vec<u8>,
    clock: Clock,
    allocating: AllocatingUser,
}

impl RestAuth {
    /// A handler for `secret` that reports each authenticated user to `allocating`.
    pub fn new(secret: Vec<u8>, clock: Clock, allocating: AllocatingUser) -> Self {
        RestAuth { secret, clock, allocating }
    }
}

impl AuthHandler for RestAuth {
    fn auth_handle(&self, username: &str, realm: &str, src_addr: SocketAddr) -> Result<Vec<u8>, turn::Error> {
        let user = check_username(username, self.clock.now()).map_err(|e| {
            tracing::debug!(%src_addr, username, error = %e, "TURN credential refused");
            turn::Error::Other(e.to_string())
        })?;
        // A wrong password fails MESSAGE-INTEGRITY right after this, before the
        // request does anything; the slot is only read by an Allocate that passed.
        self.allocating.set(user);
        let password = turn_credentials::password(&self.secret, username);
        Ok(generate_auth_key(username, realm, &password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_secret_and_expired_names_are_refused() {
        let (clock, time) = Clock::manual(1_000);
        let allocating = AllocatingUser::default();
        let auth = RestAuth::new(b"secret".to_vec(), clock, allocating.clone());
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let cred = turn_credentials::issue(b"secret", "42", 1_000, 60);
        let key = auth.auth_handle(&cred.username, "myvid", addr).unwrap();
        assert_eq!(key, generate_auth_key(&cred.username, "myvid", &cred.password));
        assert_eq!(allocating.get().as_deref(), Some("42"));
        assert!(auth.auth_handle("alice", "myvid", addr).is_err(), "no expiry");
        time.advance(61);
        assert!(auth.auth_handle(&cred.username, "myvid", addr).is_err(), "expired");
    }
}

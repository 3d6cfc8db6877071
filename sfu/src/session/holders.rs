//! Who holds each resume key now: the connections that still have their media session,
//! each with its stream and the token that makes it let go.
//!
//! A `resume` may come in before the old socket is known to be dead (half-open TCP, or
//! just a race), so it asks here who holds the key and makes that connection let go —
//! but only for a key of the stream the resuming connection was opened for. A key
//! brought to another stream's connection is answered [`Claim::OtherStream`] and its
//! holder is left alone.
//!
//! ```text
//!  session key issued ─▶ hold(key, stream, token)     connection over ─▶ release(key)
//!  resume(key) on stream S ─▶ claim(key, S) ─┬─ Held(token)  ─▶ token.cancel(), take the parked session
//!                                            ├─ OtherStream  ─▶ resume_failed, nothing touched
//!                                            └─ NotHeld      ─▶ look among the parked sessions
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The resume keys held by live connections.
#[derive(Default)]
pub(super) struct Holders(Mutex<HashMap<String, Holder>>);

/// A connection holding the media session a resume key names.
struct Holder {
    /// The stream the connection was opened for.
    stream_id: String,
    /// Cancelled to make the connection let go of its media session.
    taken_over: CancellationToken,
}

/// What [`Holders::claim`] found for a key.
#[derive(Debug)]
pub(super) enum Claim {
    /// No live connection holds it (it may be parked, used or unknown).
    NotHeld,
    /// A connection of another stream holds it: refuse, and leave it alone.
    OtherStream,
    /// A connection of this stream holds it: cancel this to make it let go.
    Held(CancellationToken),
}

impl Holders {
    /// `key` is now held by a connection of `stream_id`, which lets go when
    /// `taken_over` is cancelled; `replaced` (its previous key) is forgotten.
    pub(super) fn hold(&self, key: &str, replaced: Option<&str>, stream_id: &str, taken_over: CancellationToken) {
        let mut holders = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = replaced {
            holders.remove(old);
        }
        holders.insert(key.to_owned(), Holder { stream_id: stream_id.to_owned(), taken_over });
    }

    /// Nobody holds `key` any more (its connection ended or lost its media session).
    pub(super) fn release(&self, key: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Who holds `key`, as seen by a `resume` on a connection of `stream_id`.
    pub(super) fn claim(&self, key: &str, stream_id: &str) -> Claim {
        match self.0.lock().unwrap_or_else(PoisonError::into_inner).get(key) {
            None => Claim::NotHeld,
            Some(holder) if holder.stream_id != stream_id => Claim::OtherStream,
            Some(holder) => Claim::Held(holder.taken_over.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_claimed_only_on_its_own_stream() {
        let holders = Holders::default();
        let token = CancellationToken::new();
        holders.hold("k1", None, "a", token.clone());
        assert!(matches!(holders.claim("k1", "b"), Claim::OtherStream));
        assert!(!token.is_cancelled(), "claiming does not cancel by itself");
        let Claim::Held(held) = holders.claim("k1", "a") else { panic!("held on its own stream") };
        held.cancel();
        assert!(token.is_cancelled(), "the holder's own token");
        assert!(matches!(holders.claim("nope", "a"), Claim::NotHeld));
    }

    #[test]
    fn renewed_and_released_keys_are_no_longer_held() {
        let holders = Holders::default();
        holders.hold("k1", None, "a", CancellationToken::new());
        holders.hold("k2", Some("k1"), "a", CancellationToken::new());
        assert!(matches!(holders.claim("k1", "a"), Claim::NotHeld), "the old key went with the renewal");
        assert!(matches!(holders.claim("k2", "a"), Claim::Held(_)));
        holders.release("k2");
        assert!(matches!(holders.claim("k2", "a"), Claim::NotHeld));
    }
}

//! Live notifications: when a followed broadcaster goes live, the follower's open
//! pages hear of it at once, from whichever API process their socket is on.
//!
//! ```text
//!  API process ── poller (every poll_ms while a socket is open) ── MetaStore::list_live
//!       │              │ live_set::diff: the streams new since the last poll
//!       │              ▼ followers_among(owner, users with a socket here)
//!       └── hub: user → sockets' queues ──▶ api notifications.rs ──▶ WebSocket
//! ```
//!
//! Each process polls on its own, so a notice needs no message between processes; a
//! socket that (re)connects first gets a `ready` snapshot of followed channels live
//! now, which covers whatever it missed.

pub mod hub;
pub mod live_set;
pub mod poller;

pub use hub::{Hub, Subscription, TooManySockets};
pub use live_set::WentLive;

//! What the media plane tells a session's owner: the session's id, the events the plane
//! queues ([`PlaneEvent`], polled) and the channel the run loop delivers them on.

use std::fmt;

use tokio::sync::mpsc;

/// A media session: one peer connection, a publisher's or a viewer's. Ids are never
/// reused within one media task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// Something that happened to a session, sent on the channel returned with it.
///
/// Lifecycle: `Connected` once ICE and DTLS are up; then, for a publisher, a
/// `ViewerCount` whenever the number of connected viewers changes. A session ends with
/// exactly one of `Failed` (its own connection failed or never came up) or, for a
/// viewer, `StreamEnded` (the publisher left, disconnected or failed). A session closed
/// by its owner gets no event. After the last event the channel is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// ICE and DTLS are connected: media flows.
    Connected,
    /// The connection failed (ICE or DTLS, or not connected in time); the session is gone.
    Failed,
    /// The number of connected viewers of this publisher's stream.
    ViewerCount(u32),
    /// The stream this viewer watched has ended; the session is gone.
    StreamEnded,
}

/// Receives one session's events. Unbounded on purpose: the media task must never wait
/// for a slow client, and a session produces a handful of events in its whole life
/// (viewer counts are the only repeated one, one per join or leave).
pub type EventReceiver = mpsc::UnboundedReceiver<SessionEvent>;

/// What [`super::MediaPlane::poll_event`] gives: the plane queues these instead of
/// sending anything, and its driver ([`super::run`], or a test) delivers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaneEvent {
    /// An event for the session's owner.
    Session(SessionId, SessionEvent),
    /// The session is gone (after its last [`PlaneEvent::Session`], if any): its owner
    /// hears nothing more of it, and its channel can close.
    Gone(SessionId),
}

//! Ending sessions: by their owner, when the media task stops, or because their
//! connection or their stream ended — and what each removal takes with it (a publisher's
//! stream and its viewers; a viewer's place in its stream's forwarding).

use std::time::Instant;

use rtc::sansio::Protocol;
use tracing::{debug, info};

use super::{MediaPlane, PlaneEvent, Removal, Role, Session, SessionEvent, SessionId, Transmit};
use crate::media::error::MediaError;

impl MediaPlane {
    /// Closes a session at its owner's request: its owner hears only
    /// [`PlaneEvent::Gone`]; a publisher's viewers hear [`SessionEvent::StreamEnded`].
    pub fn close(&mut self, now: Instant, id: SessionId) -> Result<(), MediaError> {
        self.now = now;
        if self.remove(id, Removal::Closed) { Ok(()) } else { Err(MediaError::UnknownSession) }
    }

    /// Closes every session, publishers first (so their viewers hear
    /// [`SessionEvent::StreamEnded`]); every owner then hears [`PlaneEvent::Gone`]. Used
    /// when the media task stops.
    pub fn close_all(&mut self, now: Instant) {
        self.now = now;
        let mut publishers: Vec<SessionId> = self.streams.keys().copied().collect();
        publishers.sort_unstable();
        for id in publishers {
            self.remove(id, Removal::Closed);
        }
        let rest: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in rest {
            self.remove(id, Removal::Closed);
        }
    }

    /// Removes a session (if it exists) and everything that depends on it; its owner
    /// gets the event `why` implies. Returns whether it existed.
    pub(super) fn remove(&mut self, id: SessionId, why: Removal) -> bool {
        let Some(session) = self.close_session(id, why) else { return false };
        match session.role {
            Role::Publisher(_) => {
                if self.live.get(&session.stream_id) == Some(&id) {
                    self.live.remove(&session.stream_id);
                }
                if let Some(stream) = self.streams.remove(&id) {
                    info!(session = %id, stream = %session.stream_id, viewers = stream.members.len(), "stream ended");
                    for viewer in stream.members {
                        self.close_session(viewer, Removal::StreamEnded);
                    }
                }
            }
            Role::Viewer(leg) => {
                if let Some(stream) = self.streams.get_mut(&leg.publisher) {
                    stream.members.retain(|m| *m != id);
                    if let Some(viewer) = leg.forwarding {
                        stream.forward.remove_viewer(viewer);
                        if let Some(slot) = stream.forwarding.get_mut(viewer.index() as usize) {
                            *slot = None;
                        }
                        self.notify_viewer_count(leg.publisher);
                    }
                }
            }
        }
        true
    }

    /// Takes a session out, tells its owner (its last event, then [`PlaneEvent::Gone`]), closes its pc (queueing DTLS close_notify
    /// so the client learns at once) and forgets its addresses.
    pub(super) fn close_session(&mut self, id: SessionId, why: Removal) -> Option<Session> {
        let mut session = self.sessions.remove(&id)?;
        match why {
            Removal::Closed => {}
            Removal::Failed => Self::notify(&mut self.events, id, SessionEvent::Failed),
            Removal::StreamEnded => Self::notify(&mut self.events, id, SessionEvent::StreamEnded),
        }
        self.events.push_back(PlaneEvent::Gone(id));
        if let Err(err) = session.pc.close() {
            debug!(session = %id, %err, "close");
        }
        while let Some(out) = session.pc.poll_write() {
            self.transmits.push_back(Transmit { to: out.transport.peer_addr, payload: out.message });
        }
        self.demux.remove_session(id, &session.ufrag);
        debug!(session = %id, ?why, "session removed");
        Some(session)
    }
}

//! The run loop's side of the plane's requests and events: a [`Command`] from a
//! [`super::MediaHandle`] served against the [`MediaPlane`] and answered on its oneshot,
//! and each [`PlaneEvent`] delivered on its session's channel.
//!
//! ```text
//!  Command::Publish{reply} ─▶ plane.publish(now, …) ─▶ Ok(Negotiated) ─▶ new channel ─▶ reply(Publication{…, events})
//!  plane.poll_event() ─▶ Session(id, event) ─▶ that session's channel
//!                     └▶ Gone(id) ─────────▶ its sender dropped: the owner's receiver ends
//! ```

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc;

use super::command::{Command, Publication, ViewAnswer, ViewOffer};
use super::event::{EventReceiver, PlaneEvent, SessionEvent, SessionId};
use super::plane::MediaPlane;

/// Each live session's event channel.
#[derive(Debug, Default)]
pub(super) struct Owners {
    senders: HashMap<SessionId, mpsc::UnboundedSender<SessionEvent>>,
}

impl Owners {
    /// A channel for the new session `id`'s events.
    fn register(&mut self, id: SessionId) -> EventReceiver {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.senders.insert(id, sender);
        receiver
    }

    /// Delivers every event the plane has queued.
    pub(super) fn deliver_all(&mut self, plane: &mut MediaPlane) {
        while let Some(event) = plane.poll_event() {
            match event {
                PlaneEvent::Session(id, event) => {
                    if let Some(sender) = self.senders.get(&id) {
                        // The owner may be gone already; nothing to do then.
                        let _ = sender.send(event);
                    }
                }
                PlaneEvent::Gone(id) => {
                    self.senders.remove(&id);
                }
            }
        }
    }
}

/// Serves one command against `plane`, replying through its oneshot (a requester that
/// stopped waiting is fine). A new session's channel is registered before its events
/// are delivered, so its owner misses none.
pub(super) fn serve(plane: &mut MediaPlane, owners: &mut Owners, now: Instant, command: Command) {
    match command {
        Command::Publish { stream_id, offer_sdp, record, reply } => {
            let result = plane.publish(now, stream_id, offer_sdp, record).map(|new| Publication {
                session: new.session,
                answer_sdp: new.sdp,
                events: owners.register(new.session),
            });
            let _ = reply.send(result);
        }
        Command::View { stream_id, reply } => {
            let result = plane.view(now, stream_id).map(|new| ViewOffer {
                session: new.session,
                offer_sdp: new.sdp,
                events: owners.register(new.session),
            });
            let _ = reply.send(result);
        }
        Command::ViewWithOffer { stream_id, offer_sdp, reply } => {
            let result = plane.view_with_offer(now, stream_id, offer_sdp).map(|new| ViewAnswer {
                session: new.session,
                answer_sdp: new.sdp,
                events: owners.register(new.session),
            });
            let _ = reply.send(result);
        }
        Command::ViewerAnswer { session, answer_sdp, reply } => {
            let _ = reply.send(plane.viewer_answer(now, session, answer_sdp));
        }
        Command::AddRemoteCandidate { session, candidate, reply } => {
            let _ = reply.send(plane.add_remote_candidate(now, session, candidate));
        }
        Command::SetMaxBitrate { session, bps, reply } => {
            let _ = reply.send(plane.set_max_bitrate(now, session, bps));
        }
        Command::Close { session, reply } => {
            let _ = reply.send(plane.close(now, session));
        }
        Command::Stats { reply } => {
            let _ = reply.send(plane.stats());
        }
    }
}

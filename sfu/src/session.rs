//! One client's signalling session: text frames of [`myvid_proto::signal`] in, media
//! commands to the media task, media events back out as frames.
//!
//! The transport is two channels of text frames (one WebSocket message each), which is
//! what `link` hands over per client together with the stream id the client asked for;
//! tests drive the same function with plain channels.
//!
//! ```text
//!  incoming frames ─▶ parse ─┬─ malformed ─────────────▶ error frame (session goes on)
//!                            ├─ publish{token,sdp} ─▶ check token ─▶ media.publish ─▶ answer
//!                            ├─ join ─────────────────▶ media.view ────────────────▶ offer
//!                            ├─ view{sdp} ────────────▶ media.view_with_offer ─────▶ answer
//!                            ├─ answer{sdp} ──────────▶ media.viewer_answer
//!                            ├─ candidate ────────────▶ media.add_remote_candidate
//!                            └─ bye / channel closed ─▶ media.close, end
//!  media events ─▶ Connected (publisher: "went live" hook) │ ViewerCount ─▶ viewers
//!                  StreamEnded ─▶ ended (may join again)  │ Failed ─▶ bye, end
//! ```
//!
//! A connection is a publisher or a viewer, not both; a viewer whose stream ended may
//! `join` (or `view`) again on the same connection. Errors never end the session: only `bye`, the
//! client going away, or a failed media connection do.

use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_proto::{parse, to_frame};
use tokio::sync::mpsc::{Receiver, Sender};
use tracing::{debug, info};

use crate::media::{EventReceiver, MediaError, MediaHandle, SessionEvent, SessionId};

/// Checks a publisher's token for a stream: `Ok` to allow, `Err(reason)` to refuse (the
/// reason is logged, never sent: it could tell an attacker which streams exist). The
/// production check is `myvid_core::live::StreamTokens::verify`.
pub type TokenCheck = Box<dyn Fn(&str, &str) -> Result<(), String> + Send + Sync>;

/// A stream going live or ending, for the metadata store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveChange {
    /// The publisher's media connection is up.
    Live {
        /// The stream.
        stream_id: String,
    },
    /// The publisher left, failed or was disconnected after going live.
    Ended {
        /// The stream.
        stream_id: String,
    },
}

/// Told about every [`LiveChange`]. Called on the session's task: it must not block
/// (hand the change to a channel or spawn if the work is slow).
pub type LiveHook = Box<dyn Fn(LiveChange) + Send + Sync>;

/// What `bye` says when the media connection fails.
const MEDIA_FAILED: &str = "the media connection failed";
/// What `ended` says when the broadcaster goes.
const BROADCASTER_LEFT: &str = "the broadcaster left";

/// The signalling side of the SFU, shared by every client session (wrap it in an `Arc`).
pub struct Signalling {
    media: MediaHandle,
    check_token: TokenCheck,
    on_live: Option<LiveHook>,
}

/// The media session a connection holds.
enum Media {
    None,
    Publishing { id: SessionId, events: EventReceiver, live: bool },
    Viewing { id: SessionId, events: EventReceiver, answered: bool },
}

impl Media {
    fn id(&self) -> Option<SessionId> {
        match self {
            Media::None => None,
            Media::Publishing { id, .. } | Media::Viewing { id, .. } => Some(*id),
        }
    }
}

/// Whether the session goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// The next media event, or never when there is no media session. `None` means the media
/// session is gone.
async fn next_event(media: &mut Media) -> Option<SessionEvent> {
    match media {
        Media::None => std::future::pending().await,
        Media::Publishing { events, .. } | Media::Viewing { events, .. } => events.recv().await,
    }
}

fn error_frame(code: &str, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error { code: code.to_owned(), message: message.into() }
}

fn media_error(err: &MediaError) -> ServerMessage {
    let mut message = err.to_string();
    message.truncate(400);
    error_frame(err.code(), message)
}

impl Signalling {
    /// Signalling over `media`, allowing publishers that pass `check_token`.
    pub fn new(media: MediaHandle, check_token: TokenCheck) -> Self {
        Signalling { media, check_token, on_live: None }
    }

    /// Also report streams going live and ending to `hook`.
    pub fn with_live_hook(mut self, hook: LiveHook) -> Self {
        self.on_live = Some(hook);
        self
    }

    fn live_change(&self, change: LiveChange) {
        info!(?change, "live change");
        if let Some(hook) = &self.on_live {
            hook(change);
        }
    }

    /// Serves one client of `stream_id` until it says `bye`, its `incoming` channel closes,
    /// its `outgoing` channel is dropped, or its media connection fails. Its media session
    /// is closed on the way out.
    pub async fn serve(&self, stream_id: String, mut incoming: Receiver<String>, outgoing: Sender<String>) {
        let mut media = Media::None;
        loop {
            let flow = tokio::select! {
                frame = incoming.recv() => match frame {
                    Some(frame) => self.on_frame(&stream_id, &frame, &mut media, &outgoing).await,
                    None => Flow::Stop,
                },
                event = next_event(&mut media) => self.on_event(&stream_id, event, &mut media, &outgoing).await,
            };
            if flow == Flow::Stop {
                break;
            }
        }
        if let Some(id) = media.id() {
            // Already gone is fine (it failed, or its stream ended).
            let _ = self.media.close(id).await;
        }
        if let Media::Publishing { live: true, .. } = media {
            self.live_change(LiveChange::Ended { stream_id: stream_id.clone() });
        }
        debug!(stream = %stream_id, "signalling session over");
    }

    async fn on_frame(&self, stream_id: &str, frame: &str, media: &mut Media, out: &Sender<String>) -> Flow {
        let message = match parse::<ClientMessage>(frame) {
            Ok(message) => message,
            Err(err) => return send(out, &ServerMessage::refused(&err)).await,
        };
        match message {
            ClientMessage::Publish { token, sdp } => {
                if !matches!(media, Media::None) {
                    return send(
                        out,
                        &error_frame("unexpected_message", "this connection already has a media session"),
                    )
                    .await;
                }
                if let Err(reason) = (self.check_token)(stream_id, &token) {
                    info!(stream = %stream_id, %reason, "publish refused");
                    return send(out, &error_frame("unauthorized", "the stream token was refused")).await;
                }
                match self.media.publish(stream_id, sdp).await {
                    Ok(publication) => {
                        *media = Media::Publishing { id: publication.session, events: publication.events, live: false };
                        send(out, &ServerMessage::Answer { sdp: publication.answer_sdp }).await
                    }
                    Err(err) => send(out, &media_error(&err)).await,
                }
            }
            ClientMessage::Join {} => {
                if !matches!(media, Media::None) {
                    return send(
                        out,
                        &error_frame("unexpected_message", "this connection already has a media session"),
                    )
                    .await;
                }
                match self.media.view(stream_id).await {
                    Ok(offer) => {
                        *media = Media::Viewing { id: offer.session, events: offer.events, answered: false };
                        send(out, &ServerMessage::Offer { sdp: offer.offer_sdp }).await
                    }
                    Err(err) => send(out, &media_error(&err)).await,
                }
            }
            ClientMessage::View { sdp } => {
                if !matches!(media, Media::None) {
                    return send(
                        out,
                        &error_frame("unexpected_message", "this connection already has a media session"),
                    )
                    .await;
                }
                match self.media.view_with_offer(stream_id, sdp).await {
                    Ok(view) => {
                        *media = Media::Viewing { id: view.session, events: view.events, answered: true };
                        send(out, &ServerMessage::Answer { sdp: view.answer_sdp }).await
                    }
                    Err(err) => send(out, &media_error(&err)).await,
                }
            }
            ClientMessage::Answer { sdp } => {
                let Media::Viewing { id, answered, .. } = media else {
                    return send(out, &error_frame("unexpected_message", "no offer is waiting for an answer")).await;
                };
                if *answered {
                    return send(out, &error_frame("unexpected_message", "the offer was answered already")).await;
                }
                match self.media.viewer_answer(*id, sdp).await {
                    Ok(()) => {
                        *answered = true;
                        Flow::Continue
                    }
                    Err(err) => send(out, &media_error(&err)).await,
                }
            }
            ClientMessage::Candidate(candidate) => {
                let Some(id) = media.id() else {
                    return send(out, &error_frame("unexpected_message", "no media session for this candidate")).await;
                };
                match self.media.add_remote_candidate(id, candidate).await {
                    Ok(()) => Flow::Continue,
                    Err(err) => send(out, &media_error(&err)).await,
                }
            }
            ClientMessage::Bye { reason } => {
                debug!(stream = %stream_id, %reason, "client said bye");
                Flow::Stop
            }
        }
    }

    async fn on_event(
        &self,
        stream_id: &str,
        event: Option<SessionEvent>,
        media: &mut Media,
        out: &Sender<String>,
    ) -> Flow {
        match event {
            Some(SessionEvent::Connected) => {
                if let Media::Publishing { live, .. } = media
                    && !*live
                {
                    *live = true;
                    self.live_change(LiveChange::Live { stream_id: stream_id.to_owned() });
                }
                Flow::Continue
            }
            Some(SessionEvent::ViewerCount(count)) => send(out, &ServerMessage::Viewers { count }).await,
            Some(SessionEvent::StreamEnded) => {
                *media = Media::None;
                send(out, &ServerMessage::Ended { reason: BROADCASTER_LEFT.to_owned() }).await
            }
            Some(SessionEvent::Failed) => {
                if let Media::Publishing { live: true, .. } = media {
                    self.live_change(LiveChange::Ended { stream_id: stream_id.to_owned() });
                }
                *media = Media::None;
                let _ = send(out, &ServerMessage::Bye { reason: MEDIA_FAILED.to_owned() }).await;
                Flow::Stop
            }
            None => {
                // The media session ended without a word (closed by this session): forget it.
                if let Media::Publishing { live: true, .. } = media {
                    self.live_change(LiveChange::Ended { stream_id: stream_id.to_owned() });
                }
                *media = Media::None;
                Flow::Continue
            }
        }
    }
}

/// Sends one frame; `Stop` when the client's channel is gone.
async fn send(out: &Sender<String>, message: &ServerMessage) -> Flow {
    if out.send(to_frame(message)).await.is_ok() { Flow::Continue } else { Flow::Stop }
}

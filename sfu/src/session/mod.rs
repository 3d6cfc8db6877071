//! One client's signalling session: text frames of [`myvid_proto::signal`] in, media
//! commands to the media task, media events back out as frames.
//!
//! The transport is two channels of text frames (one WebSocket message each), which is
//! what `link` hands over per client together with the stream id the client asked for;
//! tests drive the same function with plain channels.
//!
//! ```text
//!  incoming frames ─▶ parse ─┬─ malformed ─────────────▶ error frame (session goes on)
//!                            ├─ publish{token,sdp} ─▶ check token, gate ─▶ media.publish ─▶ answer
//!                            ├─ join ─────────────────▶ media.view ────────────────▶ offer
//!                            ├─ view{sdp} ────────────▶ media.view_with_offer ─────▶ answer
//!                            ├─ answer{sdp} ──────────▶ media.viewer_answer
//!                            ├─ candidate ────────────▶ media.add_remote_candidate
//!                            ├─ max_bitrate ──────────▶ media.set_max_bitrate (viewers, ≤ 4 a second)
//!                            ├─ resume{key} ──────────▶ take a parked media session ─▶ resumed
//!                            ├─ chat_* ───────────────▶ the chat arm ([`chat`]) ─▶ chat_joined, chat_refused
//!                            ├─ bye ──────────────────▶ media.close, end
//!                            └─ channel closed ───────▶ park the media session (or close it)
//!  media events ─▶ Connected (publisher: "went live" hook) │ ViewerCount ─▶ viewers
//!                  StreamEnded ─▶ ended (may join again)  │ Failed ─▶ bye, end
//!  room events (chat members only) ─▶ chat_message │ chat_deleted │ chat_muted │ viewers
//! ```
//!
//! A connection is a publisher or a viewer, not both; a viewer whose stream ended may
//! `join` (or `view`) again on the same connection. Errors never end the session: only `bye`, the
//! client going away, or a failed media connection do.
//!
//! Parking: media flows between the client and the SFU directly, so losing the
//! signalling socket (its endpoint died) need not stop it. A connection that gets a
//! media session is sent `session` with a fresh resume key; if its socket closes
//! without `bye`, the media session is parked under that key for
//! [`Signalling::with_resume_grace`] (default [`DEFAULT_RESUME_GRACE`]) and the media
//! keeps flowing. A new connection — through any endpoint — that sends `resume` with
//! the key takes it over, with its queued events (an `ended` that happened meanwhile,
//! the viewer count); unclaimed, it is closed when the grace runs out. If the old
//! connection is not known to be lost yet (the `resume` won the race, or its TCP
//! connection is half-open), `resume` makes it let go first: the newest socket wins.
//!
//! A key belongs to one stream: a `resume` on a connection opened for another stream
//! is refused (`resume_failed`) without touching the session the key names — whoever
//! holds it keeps it. Only a connection without a media session may resume.
//!
//! Before a `publish` goes to the media task, the [`gate`] is asked whether the stream
//! may still go live (an ended stream may not).
//!
//! While the SFU drains ([`Signalling::with_drain`]), `publish`, `join` and `view` are
//! refused with `error{code: "draining"}`; sessions already open (and `resume` of them)
//! go on.

mod bitrate;
mod chat;
pub mod gate;
mod holders;
mod per_second;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_proto::{parse, to_frame};
use tokio::sync::mpsc::{Receiver, Sender};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

pub use self::bitrate::MAX_BITRATE_CHANGES_PER_SECOND;
use self::chat::{Chat, ChatConn};
pub use self::chat::{ChatConfig, ChatTokenCheck, MAX_CHAT_FRAMES_PER_SECOND};
use self::gate::{Admission, PublishGate, PublishRefusal};
use self::holders::{Claim, Holders};
use self::per_second::PerSecond;
use crate::chat::{Publisher, Rooms};
use crate::drain::{DRAINING_CODE, DRAINING_MESSAGE, Drain};
use crate::media::{EventReceiver, MediaError, MediaHandle, SessionEvent, SessionId};
use crate::record::{self, SharedSink};

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

/// How long a lost connection's media session waits to be resumed by default: long
/// enough for a client to notice, back off and reach another endpoint; short enough
/// that a broadcaster who really left does not look live for long.
pub const DEFAULT_RESUME_GRACE: Duration = Duration::from_secs(30);

/// Media sessions parked at once, at most (beyond it a lost connection's session is
/// closed as before): bounds what clients that vanish can leave behind.
const MAX_PARKED: usize = 10_000;

/// The signalling side of the SFU, shared by every client session (wrap it in an `Arc`).
pub struct Signalling {
    media: MediaHandle,
    check_token: TokenCheck,
    gate: Option<PublishGate>,
    drain: Option<Drain>,
    on_live: Option<Arc<LiveHook>>,
    recording: Option<SharedSink>,
    resume_grace: Duration,
    parked: Arc<Mutex<HashMap<String, Parked>>>,
    /// Resume keys of connections that still hold their media session.
    holders: Holders,
    chat: Chat,
}

/// How long a `resume` waits for the session it names to be let go by its old
/// connection.
const TAKEOVER_WAIT: Duration = Duration::from_secs(2);

/// A lost connection's media session, waiting for `resume`.
struct Parked {
    stream_id: String,
    media: Media,
    viewers: Option<u32>,
}

/// The media session a connection holds.
enum Media {
    None,
    /// `chat` keeps the stream's chat room open for as long as the media session lives
    /// (parked included).
    Publishing {
        id: SessionId,
        events: EventReceiver,
        live: bool,
        chat: Publisher,
    },
    Viewing {
        id: SessionId,
        events: EventReceiver,
        answered: bool,
    },
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

fn gate_refusal(refusal: PublishRefusal) -> ServerMessage {
    error_frame(refusal.code(), refusal.to_string())
}

/// What `resume_failed` says: the same whatever the reason (an unknown, used or expired
/// key, or one of another stream), so that it tells a guesser nothing.
const RESUME_FAILED: &str = "no media session to resume: start afresh";

/// A fresh resume key: 128 random bits from the thread's CSPRNG, as hex.
fn resume_key() -> String {
    rand::random::<[u8; 16]>().iter().map(|b| format!("{b:02x}")).collect()
}

fn report(hook: Option<&LiveHook>, change: LiveChange) {
    info!(?change, "live change");
    if let Some(hook) = hook {
        hook(change);
    }
}

/// Closes a media session for good, reporting a live publisher's stream as ended.
async fn close_media(media_handle: &MediaHandle, hook: Option<&LiveHook>, stream_id: &str, media: Media) {
    if let Some(id) = media.id() {
        // Already gone is fine (it failed, or its stream ended).
        let _ = media_handle.close(id).await;
    }
    if let Media::Publishing { live: true, .. } = media {
        report(hook, LiveChange::Ended { stream_id: stream_id.to_owned() });
    }
}

/// One connection's state besides its media session.
struct Conn {
    /// The resume key of the current media session.
    resume: Option<String>,
    /// Cancelled when a `resume` elsewhere takes this connection's media session.
    taken_over: CancellationToken,
    /// The last viewer count sent (publishers).
    viewers: Option<u32>,
    /// Whether the client said `bye` (nothing to park then).
    said_bye: bool,
    /// Its chat membership, if it sent `chat_join`.
    chat: ChatConn,
    /// Its recent `max_bitrate` changes (viewers).
    cap_changes: PerSecond,
}

impl Signalling {
    /// Signalling over `media`, allowing publishers that pass `check_token`.
    pub fn new(media: MediaHandle, check_token: TokenCheck) -> Self {
        Signalling {
            media,
            check_token,
            gate: None,
            drain: None,
            on_live: None,
            recording: None,
            resume_grace: DEFAULT_RESUME_GRACE,
            parked: Arc::new(Mutex::new(HashMap::new())),
            holders: Holders::default(),
            chat: Chat::new(ChatConfig::default()),
        }
    }

    /// Serve live chat with `config`'s token check and limits. Without it chat still
    /// works, read only: no token is accepted.
    pub fn with_chat(mut self, config: ChatConfig) -> Self {
        self.chat = Chat::new(config);
        self
    }

    /// The chat rooms, for metrics.
    pub fn chat_rooms(&self) -> &Arc<Rooms> {
        self.chat.rooms()
    }

    /// Ask `gate` before each `publish` whether the stream may go live (after the
    /// token check); refused publishes get an `error` frame with the refusal's code.
    pub fn with_publish_gate(mut self, gate: PublishGate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Refuse new media sessions (`publish`, `join`, `view`) with `draining` once
    /// `drain` has begun.
    pub fn with_drain(mut self, drain: Drain) -> Self {
        self.drain = Some(drain);
        self
    }

    /// Whether new media sessions are refused now.
    fn draining(&self) -> bool {
        self.drain.as_ref().is_some_and(Drain::is_draining)
    }

    /// Also report streams going live and ending to `hook`.
    pub fn with_live_hook(mut self, hook: LiveHook) -> Self {
        self.on_live = Some(Arc::new(hook));
        self
    }

    /// Record every published stream into `sink` (see [`crate::record`]).
    pub fn with_recording(mut self, sink: SharedSink) -> Self {
        self.recording = Some(sink);
        self
    }

    /// How long a lost connection's media session waits for `resume` (zero: never
    /// parked, closed at once).
    pub fn with_resume_grace(mut self, grace: Duration) -> Self {
        self.resume_grace = grace;
        self
    }

    /// Media sessions parked now.
    pub fn parked(&self) -> usize {
        self.parked.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn live_change(&self, change: LiveChange) {
        report(self.on_live.as_deref(), change);
    }

    /// Serves one client of `stream_id` until it says `bye`, its `incoming` channel closes,
    /// its `outgoing` channel is dropped, or its media connection fails. On `bye` or a
    /// failure its media session is closed; on a lost channel it is parked for `resume`.
    pub async fn serve(&self, stream_id: String, mut incoming: Receiver<String>, outgoing: Sender<String>) {
        let mut media = Media::None;
        let mut conn = Conn {
            resume: None,
            taken_over: CancellationToken::new(),
            viewers: None,
            said_bye: false,
            chat: ChatConn::new(),
            cap_changes: PerSecond::default(),
        };
        loop {
            let flow = tokio::select! {
                () = conn.taken_over.cancelled() => {
                    info!(stream = %stream_id, "media session taken over by a resuming connection");
                    Flow::Stop
                }
                frame = incoming.recv() => match frame {
                    Some(frame) => self.on_frame(&stream_id, &frame, &mut media, &mut conn, &outgoing).await,
                    None => Flow::Stop,
                },
                event = next_event(&mut media) => {
                    self.on_event(&stream_id, event, &mut media, &mut conn, &outgoing).await
                }
                received = conn.chat.next() => self.chat.on_event(&stream_id, received, &outgoing).await,
            };
            if flow == Flow::Stop {
                break;
            }
        }
        if let Some(key) = &conn.resume {
            self.holders.release(key);
        }
        match conn.resume.take() {
            Some(key) if !conn.said_bye && media.id().is_some() && !self.resume_grace.is_zero() => {
                self.park(key, stream_id, media, conn.viewers);
            }
            _ => close_media(&self.media, self.on_live.as_deref(), &stream_id, media).await,
        }
    }

    /// Parks a lost connection's media session under `key` until resumed or the grace
    /// runs out.
    fn park(&self, key: String, stream_id: String, media: Media, viewers: Option<u32>) {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        if parked.len() >= MAX_PARKED {
            drop(parked);
            let (handle, hook) = (self.media.clone(), self.on_live.clone());
            tokio::spawn(async move { close_media(&handle, hook.as_deref(), &stream_id, media).await });
            return;
        }
        info!(stream = %stream_id, grace = ?self.resume_grace, "signalling lost: media session parked for resume");
        parked.insert(key.clone(), Parked { stream_id, media, viewers });
        drop(parked);
        let (map, handle, hook, grace) =
            (self.parked.clone(), self.media.clone(), self.on_live.clone(), self.resume_grace);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let expired = map.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
            if let Some(Parked { stream_id, media, .. }) = expired {
                info!(stream = %stream_id, "parked media session not resumed in time: closed");
                close_media(&handle, hook.as_deref(), &stream_id, media).await;
            }
        });
    }

    /// A new resume key for the connection's media session (of `stream_id`), sent as
    /// `session`.
    async fn new_session_key(&self, stream_id: &str, conn: &mut Conn, out: &Sender<String>) -> Flow {
        let key = resume_key();
        let replaced = conn.resume.replace(key.clone());
        self.holders.hold(&key, replaced.as_deref(), stream_id, conn.taken_over.clone());
        let grace_ms = u64::try_from(self.resume_grace.as_millis()).unwrap_or(u64::MAX);
        send(out, &ServerMessage::Session { resume: key, grace_ms }).await
    }

    /// The connection no longer has a media session to resume.
    fn forget_key(&self, conn: &mut Conn) {
        if let Some(key) = conn.resume.take() {
            self.holders.release(&key);
        }
    }

    /// The parked session under `key`, if it is one of `stream_id`'s.
    fn take_parked(&self, stream_id: &str, key: &str) -> Option<Parked> {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        match parked.remove(key) {
            Some(p) if p.stream_id == stream_id => Some(p),
            Some(p) => {
                parked.insert(key.to_owned(), p);
                None
            }
            None => None,
        }
    }

    /// `resume`: takes over a parked media session of this stream.
    async fn resume(
        &self,
        stream_id: &str,
        key: &str,
        media: &mut Media,
        conn: &mut Conn,
        out: &Sender<String>,
    ) -> Flow {
        if !matches!(media, Media::None) {
            return send(out, &error_frame("unexpected_message", "this connection already has a media session")).await;
        }
        // Still held by a connection not yet known to be lost: make it let go — but only
        // for a key of this very stream. A key brought to another stream's connection is
        // refused below without disturbing its holder.
        let holder = match self.holders.claim(key, stream_id) {
            Claim::OtherStream => {
                info!(stream = %stream_id, "resume with a key of another stream refused");
                return send(out, &error_frame("resume_failed", RESUME_FAILED)).await;
            }
            Claim::Held(holder) => {
                holder.cancel();
                Some(holder)
            }
            Claim::NotHeld => None,
        };
        let deadline = tokio::time::Instant::now() + TAKEOVER_WAIT;
        let taken = loop {
            match self.take_parked(stream_id, key) {
                Some(parked) => break Some(parked),
                None if holder.is_some() && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                None => break None,
            }
        };
        let Some(parked) = taken else {
            return send(out, &error_frame("resume_failed", RESUME_FAILED)).await;
        };
        info!(stream = %stream_id, "media session resumed");
        *media = parked.media;
        conn.viewers = parked.viewers;
        if send(out, &ServerMessage::Resumed {}).await == Flow::Stop {
            return Flow::Stop;
        }
        if let (Media::Publishing { .. }, Some(count)) = (&media, conn.viewers)
            && send(out, &ServerMessage::Viewers { count }).await == Flow::Stop
        {
            return Flow::Stop;
        }
        self.new_session_key(stream_id, conn, out).await
    }

    async fn on_frame(
        &self,
        stream_id: &str,
        frame: &str,
        media: &mut Media,
        conn: &mut Conn,
        out: &Sender<String>,
    ) -> Flow {
        let message = match parse::<ClientMessage>(frame) {
            Ok(message) => message,
            Err(err) => return send(out, &ServerMessage::refused(&err)).await,
        };
        let opens_media =
            matches!(message, ClientMessage::Publish { .. } | ClientMessage::Join {} | ClientMessage::View { .. });
        if opens_media && self.draining() {
            info!(stream = %stream_id, "new media session refused: draining");
            return send(out, &error_frame(DRAINING_CODE, DRAINING_MESSAGE)).await;
        }
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
                let admission = match &self.gate {
                    Some(gate) => match gate(stream_id).await {
                        Ok(admission) => admission,
                        Err(refusal) => {
                            info!(stream = %stream_id, ?refusal, "publish refused by the gate");
                            return send(out, &gate_refusal(refusal)).await;
                        }
                    },
                    None => Admission { record: true },
                };
                let tap = self.recording.as_ref().filter(|_| admission.record).map(|sink| {
                    let (tap, receiver) = record::tap(record::TAP_QUEUE);
                    record::spawn_recorder(stream_id.to_owned(), receiver, sink.clone());
                    tap
                });
                match self.media.publish_recorded(stream_id, sdp, tap).await {
                    Ok(publication) => {
                        *media = Media::Publishing {
                            id: publication.session,
                            events: publication.events,
                            live: false,
                            chat: self.chat.rooms().publish(stream_id),
                        };
                        match send(out, &ServerMessage::Answer { sdp: publication.answer_sdp }).await {
                            Flow::Continue => self.new_session_key(stream_id, conn, out).await,
                            Flow::Stop => Flow::Stop,
                        }
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
                        match send(out, &ServerMessage::Offer { sdp: offer.offer_sdp }).await {
                            Flow::Continue => self.new_session_key(stream_id, conn, out).await,
                            Flow::Stop => Flow::Stop,
                        }
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
                        match send(out, &ServerMessage::Answer { sdp: view.answer_sdp }).await {
                            Flow::Continue => self.new_session_key(stream_id, conn, out).await,
                            Flow::Stop => Flow::Stop,
                        }
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
                conn.said_bye = true;
                Flow::Stop
            }
            ClientMessage::Resume { resume } => self.resume(stream_id, &resume, media, conn, out).await,
            ClientMessage::MaxBitrate { bps } => {
                bitrate::on_max_bitrate(&self.media, media, &mut conn.cap_changes, bps, out).await
            }
            chat @ (ClientMessage::ChatJoin { .. }
            | ClientMessage::ChatSend { .. }
            | ClientMessage::ChatDelete { .. }
            | ClientMessage::ChatMute { .. }) => self.chat.on_frame(stream_id, chat, &mut conn.chat, out).await,
        }
    }

    async fn on_event(
        &self,
        stream_id: &str,
        event: Option<SessionEvent>,
        media: &mut Media,
        conn: &mut Conn,
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
            Some(SessionEvent::ViewerCount(count)) => {
                conn.viewers = Some(count);
                if let Media::Publishing { chat, .. } = media {
                    chat.viewer_count(count);
                }
                send(out, &ServerMessage::Viewers { count }).await
            }
            Some(SessionEvent::StreamEnded) => {
                *media = Media::None;
                self.forget_key(conn);
                send(out, &ServerMessage::Ended { reason: BROADCASTER_LEFT.to_owned() }).await
            }
            Some(SessionEvent::Failed) => {
                if let Media::Publishing { live: true, .. } = media {
                    self.live_change(LiveChange::Ended { stream_id: stream_id.to_owned() });
                }
                *media = Media::None;
                self.forget_key(conn);
                let _ = send(out, &ServerMessage::Bye { reason: MEDIA_FAILED.to_owned() }).await;
                Flow::Stop
            }
            None => {
                // The media session ended without a word (closed by this session): forget it.
                if let Media::Publishing { live: true, .. } = media {
                    self.live_change(LiveChange::Ended { stream_id: stream_id.to_owned() });
                }
                *media = Media::None;
                self.forget_key(conn);
                Flow::Continue
            }
        }
    }
}

/// Sends one frame; `Stop` when the client's channel is gone.
async fn send(out: &Sender<String>, message: &ServerMessage) -> Flow {
    if out.send(to_frame(message)).await.is_ok() { Flow::Continue } else { Flow::Stop }
}

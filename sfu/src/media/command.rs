//! The media plane's command API: an mpsc channel of [`Command`]s, each with a oneshot
//! reply, and [`MediaHandle`], a cloneable wrapper with one async method per command.
//!
//! ```text
//!  session task ──MediaHandle::publish(..)──▶ Command::Publish{reply} ──mpsc──▶ media task
//!       ▲                                                                    │
//!       └──────────── oneshot: Ok(Publication{session, answer, events}) ◀────┘
//!       └──────────── events channel: Connected, ViewerCount(n), … ◀──────────┘
//! ```
//!
//! A viewer's flow is `view` (the SFU offers) then `viewer_answer`, or, for a viewer that
//! brings its own offer (WHEP), `view_with_offer` (the SFU answers at once); either side's
//! candidates go through `add_remote_candidate`; `close` ends a session. Commands are
//! served in order by the one media task, between batches of packets.

use myvid_proto::signal::Candidate;
use tokio::sync::{mpsc, oneshot};

use super::error::MediaError;
use super::event::{EventReceiver, SessionId};
use crate::record::RecordTap;

/// Commands queued for the media task before senders wait: enough for a burst of joins,
/// small enough that a stalled task pushes back on signalling instead of growing memory.
pub const COMMAND_QUEUE: usize = 256;

/// Where a command's answer goes.
pub type Reply<T> = oneshot::Sender<Result<T, MediaError>>;

/// The receiving end of the command channel, handed to [`super::run`].
pub type CommandReceiver = mpsc::Receiver<Command>;

/// A publisher's accepted offer.
#[derive(Debug)]
pub struct Publication {
    /// The new media session.
    pub session: SessionId,
    /// The SDP answer, with the server's ICE candidate in it (no server-side trickle).
    pub answer_sdp: String,
    /// The session's events.
    pub events: EventReceiver,
}

/// A viewer's session, waiting for the viewer's answer.
#[derive(Debug)]
pub struct ViewOffer {
    /// The new media session.
    pub session: SessionId,
    /// The SDP offer (send-only video and audio), with the server's ICE candidate in it.
    pub offer_sdp: String,
    /// The session's events.
    pub events: EventReceiver,
}

/// A viewer's accepted offer (the viewer offered, WHEP style).
#[derive(Debug)]
pub struct ViewAnswer {
    /// The new media session.
    pub session: SessionId,
    /// The SDP answer (send-only video and audio), with the server's ICE candidate in it.
    pub answer_sdp: String,
    /// The session's events.
    pub events: EventReceiver,
}

/// Counters of one media task since it started, for tests, logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Sessions open now.
    pub sessions: u64,
    /// Streams with a publisher now.
    pub streams: u64,
    /// UDP datagrams received.
    pub datagrams_in: u64,
    /// UDP datagrams sent.
    pub datagrams_out: u64,
    /// RTP packets received from publishers.
    pub rtp_in: u64,
    /// RTP packets handed to viewers' senders.
    pub rtp_forwarded: u64,
    /// RTP packets a viewer's sender refused (payload type not negotiated, not connected).
    pub forward_errors: u64,
    /// Keyframe requests (PLI, or FIR where the publisher did not negotiate PLI) sent to
    /// publishers.
    pub keyframe_requests: u64,
    /// Keyframe requests (PLI or FIR) received from viewers.
    pub viewer_keyframe_requests: u64,
    /// Bandwidth estimates (REMB) received from viewers.
    pub viewer_estimates: u64,
    /// NACKs for video received from viewers.
    pub viewer_nacks: u64,
    /// Packets resent to viewers from the streams' caches, answering NACKs (as RTX where
    /// the viewer negotiated it).
    pub retransmissions: u64,
    /// Viewers started at once on a cached keyframe (instant start) instead of waiting
    /// for the publisher's next one.
    pub instant_starts: u64,
    /// Packets handed to recorders.
    pub recorded: u64,
    /// Packets a recorder's full queue refused (the recording has a gap there).
    pub recording_dropped: u64,
    /// Publishers' RTP datagrams dropped on purpose
    /// ([`MediaConfig::simulated_publisher_loss_percent`](super::MediaConfig)).
    pub simulated_losses: u64,
}

/// One request to the media task.
#[derive(Debug)]
pub enum Command {
    /// Start publishing `stream_id` with a publisher's SDP offer. Refused with
    /// [`MediaError::AlreadyPublishing`] while the stream has a publisher.
    Publish {
        /// The stream (one publisher each).
        stream_id: String,
        /// The publisher's offer.
        offer_sdp: String,
        /// Where to send the stream's packets to be recorded, if it is recorded.
        record: Option<RecordTap>,
        /// Answer, session and events.
        reply: Reply<Publication>,
    },
    /// Start a viewer of `stream_id`: the server offers send-only video and audio.
    /// Refused with [`MediaError::NotLive`] when the stream has no publisher.
    View {
        /// The stream to watch.
        stream_id: String,
        /// Offer, session and events.
        reply: Reply<ViewOffer>,
    },
    /// Start a viewer of `stream_id` that brings its own offer (receive-only video and
    /// audio, as WHEP players send): the server answers send-only, and forwarding is the
    /// same as for [`Command::View`]. Refused with [`MediaError::NotLive`] when the stream
    /// has no publisher.
    ViewWithOffer {
        /// The stream to watch.
        stream_id: String,
        /// The viewer's offer.
        offer_sdp: String,
        /// Answer, session and events.
        reply: Reply<ViewAnswer>,
    },
    /// The viewer's answer to the offer of [`Command::View`]. Media flows once the
    /// session is connected, from the next keyframe.
    ViewerAnswer {
        /// The viewer's session.
        session: SessionId,
        /// The viewer's answer.
        answer_sdp: String,
        /// Ok once applied.
        reply: Reply<()>,
    },
    /// A trickled remote ICE candidate (an empty `candidate` ends the list and is ignored).
    AddRemoteCandidate {
        /// The session it belongs to.
        session: SessionId,
        /// The candidate as the client sent it.
        candidate: Candidate,
        /// Ok once applied.
        reply: Reply<()>,
    },
    /// A viewer's own cap on what it receives (bit/s; `None` lifts it): no simulcast
    /// layer above the lower of the cap and its estimate. Kept until changed, from before
    /// the viewer connects too. Refused with [`MediaError::WrongState`] for a publisher.
    SetMaxBitrate {
        /// The viewer's session.
        session: SessionId,
        /// The cap, if any.
        bps: Option<u64>,
        /// Ok once applied.
        reply: Reply<()>,
    },
    /// End a session. A publisher's viewers get [`super::SessionEvent::StreamEnded`].
    Close {
        /// The session to end.
        session: SessionId,
        /// Ok once closed; [`MediaError::UnknownSession`] if it was already gone.
        reply: Reply<()>,
    },
    /// Read the counters.
    Stats {
        /// The counters now.
        reply: oneshot::Sender<MediaStats>,
    },
}

/// A cloneable handle to the media task. Every method queues one [`Command`] and waits for
/// its reply; [`MediaError::Unavailable`] means the task has stopped. The task stops when
/// every handle is dropped.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::Sender<Command>,
}

impl MediaHandle {
    /// A handle and the receiver to pass to [`super::run`].
    pub fn channel() -> (MediaHandle, CommandReceiver) {
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        (MediaHandle { commands }, receiver)
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.map_err(|_| MediaError::Unavailable)?;
        answer.await.map_err(|_| MediaError::Unavailable)?
    }

    /// See [`Command::Publish`].
    pub async fn publish(&self, stream_id: &str, offer_sdp: String) -> Result<Publication, MediaError> {
        self.publish_recorded(stream_id, offer_sdp, None).await
    }

    /// See [`Command::Publish`]; `record` taps the stream for its recorder.
    pub async fn publish_recorded(
        &self,
        stream_id: &str,
        offer_sdp: String,
        record: Option<RecordTap>,
    ) -> Result<Publication, MediaError> {
        let stream_id = stream_id.to_owned();
        self.call(|reply| Command::Publish { stream_id, offer_sdp, record, reply }).await
    }

    /// See [`Command::View`].
    pub async fn view(&self, stream_id: &str) -> Result<ViewOffer, MediaError> {
        let stream_id = stream_id.to_owned();
        self.call(|reply| Command::View { stream_id, reply }).await
    }

    /// See [`Command::ViewWithOffer`].
    pub async fn view_with_offer(&self, stream_id: &str, offer_sdp: String) -> Result<ViewAnswer, MediaError> {
        let stream_id = stream_id.to_owned();
        self.call(|reply| Command::ViewWithOffer { stream_id, offer_sdp, reply }).await
    }

    /// See [`Command::ViewerAnswer`].
    pub async fn viewer_answer(&self, session: SessionId, answer_sdp: String) -> Result<(), MediaError> {
        self.call(|reply| Command::ViewerAnswer { session, answer_sdp, reply }).await
    }

    /// See [`Command::AddRemoteCandidate`].
    pub async fn add_remote_candidate(&self, session: SessionId, candidate: Candidate) -> Result<(), MediaError> {
        self.call(|reply| Command::AddRemoteCandidate { session, candidate, reply }).await
    }

    /// See [`Command::SetMaxBitrate`].
    pub async fn set_max_bitrate(&self, session: SessionId, bps: Option<u64>) -> Result<(), MediaError> {
        self.call(|reply| Command::SetMaxBitrate { session, bps, reply }).await
    }

    /// See [`Command::Close`].
    pub async fn close(&self, session: SessionId) -> Result<(), MediaError> {
        self.call(|reply| Command::Close { session, reply }).await
    }

    /// See [`Command::Stats`].
    pub async fn stats(&self) -> Result<MediaStats, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Stats { reply }).await.map_err(|_| MediaError::Unavailable)?;
        answer.await.map_err(|_| MediaError::Unavailable)
    }
}

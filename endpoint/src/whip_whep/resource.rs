//! WHIP and WHEP resources: one signalling session each, opened through the relay as a
//! virtual client, held by a task until the client `DELETE`s it or the SFU ends it.
//!
//! ```text
//!  open:  reserve a slot (cap) ─▶ relay.open_virtual ─▶ publish{token,sdp} | view{sdp}
//!         ─▶ first reply: answer ─▶ resource (id, task)   │ error / close ─▶ HTTP status
//!                                                          │ nothing in time ─▶ 504
//!  task:  drains SFU frames (viewers counts …) until
//!           DELETE ─▶ bye ─▶ wait for the SFU's close ─▶ done
//!           ended / bye / close from the SFU ─▶ done
//!         done: forgotten, slot freed
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Message;
use myvid_core::{ApiError, ErrorCode};
use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_proto::{parse, to_frame};
use rand::RngExt;
use rand::distr::Alphanumeric;
use tokio::sync::oneshot;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::relay::{Relay, VirtualSession};

/// Which protocol a resource belongs to; also its URL prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A broadcaster (RFC 9725).
    Whip,
    /// A viewer.
    Whep,
}

impl Kind {
    /// `whip` or `whep`.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Whip => "whip",
            Kind::Whep => "whep",
        }
    }
}

/// Random characters in a resource id: ~95 bits, so a resource URL cannot be guessed
/// (it is the only credential `DELETE` needs, as in RFC 9725).
const RESOURCE_ID_CHARS: usize = 24;

/// One live resource.
struct Entry {
    kind: Kind,
    stream_id: String,
    /// Cancelled by `DELETE`: the task says `bye`.
    stop: CancellationToken,
    /// Resolves (with an error: the sender is dropped) when the task is done.
    done: oneshot::Receiver<()>,
}

/// Every resource of this endpoint, capped.
pub(super) struct Resources {
    max: usize,
    count: AtomicUsize,
    entries: Mutex<HashMap<String, Entry>>,
}

/// A place under the cap, freed when dropped (with the resource, or on a failed open).
pub(super) struct Slot {
    resources: Arc<Resources>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.resources.count.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Resources {
    /// An empty table holding at most `max` resources (sessions being opened included).
    pub fn new(max: usize) -> Arc<Resources> {
        Arc::new(Resources { max, count: AtomicUsize::new(0), entries: Mutex::new(HashMap::new()) })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Plain map operations only: a panic elsewhere cannot leave it half-changed.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot, or `None` at the cap.
    pub fn reserve(self: &Arc<Self>) -> Option<Slot> {
        self.count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.max).then_some(n + 1)).ok()?;
        Some(Slot { resources: self.clone() })
    }

    /// Takes the resource `id` of `kind` on `stream_id` out of the table; `None` if no
    /// such resource (unknown, ended, or of another stream or protocol).
    fn take(&self, kind: Kind, stream_id: &str, id: &str) -> Option<Entry> {
        let mut entries = self.lock();
        let matches = entries.get(id).is_some_and(|e| e.kind == kind && e.stream_id == stream_id);
        if matches { entries.remove(id) } else { None }
    }

    /// Ends a resource (`DELETE`): `bye` to the SFU, then waits up to `wait` for the
    /// session to close. `false` if there is no such resource.
    pub async fn delete(&self, kind: Kind, stream_id: &str, id: &str, wait: Duration) -> bool {
        let Some(entry) = self.take(kind, stream_id, id) else { return false };
        entry.stop.cancel();
        if timeout(wait, entry.done).await.is_err() {
            tracing::warn!(resource = %id, "the media server did not close a deleted session in time");
        }
        true
    }

    fn new_id(&self) -> String {
        loop {
            let id: String = rand::rng().sample_iter(Alphanumeric).take(RESOURCE_ID_CHARS).map(char::from).collect();
            if !self.lock().contains_key(&id) {
                return id;
            }
        }
    }
}

/// What a resource is opened with.
pub(super) struct Open {
    pub kind: Kind,
    pub stream_id: String,
    /// The first signalling message: `publish` or `view`.
    pub first: ClientMessage,
    /// How long to wait for the SFU's answer.
    pub answer_timeout: Duration,
    /// How long a deleted resource's task waits for the SFU to close the session after
    /// `bye` before dropping it anyway.
    pub close_wait: Duration,
}

/// A resource that was created.
pub(super) struct Created {
    pub id: String,
    pub answer_sdp: String,
}

/// Opens a signalling session, sends `open.first` and waits for the answer. On success
/// the resource is in `resources` and a task holds its session.
pub(super) async fn open(
    relay: &Arc<Relay>,
    resources: &Arc<Resources>,
    slot: Slot,
    open: Open,
) -> Result<Created, ApiError> {
    let mut session = relay.open_virtual(&open.stream_id);
    if session.to_sfu.send(to_frame(&open.first)).await.is_err() {
        return Err(unavailable());
    }
    let answer_sdp = match timeout(open.answer_timeout, first_reply(&mut session)).await {
        Ok(reply) => reply?,
        Err(_) => {
            tracing::info!(stream = %open.stream_id, kind = ?open.kind, "no answer from the media server in time");
            return Err(ApiError::new(ErrorCode::MediaServerTimeout, "the media server did not answer in time; retry"));
        }
    };
    let id = resources.new_id();
    let stop = CancellationToken::new();
    let (finished, done) = oneshot::channel();
    let entry = Entry { kind: open.kind, stream_id: open.stream_id.clone(), stop: stop.clone(), done };
    resources.lock().insert(id.clone(), entry);
    tracing::info!(resource = %id, stream = %open.stream_id, kind = ?open.kind, "resource created");
    tokio::spawn(hold(resources.clone(), id.clone(), session, stop, open.close_wait, slot, finished));
    Ok(Created { id, answer_sdp })
}

fn unavailable() -> ApiError {
    ApiError::new(ErrorCode::Unavailable, "no media server is available; try again shortly")
}

/// The SFU's (or the relay's) first word on a new session: its answer, or why not.
async fn first_reply(session: &mut VirtualSession) -> Result<String, ApiError> {
    loop {
        match session.from_sfu.recv().await {
            Some(Message::Text(text)) => match parse::<ServerMessage>(text.as_str()) {
                Ok(ServerMessage::Answer { sdp }) => return Ok(sdp),
                Ok(ServerMessage::Error { code, message }) => return Err(refusal(&code, &message)),
                Ok(ServerMessage::Bye { .. } | ServerMessage::Ended { .. }) => return Err(unavailable()),
                // Nothing else comes before an answer; ignore rather than fail.
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "unreadable frame from the media server"),
            },
            Some(Message::Close(_)) | None => return Err(unavailable()),
            Some(_) => {}
        }
    }
}

/// The HTTP error for an `error` frame refusing the first message.
fn refusal(code: &str, message: &str) -> ApiError {
    match code {
        "unauthorized" => ApiError::new(ErrorCode::Unauthorized, "the stream token was refused"),
        "already_live" => ApiError::new(ErrorCode::AlreadyLive, "the stream is already being broadcast"),
        "stream_ended" => {
            ApiError::new(ErrorCode::StreamEnded, "this stream has ended and cannot go live again; create a new stream")
        }
        "not_live" | "not_found" => ApiError::new(ErrorCode::NotFound, "the stream is not live"),
        "bad_sdp" | "sdp_too_large" | "invalid_message" | "malformed_message" | "frame_too_large" => {
            ApiError::invalid(format!("the offer was refused: {message}"))
        }
        "media_server_timeout" => {
            ApiError::new(ErrorCode::MediaServerTimeout, "the media server did not answer in time; retry")
        }
        "no_media_server" | "media_server_gone" | "busy" | "server_full" | "unavailable" | "draining" => unavailable(),
        other => ApiError::internal(format!("the media server refused with `{other}`: {message}")),
    }
}

/// Holds a resource's session until it is deleted or the SFU ends it, then forgets it.
async fn hold(
    resources: Arc<Resources>,
    id: String,
    mut session: VirtualSession,
    stop: CancellationToken,
    close_wait: Duration,
    slot: Slot,
    finished: oneshot::Sender<()>,
) {
    let deleted = tokio::select! {
        () = stop.cancelled() => true,
        () = until_ended(&mut session, &id) => false,
    };
    if deleted {
        let bye = ClientMessage::Bye { reason: "the resource was deleted".into() };
        if session.to_sfu.send(to_frame(&bye)).await.is_ok()
            && timeout(close_wait, until_ended(&mut session, &id)).await.is_err()
        {
            tracing::debug!(resource = %id, "no close after bye; dropping the session");
        }
    }
    // Forgotten first, then the session dropped (which ends it on the SFU too: the relay
    // closes its side), so that once the SFU sees the end, the URL is already a 404.
    resources.lock().remove(&id);
    drop(session);
    drop(slot);
    drop(finished);
    tracing::info!(resource = %id, deleted, "resource over");
}

/// Reads the session until the SFU ends it: `ended`, `bye`, or the socket closed.
/// Anything else (`viewers` counts) is ignored.
async fn until_ended(session: &mut VirtualSession, id: &str) {
    loop {
        match session.from_sfu.recv().await {
            Some(Message::Text(text)) => match parse::<ServerMessage>(text.as_str()) {
                Ok(ServerMessage::Ended { .. } | ServerMessage::Bye { .. }) => {
                    tracing::info!(resource = %id, "the media server ended the session");
                    return;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(resource = %id, %err, "unreadable frame from the media server"),
            },
            Some(Message::Close(_)) | None => return,
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_capped_and_slots_come_back() {
        let resources = Resources::new(2);
        let a = resources.reserve().unwrap();
        let _b = resources.reserve().unwrap();
        assert!(resources.reserve().is_none());
        drop(a);
        assert!(resources.reserve().is_some());
    }

    #[test]
    fn refusals_map_to_statuses() {
        let cases = [
            ("unauthorized", 401),
            ("already_live", 409),
            ("stream_ended", 409),
            ("not_live", 404),
            ("bad_sdp", 400),
            ("no_media_server", 503),
            ("media_server_timeout", 504),
            ("server_full", 503),
            ("draining", 503),
            ("something_new", 500),
        ];
        for (code, status) in cases {
            assert_eq!(refusal(code, "m").code.status().as_u16(), status, "{code}");
        }
    }

    #[test]
    fn resources_are_found_only_under_their_own_stream_and_kind() {
        let resources = Resources::new(4);
        let (_finished, done) = oneshot::channel();
        let entry = Entry { kind: Kind::Whip, stream_id: "s1".into(), stop: CancellationToken::new(), done };
        resources.lock().insert("r1".into(), entry);
        assert!(resources.take(Kind::Whep, "s1", "r1").is_none());
        assert!(resources.take(Kind::Whip, "s2", "r1").is_none());
        assert!(resources.take(Kind::Whip, "s1", "r1").is_some());
        assert!(resources.lock().is_empty());
    }
}

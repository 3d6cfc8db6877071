//! The relay's bookkeeping: which SFUs are registered, which stream lives on which
//! SFU, and which clients are parked. Plain data behind one lock; no sockets, no
//! clock, so placement is unit-tested directly.
//!
//! ```text
//!  register_sfu ──▶ sfus[id] {load, sessions, bridged, control, gone}
//!  park(stream) ──▶ choose SFU ──▶ parked[client_id] ──take_parked──▶ (bridged)
//!                       │                    └──unpark (timeout, left)──▶ ✗
//!                       └─▶ streams[stream] {sfu, sessions} ──session_ended──▶ forgotten at 0
//!  unregister_sfu ──▶ gone.cancel(), streams on it forgotten
//! ```
//!
//! A *session* is one client socket from the moment it is parked until it closes;
//! a stream keeps its SFU while at least one of its sessions is alive.

use std::collections::HashMap;

use myvid_proto::control::EndpointMessage;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What the relay knows about one SFU.
struct SfuEntry {
    /// Registration order: the last tie-breaker, so placement is deterministic.
    seq: u64,
    /// Sessions the SFU last said it holds (`load` message).
    load: u32,
    /// Sessions placed here by this relay and still alive (parked or bridged).
    sessions: usize,
    /// Of those, how many are bridged.
    bridged: usize,
    /// Streams in `Registry::hosted` on this SFU (kept, not recounted per status).
    hosting: usize,
    /// Frames for the SFU's control socket.
    control: mpsc::UnboundedSender<EndpointMessage>,
    /// Cancelled when the control socket closes: parked and bridged sessions on this
    /// SFU end.
    gone: CancellationToken,
}

/// Which SFU a stream is on, and how many live sessions keep it there.
struct StreamPlacement {
    sfu_id: String,
    sessions: usize,
}

/// A client socket waiting for its SFU.
struct Parked<S> {
    /// Hands the SFU's attach socket to the task that holds the client socket.
    deliver: oneshot::Sender<S>,
}

/// Where a parked client went.
pub(crate) struct Placement {
    /// The chosen SFU.
    pub sfu_id: String,
    /// Its control channel, to send the `attach` notice on.
    pub control: mpsc::UnboundedSender<EndpointMessage>,
    /// Fires when that SFU goes away.
    pub gone: CancellationToken,
}

/// Why a client could not be parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParkRefusal {
    /// No SFU is registered.
    NoMediaServer,
    /// The cap on parked clients is reached.
    Busy,
}

/// A snapshot of the relay, for operators and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayStatus {
    /// Registered SFUs, in registration order.
    pub sfus: Vec<SfuStatus>,
    /// Clients waiting for an SFU to attach.
    pub parked: usize,
    /// Client sockets bridged to an SFU.
    pub bridged: usize,
}

/// One registered SFU in a [`RelayStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfuStatus {
    /// The id the relay gave it.
    pub sfu_id: String,
    /// Its last `load` report.
    pub load: u32,
    /// Sessions this relay placed on it that are still alive (parked or bridged).
    pub sessions: usize,
    /// Of those, how many are bridged.
    pub bridged: usize,
    /// Streams it says are live on it.
    pub hosting: usize,
}

/// SFUs, streams and parked clients. `S` is the SFU-side socket handed to a parked
/// client when its SFU attaches.
pub(crate) struct Registry<S> {
    max_parked: usize,
    next_seq: u64,
    sfus: HashMap<String, SfuEntry>,
    streams: HashMap<String, StreamPlacement>,
    /// Streams an SFU said it hosts (`hosting`): they win over `streams`, which only
    /// knows the sessions this relay placed.
    hosted: HashMap<String, String>,
    parked: HashMap<String, Parked<S>>,
}

impl<S> Registry<S> {
    /// An empty registry holding at most `max_parked` parked clients.
    pub fn new(max_parked: usize) -> Self {
        Registry {
            max_parked,
            next_seq: 0,
            sfus: HashMap::new(),
            streams: HashMap::new(),
            hosted: HashMap::new(),
            parked: HashMap::new(),
        }
    }

    /// Whether `id` is taken by an SFU or a parked client (ids are random; this
    /// guards against the vanishingly rare collision).
    pub fn id_in_use(&self, id: &str) -> bool {
        self.sfus.contains_key(id) || self.parked.contains_key(id)
    }

    /// Adds an SFU whose control socket takes `control`; returns the token cancelled
    /// when it is unregistered.
    pub fn register_sfu(
        &mut self,
        sfu_id: String,
        control: mpsc::UnboundedSender<EndpointMessage>,
    ) -> CancellationToken {
        let gone = CancellationToken::new();
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = SfuEntry { seq, load: 0, sessions: 0, bridged: 0, hosting: 0, control, gone: gone.clone() };
        self.sfus.insert(sfu_id, entry);
        gone
    }

    /// Removes an SFU: its sessions are told to end and its streams are forgotten, so
    /// their next session is placed afresh.
    pub fn unregister_sfu(&mut self, sfu_id: &str) {
        if let Some(entry) = self.sfus.remove(sfu_id) {
            entry.gone.cancel();
        }
        self.streams.retain(|_, placement| placement.sfu_id != sfu_id);
        self.hosted.retain(|_, host| host != sfu_id);
    }

    /// An SFU says `stream_id` is live on it (ignored from an unregistered SFU).
    pub fn host(&mut self, stream_id: &str, sfu_id: &str) {
        let Some(entry) = self.sfus.get_mut(sfu_id) else { return };
        entry.hosting += 1;
        if let Some(previous) = self.hosted.insert(stream_id.to_owned(), sfu_id.to_owned())
            && let Some(entry) = self.sfus.get_mut(&previous)
        {
            entry.hosting -= 1;
        }
    }

    /// An SFU says `stream_id` ended on it.
    pub fn release(&mut self, stream_id: &str, sfu_id: &str) {
        if self.hosted.get(stream_id).is_some_and(|host| host == sfu_id) {
            self.hosted.remove(stream_id);
            if let Some(entry) = self.sfus.get_mut(sfu_id) {
                entry.hosting -= 1;
            }
        }
    }

    /// Records an SFU's `load` report.
    pub fn report_load(&mut self, sfu_id: &str, sessions: u32) {
        if let Some(entry) = self.sfus.get_mut(sfu_id) {
            entry.load = sessions;
        }
    }

    /// The SFU for a new session of `stream_id`: the SFU that says it hosts the
    /// stream, else the SFU of the stream's sessions placed here, otherwise the least
    /// loaded (last `load` report, then fewest live sessions placed by this relay,
    /// then earliest registered).
    fn choose(&self, stream_id: &str) -> Option<String> {
        if let Some(host) = self.hosted.get(stream_id)
            && self.sfus.contains_key(host)
        {
            return Some(host.clone());
        }
        if let Some(placement) = self.streams.get(stream_id)
            && self.sfus.contains_key(&placement.sfu_id)
        {
            return Some(placement.sfu_id.clone());
        }
        self.sfus.iter().min_by_key(|(_, sfu)| (sfu.load, sfu.sessions, sfu.seq)).map(|(id, _)| id.clone())
    }

    /// Parks `client_id` for `stream_id` on an SFU; `deliver` receives the SFU's
    /// attach socket. Refused, `deliver` comes back (to try again later).
    #[allow(clippy::type_complexity)]
    pub fn park(
        &mut self,
        client_id: String,
        stream_id: &str,
        deliver: oneshot::Sender<S>,
    ) -> Result<Placement, (ParkRefusal, oneshot::Sender<S>)> {
        let Some(sfu_id) = self.choose(stream_id) else { return Err((ParkRefusal::NoMediaServer, deliver)) };
        if self.parked.len() >= self.max_parked {
            return Err((ParkRefusal::Busy, deliver));
        }
        let Some(sfu) = self.sfus.get_mut(&sfu_id) else { return Err((ParkRefusal::NoMediaServer, deliver)) };
        sfu.sessions += 1;
        let placement = Placement { sfu_id: sfu_id.clone(), control: sfu.control.clone(), gone: sfu.gone.clone() };
        self.streams.entry(stream_id.to_owned()).or_insert_with(|| StreamPlacement { sfu_id, sessions: 0 }).sessions +=
            1;
        self.parked.insert(client_id, Parked { deliver });
        Ok(placement)
    }

    /// Takes a parked client for its SFU's attach socket; `None` if it is unknown,
    /// timed out or gone.
    pub fn take_parked(&mut self, client_id: &str) -> Option<oneshot::Sender<S>> {
        self.parked.remove(client_id).map(|parked| parked.deliver)
    }

    /// Removes a parked client (timeout, or it left). `false` if it was no longer
    /// parked: its SFU is attaching right now.
    pub fn unpark(&mut self, client_id: &str) -> bool {
        self.parked.remove(client_id).is_some()
    }

    /// A session on `sfu_id` is now bridged.
    pub fn bridge_started(&mut self, sfu_id: &str) {
        if let Some(sfu) = self.sfus.get_mut(sfu_id) {
            sfu.bridged += 1;
        }
    }

    /// A session of `stream_id` on `sfu_id` ended (`bridged` if it got that far).
    /// The stream forgets its SFU when its last session ends.
    pub fn session_ended(&mut self, stream_id: &str, sfu_id: &str, bridged: bool) {
        if let Some(sfu) = self.sfus.get_mut(sfu_id) {
            sfu.sessions = sfu.sessions.saturating_sub(1);
            if bridged {
                sfu.bridged = sfu.bridged.saturating_sub(1);
            }
        }
        // The stream may have moved to another SFU since (its SFU went away): only a
        // session of the current placement counts.
        if let Some(placement) = self.streams.get_mut(stream_id)
            && placement.sfu_id == sfu_id
        {
            placement.sessions = placement.sessions.saturating_sub(1);
            if placement.sessions == 0 {
                self.streams.remove(stream_id);
            }
        }
    }

    /// A snapshot for operators and tests.
    pub fn status(&self) -> RelayStatus {
        let mut sfus: Vec<(u64, SfuStatus)> = self
            .sfus
            .iter()
            .map(|(id, sfu)| {
                let status = SfuStatus {
                    sfu_id: id.clone(),
                    load: sfu.load,
                    sessions: sfu.sessions,
                    bridged: sfu.bridged,
                    hosting: sfu.hosting,
                };
                (sfu.seq, status)
            })
            .collect();
        sfus.sort_by_key(|(seq, _)| *seq);
        let bridged = sfus.iter().map(|(_, sfu)| sfu.bridged).sum();
        RelayStatus { sfus: sfus.into_iter().map(|(_, sfu)| sfu).collect(), parked: self.parked.len(), bridged }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(max_parked: usize) -> Registry<()> {
        Registry::new(max_parked)
    }

    fn add_sfu(registry: &mut Registry<()>, id: &str) -> (CancellationToken, mpsc::UnboundedReceiver<EndpointMessage>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (registry.register_sfu(id.to_owned(), tx), rx)
    }

    fn park(registry: &mut Registry<()>, client: &str, stream: &str) -> Result<String, ParkRefusal> {
        let (tx, _rx) = oneshot::channel();
        registry.park(client.to_owned(), stream, tx).map(|p| p.sfu_id).map_err(|(refusal, _)| refusal)
    }

    #[test]
    fn no_sfu_means_no_media_server() {
        let mut r = registry(10);
        assert_eq!(park(&mut r, "c1", "s"), Err(ParkRefusal::NoMediaServer));
        assert_eq!(r.status(), RelayStatus::default());
    }

    #[test]
    fn a_stream_stays_on_its_sfu_while_it_has_sessions() {
        let mut r = registry(10);
        let _a = add_sfu(&mut r, "a");
        let _b = add_sfu(&mut r, "b");
        assert_eq!(park(&mut r, "c1", "s").unwrap(), "a");
        // `b` now has fewer sessions, but the stream is on `a`.
        assert_eq!(park(&mut r, "c2", "s").unwrap(), "a");
        assert_eq!(park(&mut r, "c3", "other").unwrap(), "b");
        r.unpark("c1");
        r.session_ended("s", "a", false);
        r.unpark("c2");
        r.session_ended("s", "a", false);
        // Forgotten: placed afresh, on the less loaded SFU.
        r.report_load("a", 5);
        assert_eq!(park(&mut r, "c4", "s").unwrap(), "b");
    }

    #[test]
    fn a_hosting_sfu_gets_its_streams_sessions_whoever_placed_them() {
        let mut r = Registry::<()>::new(10);
        let (tx, _rx) = mpsc::unbounded_channel();
        r.register_sfu("a".into(), tx.clone());
        r.register_sfu("b".into(), tx);
        r.report_load("a", 0);
        r.report_load("b", 9);
        // The stream went live on "b" through another endpoint: this relay has placed
        // nothing of it, yet its viewers must go to "b", not to idle "a".
        r.host("s", "b");
        r.host("s", "b");
        let hosting = |r: &Registry<()>, id: &str| r.status().sfus.iter().find(|x| x.sfu_id == id).map(|x| x.hosting);
        assert_eq!((hosting(&r, "a"), hosting(&r, "b")), (Some(0), Some(1)), "announced twice, counted once");
        assert_eq!(park(&mut r, "c1", "s"), Ok("b".into()));
        assert_eq!(park(&mut r, "c2", "other"), Ok("a".into()), "other streams: least loaded");
        r.release("s", "a");
        assert_eq!(park(&mut r, "c3", "s"), Ok("b".into()), "only the host releases");
        r.release("s", "b");
        assert_eq!(hosting(&r, "b"), Some(0));
        r.session_ended("s", "b", false);
        r.session_ended("s", "b", false);
        assert_eq!(park(&mut r, "c4", "s"), Ok("a".into()), "released: placed afresh");
        r.host("t", "b");
        r.unregister_sfu("b");
        assert_eq!(park(&mut r, "c5", "t"), Ok("a".into()), "a gone host is forgotten");
        r.host("u", "nobody");
        assert_eq!(park(&mut r, "c6", "u"), Ok("a".into()), "unregistered SFUs cannot host");
    }

    #[test]
    fn least_loaded_wins_then_fewest_sessions_then_oldest() {
        let mut r = registry(10);
        let _a = add_sfu(&mut r, "a");
        let _b = add_sfu(&mut r, "b");
        r.report_load("a", 5);
        r.report_load("b", 1);
        assert_eq!(park(&mut r, "c1", "s1").unwrap(), "b");
        r.report_load("b", 5);
        // Equal load: `a` has no sessions from us, `b` has one.
        assert_eq!(park(&mut r, "c2", "s2").unwrap(), "a");
        // Equal load and sessions: the older registration.
        assert_eq!(park(&mut r, "c3", "s3").unwrap(), "a");
    }

    #[test]
    fn parking_is_capped() {
        let mut r = registry(1);
        let _a = add_sfu(&mut r, "a");
        park(&mut r, "c1", "s").unwrap();
        assert_eq!(park(&mut r, "c2", "s"), Err(ParkRefusal::Busy));
        assert!(r.take_parked("c1").is_some());
        assert!(!r.unpark("c1"), "taken by an attach");
        park(&mut r, "c2", "s").unwrap();
    }

    #[test]
    fn unregistering_cancels_and_forgets_streams() {
        let mut r = registry(10);
        let (gone_a, _rx) = add_sfu(&mut r, "a");
        let _b = add_sfu(&mut r, "b");
        r.report_load("b", 9);
        assert_eq!(park(&mut r, "c1", "s").unwrap(), "a");
        assert!(r.take_parked("c1").is_some());
        r.bridge_started("a");
        assert_eq!(r.status().bridged, 1);
        r.unregister_sfu("a");
        assert!(gone_a.is_cancelled());
        assert_eq!(park(&mut r, "c2", "s").unwrap(), "b");
        // The old session ending must not unpin the stream from `b`.
        r.session_ended("s", "a", true);
        assert_eq!(park(&mut r, "c3", "s").unwrap(), "b");
        let status = r.status();
        assert_eq!(status.sfus.len(), 1);
        assert_eq!((status.parked, status.bridged, status.sfus[0].sessions), (2, 0, 2));
    }
}

//! The notification sockets open on this process, by user: who the poller may notify,
//! and the bounded queue of each socket.
//!
//! ```text
//!  socket opens ──subscribe(user)──▶ Hub { user_id → [Subscriber] } ◀──send(user, notice)── poller
//!       ▲                                 │ a full queue (16): that subscriber is dropped,
//!       └──── Subscription.recv() ◀───────┘ so its socket ends instead of lagging behind
//!  socket closes ──drop(Subscription)──▶ removed
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use myvid_proto::notify::NotifyServerMessage;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Notices waiting for one socket. A socket that lets 16 pile up is not reading (a
/// stalled tab, a dead connection the keep-alive has not noticed yet); notices come
/// once per go-live of a followed channel, so a healthy socket never gets near it.
pub const QUEUE: usize = 16;

/// Sockets one user may hold on one process by default: a tab per page they have open,
/// with room for a few, while one account cannot tie up the process.
pub const DEFAULT_MAX_SOCKETS_PER_USER: usize = 8;

/// The user already holds the most sockets allowed on this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this account already has {0} notification sockets open here")]
pub struct TooManySockets(pub usize);

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<NotifyServerMessage>,
}

/// The process's notification sockets (see the module docs). Share it as an `Arc`.
pub struct Hub {
    users: Mutex<HashMap<i64, Vec<Subscriber>>>,
    next_id: AtomicU64,
    max_per_user: usize,
    subscribed: Notify,
    closing: CancellationToken,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// An empty hub allowing `max_per_user` sockets per user; its gauge is in `metrics`.
    pub fn new(max_per_user: usize, metrics: Arc<Metrics>) -> Arc<Hub> {
        Arc::new(Hub {
            users: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            max_per_user,
            subscribed: Notify::new(),
            closing: CancellationToken::new(),
            metrics,
        })
    }

    /// Registers a socket of `user_id`; notices arrive through the returned
    /// [`Subscription`], which unregisters when dropped.
    pub fn subscribe(self: &Arc<Self>, user_id: i64) -> Result<Subscription, TooManySockets> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut users = self.lock();
            let sockets = users.entry(user_id).or_default();
            if sockets.len() >= self.max_per_user {
                return Err(TooManySockets(self.max_per_user));
            }
            sockets.push(Subscriber { id, tx });
            self.update_gauge(&users);
        }
        self.subscribed.notify_one();
        Ok(Subscription { hub: self.clone(), user_id, id, rx })
    }

    /// Tells every socket to close (1001, "going away") and refuses new ones: called
    /// when the process stops, so that open sockets do not hold up the HTTP drain.
    pub fn close_all(&self) {
        self.closing.cancel();
    }

    /// Waits, at most `within`, until every socket has gone after [`Hub::close_all`]:
    /// each sends its close frame (1001) before the process stops.
    pub async fn wait_closed(&self, within: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !self.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Whether [`Hub::close_all`] was called.
    pub fn is_closing(&self) -> bool {
        self.closing.is_cancelled()
    }

    /// Completes once [`Hub::close_all`] is called. Cancel-safe.
    pub async fn closed(&self) {
        self.closing.cancelled().await;
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Waits until a socket is open (at once if one is). Cancel-safe.
    pub async fn wait_for_subscriber(&self) {
        while self.is_empty() {
            self.subscribed.notified().await;
        }
    }

    /// The users with at least one socket open, in no particular order.
    pub fn user_ids(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// Queues `message` for every socket of `user_id`; returns how many took it. A
    /// socket whose queue is full is dropped from the hub (its subscription then ends).
    pub fn send(&self, user_id: i64, message: &NotifyServerMessage) -> usize {
        let mut users = self.lock();
        let Some(sockets) = users.get_mut(&user_id) else {
            return 0;
        };
        let mut sent = 0;
        sockets.retain(|socket| match socket.tx.try_send(message.clone()) {
            Ok(()) => {
                sent += 1;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!(user_id, "a notification socket fell behind; closing it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if sockets.is_empty() {
            users.remove(&user_id);
        }
        self.update_gauge(&users);
        sent
    }

    fn unsubscribe(&self, user_id: i64, id: u64) {
        let mut users = self.lock();
        if let Some(sockets) = users.get_mut(&user_id) {
            sockets.retain(|socket| socket.id != id);
            if sockets.is_empty() {
                users.remove(&user_id);
            }
        }
        self.update_gauge(&users);
    }

    fn update_gauge(&self, users: &HashMap<i64, Vec<Subscriber>>) {
        let sockets: usize = users.values().map(Vec::len).sum();
        self.metrics.notify_sockets.set(i64::try_from(sockets).unwrap_or(i64::MAX));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Vec<Subscriber>>> {
        // Every change leaves the map consistent: a panic elsewhere while holding the
        // lock leaves nothing half-done.
        self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One socket's place in the [`Hub`]; leaves it when dropped.
pub struct Subscription {
    hub: Arc<Hub>,
    user_id: i64,
    id: u64,
    rx: mpsc::Receiver<NotifyServerMessage>,
}

impl Subscription {
    /// The next notice; `None` once the hub dropped this socket (its queue was full).
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<NotifyServerMessage> {
        self.rx.recv().await
    }

    /// The subscribed user.
    pub fn user_id(&self) -> i64 {
        self.user_id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.user_id, self.id);
    }
}

#[cfg(test)]
mod tests {
    use myvid_proto::notify::LiveNotice;

    use super::*;

    fn notice(n: i64) -> NotifyServerMessage {
        NotifyServerMessage::WentLive(LiveNotice {
            channel: "alice".into(),
            video_id: format!("v{n}"),
            title: "t".into(),
            started_at: n,
        })
    }

    #[tokio::test]
    async fn notices_reach_every_socket_of_the_user_and_no_one_else() {
        let metrics = Arc::new(Metrics::default());
        let hub = Hub::new(8, metrics.clone());
        let mut a1 = hub.subscribe(1).unwrap();
        let mut a2 = hub.subscribe(1).unwrap();
        let mut b = hub.subscribe(2).unwrap();
        assert_eq!(metrics.notify_sockets.get(), 3);
        assert_eq!(hub.send(1, &notice(1)), 2);
        assert_eq!(a1.recv().await, Some(notice(1)));
        assert_eq!(a2.recv().await, Some(notice(1)));
        assert!(b.rx.try_recv().is_err());
        let mut users = hub.user_ids();
        users.sort_unstable();
        assert_eq!(users, vec![1, 2]);
        drop((a1, a2, b));
        assert!(hub.is_empty());
        assert_eq!(metrics.notify_sockets.get(), 0);
    }

    #[test]
    fn a_user_holds_at_most_the_limit() {
        let hub = Hub::new(2, Arc::new(Metrics::default()));
        let first = hub.subscribe(1).unwrap();
        let _second = hub.subscribe(1).unwrap();
        assert_eq!(hub.subscribe(1).err(), Some(TooManySockets(2)));
        assert!(hub.subscribe(2).is_ok(), "the limit is per user");
        drop(first);
        assert!(hub.subscribe(1).is_ok(), "a closed socket frees its place");
    }

    #[tokio::test]
    async fn a_socket_that_falls_behind_is_dropped() {
        let hub = Hub::new(8, Arc::new(Metrics::default()));
        let mut slow = hub.subscribe(1).unwrap();
        for n in 0..QUEUE {
            assert_eq!(hub.send(1, &notice(i64::try_from(n).unwrap())), 1);
        }
        assert_eq!(hub.send(1, &notice(99)), 0, "the 17th does not fit");
        assert!(hub.is_empty());
        for _ in 0..QUEUE {
            assert!(slow.recv().await.is_some());
        }
        assert_eq!(slow.recv().await, None, "then the subscription ends");
    }

    #[tokio::test]
    async fn waiting_for_a_subscriber_ends_when_one_comes() {
        let hub = Hub::new(8, Arc::new(Metrics::default()));
        let waiter = tokio::spawn({
            let hub = hub.clone();
            async move { hub.wait_for_subscriber().await }
        });
        tokio::task::yield_now().await;
        let _socket = hub.subscribe(7).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
    }
}

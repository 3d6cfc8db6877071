//! The SFU's endpoint link against the real relay: a `myvid-endpoint` relay served
//! on 127.0.0.1, browsers played by tokio-tungstenite. Every wait is for an event,
//! bounded by a timeout; nothing sleeps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use myvid_core::metrics::Metrics;
use myvid_endpoint::relay::{self, Relay, RelayConfig, RelayStatus};
use myvid_sfu::link::{Backoff, ClientLink, Link, LinkConfig, LinkState, connect};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "link-test-secret-0123456789";
/// Bound on every wait for an event.
const WAIT: Duration = Duration::from_secs(5);

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out waiting for an event")
}

/// A relay served on `listener` until dropped.
struct Endpoint {
    relay: Arc<Relay>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Endpoint {
    async fn start() -> Endpoint {
        Endpoint::on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    fn on(listener: TcpListener) -> Endpoint {
        let relay = Relay::new(RelayConfig::new(SECRET), Arc::new(Metrics::default()));
        let addr = listener.local_addr().unwrap();
        let app = relay::routes(relay.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Endpoint { relay, addr, server }
    }

    /// Stops serving and closes every socket, freeing the port.
    async fn stop(self) -> SocketAddr {
        self.relay.shutdown();
        self.server.abort();
        let _ = self.server.await;
        self.addr
    }

    fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    async fn browser(&self, stream_id: &str) -> Ws {
        let url = format!("ws://{}/ENDPOINT/{stream_id}", self.addr);
        within(tokio_tungstenite::connect_async(url)).await.unwrap().0
    }

    async fn until(&self, ready: impl FnMut(&RelayStatus) -> bool) {
        within(self.relay.watch_status().wait_for(ready)).await.unwrap();
    }
}

/// A link config for tests: quick retries and load reports.
fn config(endpoint_url: String) -> LinkConfig {
    LinkConfig {
        load_interval: Duration::from_millis(50),
        backoff: Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(200) },
        ..LinkConfig::new(endpoint_url, SECRET)
    }
}

struct Sfu {
    link: Link,
    clients: mpsc::Receiver<ClientLink>,
    shutdown: CancellationToken,
}

impl Sfu {
    fn start(config: LinkConfig) -> Sfu {
        let (tx, clients) = mpsc::channel(8);
        let shutdown = CancellationToken::new();
        let link = connect(config, tx, shutdown.clone()).unwrap();
        Sfu { link, clients, shutdown }
    }

    /// Waits for registration; the SFU id.
    async fn registered(&self) -> String {
        let mut state = self.link.state();
        let state = within(state.wait_for(|s| matches!(s, LinkState::Registered { .. }))).await.unwrap().clone();
        let LinkState::Registered { sfu_id } = state else { unreachable!() };
        sfu_id
    }

    async fn next_client(&mut self) -> ClientLink {
        within(self.clients.recv()).await.expect("a client link")
    }
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the socket ends. An SFU that stops may be noticed by the relay through
/// its control socket first (`media_server_gone` error frame, then close) or through
/// the attach socket (its close frame forwarded): both end the browser's socket.
async fn closed(ws: &mut Ws) {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            Some(Ok(Message::Text(text))) => assert!(text.as_str().contains("media_server_gone"), "{text}"),
            Some(Ok(other)) => assert!(matches!(other, Message::Ping(_) | Message::Pong(_)), "{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_attached_client_arrives_as_a_client_link_with_frames_both_ways() {
    let endpoint = Endpoint::start().await;
    let mut sfu = Sfu::start(config(endpoint.ws_url()));
    let sfu_id = sfu.registered().await;
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == sfu_id)).await;

    let mut browser = endpoint.browser("k3J9xQ2mPa0Z").await;
    within(browser.send(Message::text(r#"{"type":"join"}"#))).await.unwrap();
    let mut client = sfu.next_client().await;
    assert_eq!(client.stream_id, "k3J9xQ2mPa0Z");
    assert!(client.client_id.starts_with("c-"));
    assert_eq!(within(client.incoming.recv()).await.as_deref(), Some(r#"{"type":"join"}"#));
    within(client.outgoing.send(r#"{"type":"offer","sdp":"v=0"}"#.to_owned())).await.unwrap();
    assert_eq!(next_text(&mut browser).await, r#"{"type":"offer","sdp":"v=0"}"#);

    // The browser leaves: the session sees its incoming frames end.
    within(browser.close(None)).await.unwrap();
    assert_eq!(within(client.incoming.recv()).await, None);
}

#[tokio::test]
async fn the_link_reports_open_client_links_as_load() {
    let endpoint = Endpoint::start().await;
    let mut sfu = Sfu::start(config(endpoint.ws_url()));
    let sfu_id = sfu.registered().await;
    let _browser = endpoint.browser("s1").await;
    let client = sfu.next_client().await;
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == sfu_id && x.load == 1)).await;
    drop(client);
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == sfu_id && x.load == 0)).await;
}

#[tokio::test]
async fn clients_of_a_stream_go_to_the_sfu_that_hosts_it() {
    let endpoint = Endpoint::start().await;
    // The older SFU would win a tie; the younger one says it hosts s1.
    let mut older = Sfu::start(config(endpoint.ws_url()));
    let older_id = older.registered().await;
    let hosting = config(endpoint.ws_url());
    hosting.hosted.add("s1");
    let hosted = hosting.hosted.clone();
    let mut host = Sfu::start(hosting);
    let host_id = host.registered().await;
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == host_id && x.hosting == 1)).await;

    let _viewer = endpoint.browser("s1").await;
    assert_eq!(host.next_client().await.stream_id, "s1", "placed on the hosting SFU");
    let _other = endpoint.browser("s2").await;
    assert_eq!(older.next_client().await.stream_id, "s2", "other streams: by load, then age");
    // The stream ends: the endpoint hears it.
    hosted.remove("s1");
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == host_id && x.hosting == 0)).await;
    assert_ne!(older_id, host_id);
}

#[tokio::test]
async fn dropping_a_client_link_closes_the_browser_socket() {
    let endpoint = Endpoint::start().await;
    let mut sfu = Sfu::start(config(endpoint.ws_url()));
    sfu.registered().await;
    let mut browser = endpoint.browser("s1").await;
    let client = sfu.next_client().await;
    endpoint.until(|s| s.bridged == 1).await;
    drop(client);
    closed(&mut browser).await;
    endpoint.until(|s| s.bridged == 0).await;
}

#[tokio::test]
async fn the_link_reconnects_after_the_endpoint_restarts() {
    let endpoint = Endpoint::start().await;
    let mut sfu = Sfu::start(config(endpoint.ws_url()));
    let first_id = sfu.registered().await;

    let addr = endpoint.stop().await;
    let mut state = sfu.link.state();
    within(state.wait_for(|s| matches!(s, LinkState::Connecting { .. }))).await.unwrap();

    // Same address, new process state: the SFU registers afresh and gets clients again.
    let endpoint = Endpoint::on(TcpListener::bind(addr).await.unwrap());
    let second_id = sfu.registered().await;
    assert_ne!(first_id, second_id);
    endpoint.until(|s| s.sfus.len() == 1).await;
    let mut browser = endpoint.browser("after-restart").await;
    let client = sfu.next_client().await;
    assert_eq!(client.stream_id, "after-restart");
    within(client.outgoing.send(r#"{"type":"viewers","count":0}"#.to_owned())).await.unwrap();
    assert_eq!(next_text(&mut browser).await, r#"{"type":"viewers","count":0}"#);
}

#[tokio::test]
async fn a_refused_secret_is_retried_with_backoff_and_never_registers() {
    let endpoint = Endpoint::start().await;
    let sfu = Sfu::start(LinkConfig { secret: "not-the-secret-at-all".into(), ..config(endpoint.ws_url()) });
    let mut state = sfu.link.state();
    within(state.wait_for(|s| matches!(s, LinkState::Connecting { attempt } if *attempt >= 3))).await.unwrap();
    assert!(endpoint.relay.status().sfus.is_empty());
}

#[tokio::test]
async fn shutdown_stops_the_link_and_closes_its_sockets() {
    let endpoint = Endpoint::start().await;
    let mut sfu = Sfu::start(config(endpoint.ws_url()));
    sfu.registered().await;
    let mut browser = endpoint.browser("s1").await;
    let _client = sfu.next_client().await;
    let state = sfu.link.state();
    sfu.shutdown.cancel();
    let Sfu { link, .. } = sfu;
    within(link.stopped()).await;
    assert_eq!(*state.borrow(), LinkState::Stopped);
    closed(&mut browser).await;
    endpoint.until(|s| s.sfus.is_empty() && s.bridged == 0).await;
}

//! The signalling relay end to end: a real axum server on 127.0.0.1:0, real
//! WebSocket clients and "SFUs" (tokio-tungstenite). Nothing sleeps: every wait is
//! for an event, bounded by a timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use myvid_core::metrics::Metrics;
use myvid_endpoint::relay::{self, Relay, RelayConfig, RelayStatus};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "relay-test-secret-0123456789";
/// Bound on every wait for an event.
const WAIT: Duration = Duration::from_secs(5);

struct Endpoint {
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.relay.shutdown();
        self.server.abort();
    }
}

async fn start(config: RelayConfig) -> Endpoint {
    let metrics = Arc::new(Metrics::default());
    let relay = Relay::new(config, metrics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = relay::routes(relay.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Endpoint { relay, metrics, addr, server }
}

async fn endpoint() -> Endpoint {
    start(RelayConfig::new(SECRET)).await
}

impl Endpoint {
    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Opens `path` with `Authorization: Bearer <secret>` (no header for `None`).
    async fn open_as_sfu(&self, path: &str, secret: Option<&str>) -> Result<Ws, tungstenite::Error> {
        let mut request = self.url(path).into_client_request().unwrap();
        if let Some(secret) = secret {
            request.headers_mut().insert("authorization", format!("Bearer {secret}").parse().unwrap());
        }
        within(tokio_tungstenite::connect_async(request)).await.map(|(ws, _)| ws)
    }

    /// Registers an SFU: its control socket and id.
    async fn register(&self) -> (Ws, String) {
        let mut control = self.open_as_sfu("/SFU", Some(SECRET)).await.unwrap();
        let registered = next_json(&mut control).await;
        assert_eq!(registered["type"], "registered", "{registered}");
        let id = registered["sfu_id"].as_str().unwrap().to_owned();
        (control, id)
    }

    async fn client(&self, stream_id: &str) -> Ws {
        within(tokio_tungstenite::connect_async(self.url(&format!("/ENDPOINT/{stream_id}")))).await.unwrap().0
    }

    async fn attach(&self, client_id: &str) -> Ws {
        self.open_as_sfu(&format!("/SFU/attach/{client_id}"), Some(SECRET)).await.unwrap()
    }

    /// Waits until the relay's status satisfies `ready`.
    async fn until(&self, ready: impl FnMut(&RelayStatus) -> bool) {
        let mut status = self.relay.watch_status();
        within(status.wait_for(ready)).await.unwrap();
    }
}

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out waiting for an event")
}

/// The next text frame, skipping pings and pongs; panics on close.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    serde_json::from_str(&next_text(ws).await).unwrap()
}

/// Waits for the next `attach` on a control socket: (client id, stream id).
async fn next_attach(control: &mut Ws) -> (String, String) {
    let attach = next_json(control).await;
    assert_eq!(attach["type"], "attach", "{attach}");
    (attach["client_id"].as_str().unwrap().to_owned(), attach["stream_id"].as_str().unwrap().to_owned())
}

async fn expect_error(ws: &mut Ws, code: &str) {
    let error = next_json(ws).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["code"], code, "{error}");
    assert!(!error["message"].as_str().unwrap().is_empty());
}

/// Reads until the socket closes; the close frame, if the peer sent one.
async fn closed(ws: &mut Ws) -> Option<CloseFrame> {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => panic!("expected the socket to close, got {other:?}"),
            Some(Err(_)) | None => return None,
        }
    }
}

async fn send(ws: &mut Ws, text: &str) {
    within(ws.send(Message::text(text))).await.unwrap();
}

/// A client on `stream_id` bridged to the SFU behind `control`: (client, SFU side).
async fn bridged(endpoint: &Endpoint, control: &mut Ws, stream_id: &str) -> (Ws, Ws) {
    let client = endpoint.client(stream_id).await;
    let (client_id, stream) = next_attach(control).await;
    assert_eq!(stream, stream_id);
    let sfu_side = endpoint.attach(&client_id).await;
    (client, sfu_side)
}

fn http_status(err: tungstenite::Error) -> (u16, Value) {
    match err {
        tungstenite::Error::Http(response) => {
            let body = response.body().clone().unwrap_or_default();
            (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_sfu_registers_and_gets_an_id() {
    let endpoint = endpoint().await;
    let (_control, id) = endpoint.register().await;
    assert!(id.starts_with("sfu-"), "{id}");
    endpoint.until(|s| s.sfus.len() == 1).await;
    assert_eq!(endpoint.relay.status().sfus[0].sfu_id, id);
    assert_eq!(endpoint.metrics.live_sfus.get(), 1);
    assert!(endpoint.metrics.render().contains("myvid_live_sfus 1"));
}

#[tokio::test]
async fn a_parked_client_is_bridged_and_frames_pass_verbatim_both_ways() {
    let endpoint = endpoint().await;
    let (mut control, _) = endpoint.register().await;
    let mut client = endpoint.client("k3J9xQ2mPa0Z").await;
    // Sent while parked: buffered and delivered first, in order.
    send(&mut client, r#"{"type":"join"}"#).await;
    send(&mut client, r#"{ "type" : "candidate",  "candidate":"" }"#).await;
    let (client_id, stream_id) = next_attach(&mut control).await;
    assert_eq!(stream_id, "k3J9xQ2mPa0Z");
    assert!(client_id.starts_with("c-"), "{client_id}");
    endpoint.until(|s| s.parked == 1).await;
    assert_eq!(endpoint.metrics.live_parked_clients.get(), 1);
    let mut sfu = endpoint.attach(&client_id).await;
    assert_eq!(next_text(&mut sfu).await, r#"{"type":"join"}"#);
    assert_eq!(next_text(&mut sfu).await, r#"{ "type" : "candidate",  "candidate":"" }"#);
    endpoint.until(|s| s.parked == 0 && s.bridged == 1).await;
    assert_eq!(endpoint.metrics.live_bridged_sessions.get(), 1);
    // The relay does not interpret frames: anything textual passes unchanged.
    send(&mut sfu, r#"{"type":"offer","sdp":"v=0\r\n"}"#).await;
    assert_eq!(next_text(&mut client).await, r#"{"type":"offer","sdp":"v=0\r\n"}"#);
    send(&mut client, "not even JSON").await;
    assert_eq!(next_text(&mut sfu).await, "not even JSON");
    // A close on one side reaches the other with its code.
    let bye = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
    within(client.send(Message::Close(Some(bye)))).await.unwrap();
    let frame = closed(&mut sfu).await.expect("a close frame");
    assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::Normal, "bye"));
    endpoint.until(|s| s.bridged == 0 && s.sfus[0].sessions == 0).await;
}

#[tokio::test]
async fn two_clients_of_one_stream_meet_on_one_sfu() {
    let endpoint = endpoint().await;
    let (mut a, _) = endpoint.register().await;
    let (mut b, _) = endpoint.register().await;
    endpoint.until(|s| s.sfus.len() == 2).await;
    let _first = endpoint.client("shared").await;
    let a_got_it = tokio::select! {
        attach = next_attach(&mut a) => { assert_eq!(attach.1, "shared"); true }
        attach = next_attach(&mut b) => { assert_eq!(attach.1, "shared"); false }
    };
    let (chosen, other) = if a_got_it { (&mut a, &mut b) } else { (&mut b, &mut a) };
    // The other SFU now has fewer sessions, yet the stream stays where it is.
    let _second = endpoint.client("shared").await;
    assert_eq!(next_attach(chosen).await.1, "shared");
    // A different stream goes to the emptier SFU: the first notice it ever gets.
    let _third = endpoint.client("elsewhere").await;
    assert_eq!(next_attach(other).await.1, "elsewhere");
}

#[tokio::test]
async fn a_new_stream_goes_to_the_least_loaded_sfu() {
    let endpoint = endpoint().await;
    let (mut a, a_id) = endpoint.register().await;
    let (mut b, b_id) = endpoint.register().await;
    send(&mut a, r#"{"type":"load","sessions":7}"#).await;
    send(&mut b, r#"{"type":"load","sessions":2}"#).await;
    endpoint.until(|s| s.sfus.iter().map(|x| x.load).collect::<Vec<_>>() == [7, 2]).await;
    let _c1 = endpoint.client("fresh").await;
    assert_eq!(next_attach(&mut b).await.1, "fresh");
    send(&mut b, r#"{"type":"load","sessions":9}"#).await;
    endpoint.until(|s| s.sfus.iter().any(|x| x.sfu_id == b_id && x.load == 9)).await;
    let _c2 = endpoint.client("fresher").await;
    // `a` never saw "fresh": its first notice is "fresher".
    assert_eq!(next_attach(&mut a).await.1, "fresher");
    assert!(endpoint.relay.status().sfus.iter().any(|x| x.sfu_id == a_id && x.sessions == 1));
}

#[tokio::test]
async fn without_an_sfu_a_client_gets_no_media_server() {
    let config = RelayConfig { sfu_wait: Duration::from_millis(100), ..RelayConfig::new(SECRET) };
    let endpoint = start(config).await;
    let mut client = endpoint.client("s1").await;
    expect_error(&mut client, "no_media_server").await;
    let frame = closed(&mut client).await.expect("a close frame");
    assert_eq!(frame.code, CloseCode::Again);
}

#[tokio::test]
async fn a_client_arriving_before_any_sfu_waits_for_one() {
    let endpoint = endpoint().await;
    let _client = endpoint.client("s1").await;
    // The SFU registers after the client came (an endpoint that just started).
    let (mut control, _) = endpoint.register().await;
    assert_eq!(next_attach(&mut control).await.1, "s1", "placed once an SFU is there");
}

#[tokio::test]
async fn a_client_not_attached_in_time_gets_media_server_timeout() {
    let config = RelayConfig { park_timeout: Duration::from_millis(200), ..RelayConfig::new(SECRET) };
    let endpoint = start(config).await;
    let (mut control, _) = endpoint.register().await;
    let mut client = endpoint.client("s1").await;
    let (client_id, _) = next_attach(&mut control).await;
    expect_error(&mut client, "media_server_timeout").await;
    assert_eq!(closed(&mut client).await.expect("a close frame").code, CloseCode::Again);
    endpoint.until(|s| s.parked == 0 && s.sfus[0].sessions == 0).await;
    // Too late: the client id has expired.
    let err = endpoint.open_as_sfu(&format!("/SFU/attach/{client_id}"), Some(SECRET)).await.unwrap_err();
    assert_eq!(http_status(err).0, 404);
}

#[tokio::test]
async fn parked_clients_are_capped_with_busy() {
    let config = RelayConfig { max_parked: 1, ..RelayConfig::new(SECRET) };
    let endpoint = start(config).await;
    let (mut control, _) = endpoint.register().await;
    let _first = endpoint.client("s1").await;
    next_attach(&mut control).await;
    endpoint.until(|s| s.parked == 1).await;
    let mut second = endpoint.client("s1").await;
    expect_error(&mut second, "busy").await;
    closed(&mut second).await;
}

#[tokio::test]
async fn oversize_and_binary_frames_are_refused_and_the_session_goes_on() {
    let endpoint = endpoint().await;
    let (mut control, _) = endpoint.register().await;
    let mut client = endpoint.client("s1").await;
    let huge = format!(r#"{{"type":"answer","sdp":"{}"}}"#, "x".repeat(myvid_proto::MAX_FRAME_BYTES));
    // Refused while parked…
    send(&mut client, &huge).await;
    expect_error(&mut client, "frame_too_large").await;
    let (client_id, _) = next_attach(&mut control).await;
    let mut sfu = endpoint.attach(&client_id).await;
    endpoint.until(|s| s.bridged == 1).await;
    // …and while bridged.
    send(&mut client, &huge).await;
    expect_error(&mut client, "frame_too_large").await;
    within(client.send(Message::binary(vec![1u8, 2, 3]))).await.unwrap();
    expect_error(&mut client, "binary_not_supported").await;
    // Nothing refused reached the SFU: the next frame it sees is this one.
    send(&mut client, r#"{"type":"join"}"#).await;
    assert_eq!(next_text(&mut sfu).await, r#"{"type":"join"}"#);
    send(&mut sfu, r#"{"type":"viewers","count":1}"#).await;
    assert_eq!(next_text(&mut client).await, r#"{"type":"viewers","count":1}"#);
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401() {
    let endpoint = endpoint().await;
    for path in ["/SFU", "/SFU/attach/c-whatever"] {
        for secret in [Some("wrong-secret-0123456789"), None] {
            let err = endpoint.open_as_sfu(path, secret).await.unwrap_err();
            let (status, body) = http_status(err);
            assert_eq!(status, 401, "{path} {secret:?}");
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        }
    }
    assert!(endpoint.relay.status().sfus.is_empty());
}

#[tokio::test]
async fn attaching_an_unknown_client_is_404() {
    let endpoint = endpoint().await;
    let err = endpoint.open_as_sfu("/SFU/attach/c-nobody", Some(SECRET)).await.unwrap_err();
    let (status, body) = http_status(err);
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found", "{body}");
}

#[tokio::test]
async fn an_sfu_control_socket_closing_closes_its_bridged_clients() {
    let config = RelayConfig { sfu_wait: Duration::from_millis(100), ..RelayConfig::new(SECRET) };
    let endpoint = start(config).await;
    let (mut control, _) = endpoint.register().await;
    let (mut client, mut sfu) = bridged(&endpoint, &mut control, "s1").await;
    endpoint.until(|s| s.bridged == 1).await;
    within(control.close(None)).await.unwrap();
    expect_error(&mut client, "media_server_gone").await;
    closed(&mut client).await;
    closed(&mut sfu).await;
    endpoint.until(|s| s.sfus.is_empty() && s.bridged == 0).await;
    assert_eq!(endpoint.metrics.live_sfus.get(), 0);
    // The stream was forgotten with its SFU: with none left, the next client is refused.
    let mut late = endpoint.client("s1").await;
    expect_error(&mut late, "no_media_server").await;
}

#[tokio::test]
async fn shutdown_closes_every_socket_and_refuses_new_ones() {
    let endpoint = endpoint().await;
    let (mut control, _) = endpoint.register().await;
    let (mut client, mut sfu) = bridged(&endpoint, &mut control, "s1").await;
    endpoint.until(|s| s.bridged == 1).await;
    endpoint.relay.shutdown();
    for ws in [&mut control, &mut client, &mut sfu] {
        assert_eq!(closed(ws).await.expect("a close frame").code, CloseCode::Away);
    }
    let err = endpoint.open_as_sfu("/SFU", Some(SECRET)).await.unwrap_err();
    assert_eq!(http_status(err).0, 503);
}

#[tokio::test]
async fn a_bad_stream_id_or_plain_http_is_a_json_400() {
    let endpoint = endpoint().await;
    let err = within(tokio_tungstenite::connect_async(endpoint.url("/ENDPOINT/has%20space"))).await.unwrap_err();
    let (status, body) = http_status(err);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
}

#[tokio::test]
async fn a_silent_sfu_is_closed_and_unregistered() {
    let config = RelayConfig { idle_timeout: Duration::from_millis(200), ..RelayConfig::new(SECRET) };
    let endpoint = start(config).await;
    let (mut control, _) = endpoint.register().await;
    endpoint.until(|s| s.sfus.len() == 1).await;
    // The test SFU sends nothing; reading only to see the close.
    let frame = closed(&mut control).await.expect("a close frame");
    assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::Away, "idle"));
    endpoint.until(|s| s.sfus.is_empty()).await;
}

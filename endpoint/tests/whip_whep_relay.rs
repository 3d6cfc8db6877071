//! WHIP and WHEP over the real relay, with the SFU played by a WebSocket client
//! (tokio-tungstenite) so that every frame the endpoint sends it can be checked: the
//! virtual client's frames arrive verbatim through park → attach → bridge, `DELETE`
//! says `bye`, an SFU's `ended` forgets the resource, and the relay's failures become
//! HTTP statuses (no SFU 503, silent SFU 504, cap 503). Nothing sleeps: every wait is
//! for an event, bounded by a timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use myvid_core::live::StreamTokens;
use myvid_core::metrics::Metrics;
use myvid_core::{Clock, Services, Settings};
use myvid_endpoint::relay::{self, Relay, RelayConfig};
use myvid_endpoint::whip_whep::{self, WhipConfig};
use myvid_store::meta::{LiveState, NewVideo, VideoSource, Visibility};
use myvid_store::{LocalObjects, MetaStore, SqliteMeta};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "whip-test-secret-0123456789";
const WAIT: Duration = Duration::from_secs(5);
const STREAM: &str = "stream-1";

struct Endpoint {
    app: Router,
    relay: Arc<Relay>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.relay.shutdown();
    }
}

/// The relay and WHIP/WHEP routes served on 127.0.0.1:0, with one live-stream record
/// ([`STREAM`]) and one uploaded video (`upload-1`) in an in-memory store.
async fn start(config: WhipConfig) -> Endpoint {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteMeta::open_in_memory().await.unwrap();
    for (id, source) in [
        (STREAM, VideoSource::Live { state: LiveState::Pending, record: true }),
        ("upload-1", VideoSource::Staged { video_key: "v".into(), preview_key: "p".into() }),
    ] {
        let video = NewVideo {
            id: id.into(),
            owner_id: None,
            title: id.into(),
            description: String::new(),
            source,
            visibility: Visibility::Private,
            duration_ms: None,
            created_at: 1,
        };
        meta.create_video(video).await.unwrap();
    }
    let objects = LocalObjects::open(dir.path().join("objects"), "http://127.0.0.1".into(), b"key").await.unwrap();
    let services = Services {
        meta: Arc::new(meta),
        objects: Arc::new(objects),
        objects_health: Default::default(),
        clock: Clock::system(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::new(Metrics::default()),
        stream_tokens: StreamTokens::new(b"tokens"),
        limits: Arc::new(myvid_core::abuse::Limiters::disabled()),
        views: Arc::new(myvid_core::views::Views::new(myvid_core::views::ViewSettings::default())),
    };
    // No waiting for an SFU to register: "no SFU" is one of the refusals tested.
    let relay_config = RelayConfig { sfu_wait: Duration::ZERO, ..RelayConfig::new(SECRET) };
    let relay = Relay::new(relay_config, services.metrics.clone());
    let app = whip_whep::routes(services, relay.clone(), config).merge(relay::routes(relay.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = app.clone();
    tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    Endpoint { app, relay, addr, _dir: dir }
}

async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(WAIT, future).await.expect("timed out waiting for an event")
}

impl Endpoint {
    async fn sfu_socket(&self, path: &str) -> Ws {
        let mut request = format!("ws://{}{path}", self.addr).into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {SECRET}").parse().unwrap());
        within(tokio_tungstenite::connect_async(request)).await.unwrap().0
    }

    /// An SFU's control socket, registered.
    async fn register(&self) -> Ws {
        let mut control = self.sfu_socket("/SFU").await;
        assert_eq!(next_json(&mut control).await["type"], "registered");
        control
    }

    /// Waits for the next `attach` and attaches: the SFU's end of the client's session.
    async fn attach(&self, control: &mut Ws) -> Ws {
        let attach = next_json(control).await;
        assert_eq!((attach["type"].as_str(), attach["stream_id"].as_str()), (Some("attach"), Some(STREAM)));
        self.sfu_socket(&format!("/SFU/attach/{}", attach["client_id"].as_str().unwrap())).await
    }

    /// Sends a request on its own task (the SFU side is scripted meanwhile).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> tokio::task::JoinHandle<Response> {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let app = self.app.clone();
        tokio::spawn(async move { app.oneshot(request).await.unwrap() })
    }

    fn post(&self, path: &str, token: Option<&str>, sdp: &str) -> tokio::task::JoinHandle<Response> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/sdp")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        self.request("POST", path, &headers, sdp)
    }
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Waits until the socket is closed by the relay.
async fn closed(ws: &mut Ws) {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(_)) => {}
        }
    }
}

async fn status_and_body(response: tokio::task::JoinHandle<Response>) -> (StatusCode, String, Option<String>) {
    let response = within(response).await.unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap(), location)
}

fn error_code(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap();
    value["error"]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn whip_frames_go_through_the_relay_verbatim_and_delete_says_bye() {
    let endpoint = start(WhipConfig::default()).await;
    let mut control = endpoint.register().await;
    let post = endpoint.post(&format!("/whip/{STREAM}"), Some("the-token"), "v=0 offer\r\n");
    let mut sfu = endpoint.attach(&mut control).await;
    assert_eq!(next_json(&mut sfu).await, json!({"type": "publish", "token": "the-token", "sdp": "v=0 offer\r\n"}));
    sfu.send(Message::text(r#"{"type":"answer","sdp":"v=0 answer\r\n"}"#)).await.unwrap();
    let (status, body, location) = status_and_body(post).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "v=0 answer\r\n"));
    let location = location.unwrap();
    assert!(location.starts_with(&format!("/whip/{STREAM}/")), "{location}");

    // Frames the SFU sends later (viewer counts) do not end the resource.
    sfu.send(Message::text(r#"{"type":"viewers","count":2}"#)).await.unwrap();
    // The WHEP URL of the same id is another resource.
    let wrong = location.replacen("/whip/", "/whep/", 1);
    let (status, _, _) = status_and_body(endpoint.request("DELETE", &wrong, &[], "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let delete = endpoint.request("DELETE", &location, &[], "");
    assert_eq!(next_json(&mut sfu).await["type"], "bye");
    sfu.close(None).await.unwrap();
    let (status, _, _) = status_and_body(delete).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = status_and_body(endpoint.request("DELETE", &location, &[], "")).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn a_whep_resource_is_forgotten_when_the_sfu_ends_it() {
    let endpoint = start(WhipConfig::default()).await;
    let mut control = endpoint.register().await;
    let post = endpoint.post(&format!("/whep/{STREAM}"), None, "v=0 viewer\r\n");
    let mut sfu = endpoint.attach(&mut control).await;
    assert_eq!(next_json(&mut sfu).await, json!({"type": "view", "sdp": "v=0 viewer\r\n"}));
    sfu.send(Message::text(r#"{"type":"answer","sdp":"v=0 sendonly\r\n"}"#)).await.unwrap();
    let (status, _, location) = status_and_body(post).await;
    assert_eq!(status, StatusCode::CREATED);
    sfu.send(Message::text(r#"{"type":"ended","reason":"the broadcaster left"}"#)).await.unwrap();
    // The endpoint drops the session: the SFU sees its socket closed, and by then the
    // resource is gone.
    closed(&mut sfu).await;
    let (status, _, _) = status_and_body(endpoint.request("DELETE", &location.unwrap(), &[], "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refusals_from_the_sfu_and_the_relay_become_statuses() {
    let config = WhipConfig { answer_timeout: Duration::from_millis(300), max_resources: 1, ..WhipConfig::default() };
    let endpoint = start(config).await;
    let whip = format!("/whip/{STREAM}");

    // Not a live-stream record, or no record at all: 404 before any signalling.
    for path in ["/whip/upload-1", "/whip/nothing", "/whep/upload-1", "/whip/bad%20id"] {
        let (status, body, _) = status_and_body(endpoint.post(path, Some("t"), "v=0\r\n")).await;
        assert_eq!((status, error_code(&body).as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    // No SFU registered: the relay refuses the virtual client as it would a browser.
    let (status, body, _) = status_and_body(endpoint.post(&whip, Some("t"), "v=0\r\n")).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));

    // The SFU's error frames.
    let mut control = endpoint.register().await;
    for (frame, status, code) in [
        (r#"{"type":"error","code":"unauthorized","message":"no"}"#, StatusCode::UNAUTHORIZED, "unauthorized"),
        (r#"{"type":"error","code":"already_live","message":"no"}"#, StatusCode::CONFLICT, "already_live"),
        (r#"{"type":"error","code":"bad_sdp","message":"no m-lines"}"#, StatusCode::BAD_REQUEST, "invalid_input"),
    ] {
        let post = endpoint.post(&whip, Some("t"), "v=0\r\n");
        let mut sfu = endpoint.attach(&mut control).await;
        next_json(&mut sfu).await;
        sfu.send(Message::text(frame)).await.unwrap();
        let (got, body, _) = status_and_body(post).await;
        assert_eq!((got, error_code(&body).as_str()), (status, code), "{frame}");
        // The refused session is closed, not left open.
        closed(&mut sfu).await;
    }

    // A silent SFU: 504 after the answer timeout; meanwhile the cap (1) is taken.
    let post = endpoint.post(&whip, Some("t"), "v=0\r\n");
    let mut sfu = endpoint.attach(&mut control).await;
    next_json(&mut sfu).await;
    let (status, body, _) = status_and_body(endpoint.post(&whip, Some("t"), "v=0\r\n")).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{body}");
    let (status, body, _) = status_and_body(post).await;
    assert_eq!((status, error_code(&body).as_str()), (StatusCode::GATEWAY_TIMEOUT, "media_server_timeout"));
    closed(&mut sfu).await;
}

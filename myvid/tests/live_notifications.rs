//! Live notifications across API processes: two `myvid api` processes on one data
//! directory; a follow made through process A counts for a socket on process B, and
//! a stream going live (written to the shared metadata store, as the SFU does) reaches
//! that socket as `went_live` within 2 s. A socket without a valid token is closed with
//! 4401.

mod support;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use myvid_store::meta::{LiveState, NewVideo, VideoSource, Visibility};
use myvid_store::{MetaStore, SqliteMeta};
use reqwest::Client;
use serde_json::{Value, json};
use support::role::{Role, post};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const SECRETS: [(&str, &str); 3] = [
    ("MYVID_LIVE__SFU_SECRET", "sfu-secret-shared-by-the-roles-0123456789"),
    ("MYVID_LIVE__STREAM_SECRET", "stream-secret-shared-by-the-roles-0123456789"),
    ("MYVID_TURN__SECRET", "turn-secret-shared-by-the-roles-0123456789"),
];

/// The product's bound on a notice (docs/plans/product.md §11).
const WITHIN: Duration = Duration::from_secs(2);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn signup(http: &Client, api: &Role, name: &str) -> String {
    let body =
        json!({"username": name, "email": format!("{name}@example.org"), "password": format!("password-{name}")});
    let res = post(http, format!("{}/v1/auth/signup", api.url), None, body).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn connect(api: &Role) -> Socket {
    let url = format!("{}/v1/me/notifications", api.url.replacen("http", "ws", 1));
    tokio_tungstenite::connect_async(url).await.expect("notification socket").0
}

/// The next JSON frame (pings and pongs skipped), within `within`.
async fn next_json(socket: &mut Socket, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Creates a live stream owned by `owner` (pending) and returns its id.
async fn new_stream(meta: &SqliteMeta, owner: &str, id: &str, title: &str) -> String {
    let owner = meta.user_by_name(owner).await.unwrap().expect("owner exists");
    let video = NewVideo {
        id: id.to_owned(),
        owner_id: Some(owner.id),
        title: title.to_owned(),
        description: String::new(),
        source: VideoSource::Live { state: LiveState::Pending, record: false },
        visibility: Visibility::Private,
        duration_ms: None,
        created_at: now(),
    };
    meta.create_video(video).await.unwrap().id
}

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

#[tokio::test]
async fn a_follower_on_another_api_process_hears_a_stream_go_live_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = Role::start_named("api", "api-a", &data, &SECRETS);
    let b = Role::start_named("api", "api-b", &data, &SECRETS);
    let http = Client::new();
    let alice = signup(&http, &a, "alice").await;
    let bob = signup(&http, &a, "bob").await;
    let meta = SqliteMeta::open(&data.join("meta.sqlite3")).await.unwrap();
    // One stream live before bob connects: it is in `ready`, not a `went_live`.
    let earlier = new_stream(&meta, "alice", "earlierLive1", "Already on").await;
    meta.set_live_state(&earlier, LiveState::Live, None, now()).await.unwrap();

    // Bob follows alice through process A …
    let followed = http.put(format!("{}/v1/channels/alice/follow", a.url)).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(followed.status(), 200, "{}", followed.text().await.unwrap());

    // … and listens on process B.
    let mut socket = connect(&b).await;
    socket.send(Message::text(json!({"type": "auth", "token": bob}).to_string())).await.unwrap();
    let ready = next_json(&mut socket, WITHIN).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    let live = ready["live"].as_array().unwrap();
    assert_eq!(live.len(), 1, "{ready}");
    assert_eq!(live[0]["channel"], "alice");
    assert_eq!(live[0]["video_id"], earlier.as_str());
    // Alice, who follows no one, is told nothing.
    let mut alice_socket = connect(&b).await;
    alice_socket.send(Message::text(json!({"type": "auth", "token": alice}).to_string())).await.unwrap();
    assert_eq!(next_json(&mut alice_socket, WITHIN).await, json!({"type": "ready", "live": []}));

    // Let B's poller take its baseline, then the stream goes live (as the SFU writes it).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let id = new_stream(&meta, "alice", "newLiveShow1", "Evening show").await;
    let went = Instant::now();
    meta.set_live_state(&id, LiveState::Live, None, now()).await.unwrap();
    let notice = next_json(&mut socket, WITHIN).await;
    let latency = went.elapsed();
    assert_eq!(notice["type"], "went_live", "{notice}");
    assert_eq!(notice["channel"], "alice");
    assert_eq!(notice["video_id"], id.as_str());
    assert_eq!(notice["title"], "Evening show");
    assert!(notice["started_at"].as_i64().unwrap() > 0);
    assert!(latency <= WITHIN, "went_live took {latency:?}");
    println!("went_live after {latency:?}");
    assert!(timeout(Duration::from_millis(800), alice_socket.next()).await.is_err(), "a non-follower hears nothing");

    let metrics = http.get(format!("{}/metrics", b.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "myvid_notify_sockets 2"), "{metrics}");
    assert!(metrics.lines().any(|l| l == "myvid_notify_sent_total 1"), "{metrics}");
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_with_4401() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let api = Role::start("api", &data, &SECRETS);
    let mut socket = connect(&api).await;
    socket.send(Message::text(json!({"type": "auth", "token": "not-a-session"}).to_string())).await.unwrap();
    let error = next_json(&mut socket, WITHIN).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "unauthorized");
    let closed = timeout(WITHIN, socket.next()).await.expect("closed in time");
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::from(4401)),
        other => panic!("expected a close frame with 4401, got {other:?}"),
    }

    // A plain GET is not a socket.
    let res = Client::new().get(format!("{}/v1/me/notifications", api.url)).send().await.unwrap();
    assert_eq!(res.status(), 426);
}

#[tokio::test]
async fn a_stopping_api_closes_notification_sockets_with_1001_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut api = Role::start("api", &data, &SECRETS);
    let http = Client::new();
    let carol = signup(&http, &api, "carol").await;
    let mut socket = connect(&api).await;
    socket.send(Message::text(json!({"type": "auth", "token": carol}).to_string())).await.unwrap();
    assert_eq!(next_json(&mut socket, WITHIN).await["type"], "ready");

    let started = Instant::now();
    let reader = tokio::spawn(async move {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                _ => return None,
            }
        }
    });
    assert!(api.stop(Duration::from_secs(5)), "the API exits 0 while a socket was open; log:\n{}", api.log_text());
    assert!(started.elapsed() < Duration::from_secs(3), "the open socket did not hold up the drain");
    assert_eq!(reader.await.unwrap(), Some(CloseCode::Away));
}

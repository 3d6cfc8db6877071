//! Live stream set-up through the API: NEWSTREAM hands a broadcaster where to connect
//! and a publish token; the stream is listed as `WebRTC` only while it is live; viewers
//! get ICE settings. (Going live is done here through the store, as the SFU does.)

mod support;

use myvid_core::live::StreamTokens;
use myvid_store::meta::LiveState;
use myvid_store::{MetaStore, SqliteMeta};
use serde_json::{Value, json};
use support::{TestServer, assert_error};

const SECRET: &str = "stream-secret-for-tests";

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.live.stream_secret = Some(SECRET.into());
        c.live.ice_servers = vec!["stun:stun.example.org:3478".into()];
        // The endpoint's own STUN/TURN entries are covered by turn_ice.rs.
        c.turn.enabled = false;
    })
    .await
}

async fn listed(server: &TestServer, words: &str) -> Vec<Value> {
    server.post_json("/API/VIDEO/", None, json!({ "search": words })).await.json().await.unwrap()
}

#[tokio::test]
async fn newstream_hands_out_urls_and_a_token_that_verifies() {
    let server = server().await;
    let token = server.signup("caster").await;
    let res = server
        .post_json("/API/NEWSTREAM/", Some(&token), json!({"title": "Morning show", "description": "coffee"}))
        .await;
    assert_eq!(res.status(), 200);
    let grant: Value = res.json().await.unwrap();
    let id = grant["stream_id"].as_str().unwrap();
    let ws_base = server.url.replacen("http://", "ws://", 1);
    assert_eq!(grant["endpoint"], server.url.as_str());
    assert_eq!(grant["ws_url"], format!("{ws_base}/ENDPOINT/{id}"));
    assert_eq!(grant["whip_url"], format!("{}/whip/{id}", server.url));
    assert_eq!(grant["whep_url"], format!("{}/whep/{id}", server.url));
    assert_eq!(grant["ice_servers"], json!([{"urls": ["stun:stun.example.org:3478"]}]));
    let publish_token = grant["token"].as_str().unwrap();
    let tokens = StreamTokens::new(SECRET.as_bytes());
    let now = myvid_core::Clock::system().now();
    assert_eq!(tokens.verify(id, publish_token, now), Ok(()));
    assert!(tokens.verify("another-stream", publish_token, now).is_err());

    assert_eq!(grant["record"], true, "recorded unless asked not to be");

    let v1 = server.post_json("/v1/streams", Some(&token), json!({"title": "Evening show"})).await;
    assert_eq!(v1.status(), 201);

    // Opting out of the recording: the grant and the stream's own view say so.
    let res = server.post_json("/API/NEWSTREAM/", Some(&token), json!({"title": "Off air", "record": false})).await;
    let grant: Value = res.json().await.unwrap();
    assert_eq!(grant["record"], false);
    let id = grant["stream_id"].as_str().unwrap();
    let view: Value = server.get(&format!("/API/VIDEO/{id}"), Some(&token)).await.json().await.unwrap();
    assert_eq!(view["record"], false, "{view}");
    let res = server.post_json("/API/NEWSTREAM/", Some(&token), json!({"title": "Odd", "record": "no"})).await;
    assert_eq!(res.status(), 400, "record must be a boolean");
}

#[tokio::test]
async fn streams_are_listed_as_webrtc_only_while_live() {
    let server = server().await;
    let owner = server.signup("caster").await;
    let other = server.signup("viewer").await;
    let grant: Value =
        server.post_json("/API/NEWSTREAM/", Some(&owner), json!({"title": "Platypus cam"})).await.json().await.unwrap();
    let id = grant["stream_id"].as_str().unwrap();
    assert!(listed(&server, "platypus").await.is_empty(), "pending streams are not listed");
    let mine: Value = server.get(&format!("/API/VIDEO/{id}"), Some(&owner)).await.json().await.unwrap();
    assert_eq!(mine["type"], "WebRTC");
    assert_eq!(mine["live_state"], "pending");
    assert_error(server.get(&format!("/API/VIDEO/{id}"), Some(&other)).await, 404, "not_found").await;

    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    meta.set_live_state(id, LiveState::Live, None, 1).await.unwrap();
    let found = listed(&server, "platypus").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["type"], "WebRTC");
    assert_eq!(found[0]["source"], "LIVE");
    assert_eq!(found[0]["live_state"], "live");
    assert_eq!(found[0]["url"], grant["ws_url"]);
    assert_eq!(found[0]["ws_url"], grant["ws_url"]);
    assert_eq!(found[0]["whep_url"], grant["whep_url"]);
    let public: Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    assert_eq!(public["ice_servers"], json!([{"urls": ["stun:stun.example.org:3478"]}]));

    // A live stream cannot be "published" like an upload.
    assert_error(server.post_json(&format!("/API/PUBLISH/{id}"), Some(&owner), json!({})).await, 409, "conflict").await;

    meta.set_live_state(id, LiveState::Ended, None, 2).await.unwrap();
    assert!(listed(&server, "platypus").await.is_empty(), "ended streams are not listed");
}

#[tokio::test]
async fn ice_and_bad_stream_requests() {
    let server = server().await;
    let ice: Value = server.get("/API/ICE", None).await.json().await.unwrap();
    assert_eq!(ice, json!({"ice_servers": [{"urls": ["stun:stun.example.org:3478"]}]}));
    let v1: Value = server.get("/v1/ice", None).await.json().await.unwrap();
    assert_eq!(v1, ice);

    assert_error(server.post_json("/API/NEWSTREAM/", None, json!({"title": "x"})).await, 401, "unauthorized").await;
    let token = server.signup("caster").await;
    for body in [json!({}), json!({"title": ""}), json!({"title": "x".repeat(201)}), json!({"title": 5})] {
        assert_error(server.post_json("/API/NEWSTREAM/", Some(&token), body).await, 400, "invalid_input").await;
    }
}

#[tokio::test]
async fn streams_left_live_by_a_previous_run_are_ended_at_start() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let data_for_first = data.clone();
    let first = TestServer::start_with(move |c| c.data_dir = data_for_first).await;
    let token = first.signup("caster").await;
    let grant: Value =
        first.post_json("/API/NEWSTREAM/", Some(&token), json!({"title": "Crashed cast"})).await.json().await.unwrap();
    let id = grant["stream_id"].as_str().unwrap().to_owned();
    let meta = SqliteMeta::open(&data.join("meta.sqlite3")).await.unwrap();
    meta.set_live_state(&id, LiveState::Live, None, 1).await.unwrap();
    assert_eq!(listed(&first, "crashed").await.len(), 1);
    first.stop().await;

    // A new run on the same data: its SFU is new, so nothing can still be live.
    let second = TestServer::start_with(move |c| c.data_dir = data).await;
    assert!(listed(&second, "crashed").await.is_empty());
    let login: Value = second
        .post_json("/v1/auth/login", None, json!({"credential": "caster", "password": "password-caster"}))
        .await
        .json()
        .await
        .unwrap();
    let owner_view: Value =
        second.get(&format!("/API/VIDEO/{id}"), login["token"].as_str()).await.json().await.unwrap();
    assert_eq!(owner_view["live_state"], "ended");
}

//! Server discovery through the registry in the metadata store, against the real
//! server: the API hands out the least loaded live endpoint, entries that miss their
//! heartbeats drop out, and `myvid dev`'s own endpoint registers and leaves cleanly.

mod support;

use myvid_core::registry::LIVE_WINDOW_SECS;
use myvid_store::{MetaStore, ServerEntry, ServerKind, SqliteMeta};
use serde_json::{Value, json};
use support::TestServer;

async fn beat(meta: &SqliteMeta, id: &str, load: i64, now: i64) {
    let entry = ServerEntry {
        id: id.into(),
        kind: ServerKind::Endpoint,
        url: format!("http://{id}.test:8080"),
        load,
        turn: Some(format!("{id}.test:3478")),
        media: None,
        heartbeat_at: now,
    };
    meta.heartbeat(entry).await.unwrap();
}

async fn new_stream_endpoint(server: &TestServer, token: &str) -> Value {
    let res = server.post_json("/API/NEWSTREAM/", Some(token), json!({ "title": "Discovery" })).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_least_loaded_live_endpoint_is_handed_out_and_silent_ones_drop_out() {
    // Only the API here (no relay, no SFU): the endpoints are registry entries.
    let server = TestServer::start_with(|c| {
        c.live.relay = false;
        c.sfu.enabled = false;
        c.turn.secret = Some("shared-turn-secret-0123456789".into());
    })
    .await;
    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    let token = server.signup("discoverer").await;
    let now = server.clock.now();

    // No endpoint registered: the configured URL (this server's own).
    assert_eq!(new_stream_endpoint(&server, &token).await["endpoint"], server.url.as_str());

    beat(&meta, "busy", 5, now).await;
    beat(&meta, "idle", 1, now).await;
    let grant = new_stream_endpoint(&server, &token).await;
    assert_eq!(grant["endpoint"], "http://idle.test:8080", "least loaded");
    assert!(grant["ws_url"].as_str().unwrap().starts_with("ws://idle.test:8080/ENDPOINT/"), "{grant}");
    assert!(grant["whip_url"].as_str().unwrap().starts_with("http://idle.test:8080/whip/"), "{grant}");
    // The API runs no TURN server: it hands out the least loaded endpoint's, with
    // credentials from the shared secret.
    let ice: Value = server.get("/API/ICE", None).await.json().await.unwrap();
    let turn =
        ice["ice_servers"].as_array().unwrap().iter().find(|s| s["urls"][0].as_str().unwrap().starts_with("turn:"));
    let turn = turn.expect("a TURN server");
    assert_eq!(turn["urls"][0], "turn:idle.test:3478?transport=udp");
    let username = turn["username"].as_str().unwrap();
    assert_eq!(
        turn["credential"].as_str().unwrap(),
        myvid_core::turn_credentials::password(b"shared-turn-secret-0123456789", username)
    );
    let upload = server.post_json("/API/NEWUPLOAD/", Some(&token), json!({})).await;
    assert_eq!(upload.json::<Value>().await.unwrap()["endpoint"], "http://idle.test:8080");

    // A live stream's view lists every live endpoint, least loaded first, for failover.
    let id = grant["stream_id"].as_str().unwrap();
    meta.set_live_state(id, myvid_store::meta::LiveState::Live, None, now).await.unwrap();
    let view: Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    assert_eq!(
        view["ws_urls"],
        json!([format!("ws://idle.test:8080/ENDPOINT/{id}"), format!("ws://busy.test:8080/ENDPOINT/{id}")])
    );
    assert_eq!(view["ws_url"], view["ws_urls"][0]);

    // "idle" stops beating; "busy" goes on: past the live window only "busy" is handed out.
    server.clock.advance(LIVE_WINDOW_SECS + 1);
    beat(&meta, "busy", 5, server.clock.now()).await;
    assert_eq!(new_stream_endpoint(&server, &token).await["endpoint"], "http://busy.test:8080");
    // Both silent: back to the configured URL.
    server.clock.advance(LIVE_WINDOW_SECS + 1);
    assert_eq!(new_stream_endpoint(&server, &token).await["endpoint"], server.url.as_str());
    server.stop().await;
}

#[tokio::test]
async fn dev_registers_its_endpoint_and_sfu_and_removes_them_on_shutdown() {
    let server = TestServer::start().await;
    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    let since = server.clock.now() - LIVE_WINDOW_SECS;
    let endpoints = meta.live_servers(ServerKind::Endpoint, since).await.unwrap();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    assert_eq!(endpoints[0].url, server.url);
    // The SFU's first heartbeat is written as it starts, moments later.
    let mut sfus = Vec::new();
    for _ in 0..50 {
        sfus = meta.live_servers(ServerKind::Sfu, since).await.unwrap();
        if !sfus.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sfus.len(), 1, "the SFU registered");
    assert!(sfus[0].url.starts_with("udp://127.0.0.1:"), "{sfus:?}");
    server.stop().await;
    assert!(meta.live_servers(ServerKind::Endpoint, 0).await.unwrap().is_empty(), "removed on shutdown");
    assert!(meta.live_servers(ServerKind::Sfu, 0).await.unwrap().is_empty(), "removed on shutdown");
}

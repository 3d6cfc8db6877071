//! Chat tokens through the API: the owner of a live stream moderates, a signed-in viewer
//! writes under its name, anonymous callers are refused; only a live (or, for its
//! owner, pending) stream one may view has a chat; an ended one answers
//! `stream_ended`. The tokens verify with the key the SFUs hold.

mod support;

use myvid_core::live::StreamTokens;
use myvid_store::meta::LiveState;
use myvid_store::{MetaStore, SqliteMeta};
use serde_json::{Value, json};
use support::{TestServer, assert_error};

const SECRET: &str = "stream-secret-for-tests";

#[tokio::test]
async fn chat_tokens_for_owner_and_viewers_of_a_live_stream_only() {
    let server = TestServer::start_with(|c| {
        c.live.stream_secret = Some(SECRET.into());
        c.turn.enabled = false;
    })
    .await;
    let owner = server.signup("caster").await;
    let viewer = server.signup("viewer").await;
    let grant: Value =
        server.post_json("/v1/streams", Some(&owner), json!({"title": "Chatty cast"})).await.json().await.unwrap();
    let id = grant["stream_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/streams/{id}/chat-token");

    assert_error(server.post_json(&path, None, json!({})).await, 401, "unauthorized").await;
    // Pending: private to its owner.
    assert_error(server.post_json(&path, Some(&viewer), json!({})).await, 404, "not_found").await;
    assert_error(server.post_json("/v1/streams/nope/chat-token", Some(&viewer), json!({})).await, 404, "not_found")
        .await;

    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    meta.set_live_state(&id, LiveState::Live, None, 1).await.unwrap();
    let tokens = StreamTokens::new(SECRET.as_bytes());
    let now = myvid_core::Clock::system().now();
    for (caller, name, moderator) in [(&owner, "caster", true), (&viewer, "viewer", false)] {
        let res = server.post_json(&path, Some(caller), json!({})).await;
        assert_eq!(res.status(), 200);
        let grant: Value = res.json().await.unwrap();
        assert_eq!((grant["name"].as_str(), grant["moderator"].as_bool()), (Some(name), Some(moderator)), "{grant}");
        let expires_at = grant["expires_at"].as_i64().unwrap();
        assert!((now + 6 * 3600 - 5..=now + 6 * 3600 + 5).contains(&expires_at), "6 hours: {grant}");
        let claims = tokens.verify_chat(&id, grant["token"].as_str().unwrap(), now).expect("the SFU accepts it");
        assert_eq!((claims.name.as_str(), claims.moderator, claims.expires_at), (name, moderator, expires_at));
        assert!(tokens.verify_chat("another-stream", grant["token"].as_str().unwrap(), now).is_err());
    }

    meta.set_live_state(&id, LiveState::Ended, None, 2).await.unwrap();
    assert_error(server.post_json(&path, Some(&owner), json!({})).await, 409, "stream_ended").await;

    // A stored video has no chat.
    let video = server.upload_and_publish(&viewer, "Not live", "").await;
    let video_id = video["id"].as_str().unwrap();
    let res = server.post_json(&format!("/v1/streams/{video_id}/chat-token"), Some(&viewer), json!({})).await;
    assert_error(res, 404, "not_found").await;
}

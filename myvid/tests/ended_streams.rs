//! An ended live stream stays ended, against a real `myvid dev`: publishing to it again
//! with its publish token (still within its lifetime) — by WHIP or over the signalling
//! WebSocket — is refused with `stream_ended`, and its record stays `ended`.

mod support;
mod whip_whep_clients;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use support::{TestServer, assert_error};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use whip_whep_clients::stream::{live_state, new_stream, post_offer, wait_live_state};
use whip_whep_clients::{Broadcaster, WAIT};

/// The first `error` frame the SFU sends on `ws_url` after `publish` with `token` and
/// `offer`, or whatever else it answered.
async fn publish_over_websocket(ws_url: &str, token: &str, offer: &str) -> Value {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.expect("signalling socket");
    let publish = json!({"type": "publish", "token": token, "sdp": offer});
    socket.send(Message::text(publish.to_string())).await.unwrap();
    loop {
        let frame = timeout(WAIT, socket.next()).await.expect("an answer in time").expect("socket open").unwrap();
        if let Message::Text(text) = frame {
            let message: Value = serde_json::from_str(text.as_str()).unwrap();
            // An `answer` would mean the stream is being published again.
            if message["type"] == "error" || message["type"] == "answer" {
                return message;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_stream_cannot_go_live_again() {
    let server = TestServer::start().await;
    let stream = new_stream(&server).await;

    // Live by WHIP, then ended by deleting the WHIP resource.
    let (mut broadcaster, offer) = Broadcaster::new(0x7200_0000).await;
    let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &offer).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let resource = res.headers()[LOCATION].to_str().unwrap().to_owned();
    broadcaster.pc.apply_answer(res.text().await.unwrap()).await;
    broadcaster.pc.connected().await;
    broadcaster.send_media().await;
    wait_live_state(&server, &stream, "live").await;
    broadcaster.stop();
    assert_eq!(server.http.delete(server.at(&resource)).send().await.unwrap().status(), StatusCode::OK);
    wait_live_state(&server, &stream, "ended").await;

    // WHIP again, same token, a good offer: refused.
    let (_again, offer) = Broadcaster::new(0x7300_0000).await;
    let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &offer).await;
    assert_error(res, 409, "stream_ended").await;

    // Over the signalling WebSocket: an `error` frame in plain words.
    let ws_url = format!("{}/ENDPOINT/{}", server.url.replacen("http://", "ws://", 1), stream.id);
    let refused = publish_over_websocket(&ws_url, &stream.token, &offer).await;
    assert_eq!(refused["code"], "stream_ended", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("ended"), "{refused}");

    assert_eq!(live_state(&server, &stream).await, "ended", "the record stays ended");
    let listed: Vec<Value> =
        server.post_json("/API/VIDEO/", None, json!({"search": "WHIP show"})).await.json().await.unwrap();
    assert!(listed.iter().all(|v| v["id"] != stream.id.as_str()), "and unlisted");
    server.stop().await;
}

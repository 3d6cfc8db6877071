//! A live stream as the WHIP/WHEP tests use it: created by NEWSTREAM on a running
//! `myvid dev`, offers posted to its URLs, its recorded live state watched.

use std::time::Duration;

use reqwest::Response;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio::time::timeout;

use super::WAIT;
use crate::support::TestServer;

/// The WHIP/WHEP body type.
pub const SDP: &str = "application/sdp";

/// A stream from NEWSTREAM: its URLs, its publish token and its owner's session.
pub struct Stream {
    pub id: String,
    pub whip_url: String,
    pub whep_url: String,
    pub token: String,
    pub owner: String,
}

/// A pending stream from NEWSTREAM, once the in-process SFU has registered.
pub async fn new_stream(server: &TestServer) -> Stream {
    new_stream_with(server, "caster", json!({"title": "WHIP show"})).await
}

/// A stream created by a new user `owner` with NEWSTREAM body `body`.
pub async fn new_stream_with(server: &TestServer, owner: &str, body: serde_json::Value) -> Stream {
    wait_for_sfu(server).await;
    let owner = server.signup(owner).await;
    let res = server.post_json("/API/NEWSTREAM/", Some(&owner), body).await;
    assert_eq!(res.status(), 200);
    let grant: Value = res.json().await.unwrap();
    let text = |k: &str| grant[k].as_str().unwrap().to_owned();
    Stream {
        id: text("stream_id"),
        whip_url: text("whip_url"),
        whep_url: text("whep_url"),
        token: text("token"),
        owner,
    }
}

/// The SFU dials this server's relay as the server starts: waits (bounded) until the
/// relay's gauge shows it.
pub async fn wait_for_sfu(server: &TestServer) {
    let registered = async {
        loop {
            let metrics = server.get("/metrics", None).await.text().await.unwrap();
            if metrics.lines().any(|l| l.starts_with("myvid_live_sfus ") && !l.ends_with(" 0")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(WAIT, registered).await.expect("the SFU registers in time");
}

/// The stream's recorded `live_state`, as its owner sees it.
pub async fn live_state(server: &TestServer, stream: &Stream) -> String {
    let video: Value =
        server.get(&format!("/API/VIDEO/{}", stream.id), Some(&stream.owner)).await.json().await.unwrap();
    video["live_state"].as_str().unwrap().to_owned()
}

/// Waits (bounded) until the stream's record shows `state`: the SFU records it just after
/// the media event, on its own task.
pub async fn wait_live_state(server: &TestServer, stream: &Stream, state: &str) {
    let reached = async {
        while live_state(server, stream).await != state {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(WAIT, reached).await.unwrap_or_else(|_| panic!("live_state {state} in time"));
}

/// POSTs an SDP offer to a WHIP or WHEP URL, with `token` as the bearer if given.
pub async fn post_offer(server: &TestServer, url: &str, token: Option<&str>, offer: &str) -> Response {
    let mut req = server.http.post(url).header(CONTENT_TYPE, SDP).body(offer.to_owned());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request")
}

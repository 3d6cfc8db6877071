//! WHIP and WHEP against a real `myvid dev` (endpoint, relay and in-process SFU on
//! loopback): a `webrtc`-crate broadcaster publishes by WHIP with the NEWSTREAM token, a
//! WHEP viewer receives its video, and deleting the WHIP resource ends the viewer's
//! session and the stream's record. A stream created with `"record": false` is not
//! recorded while the default one is. Then every refusal with its status.

mod support;
mod whip_whep_clients;

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ALLOW, CONTENT_TYPE, LOCATION, ORIGIN,
};
use reqwest::{Response, StatusCode};
use serde_json::json;
use support::{TestServer, assert_error};
use whip_whep_clients::stream::{SDP, new_stream, new_stream_with, post_offer, wait_live_state};
use whip_whep_clients::{Broadcaster, Watcher};

/// Half a second of video: 15 frames of 2 packets, plus the first keyframe's extras.
const HALF_SECOND: usize = 36;

/// Checks a 201 and returns (Location, answer).
async fn created(res: Response, prefix: &str) -> (String, String) {
    assert_eq!(res.status(), StatusCode::CREATED);
    let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header(CONTENT_TYPE), SDP);
    assert_eq!(header(ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(header(ACCESS_CONTROL_EXPOSE_HEADERS).contains("Location"));
    let location = header(LOCATION);
    assert!(location.starts_with(prefix), "{location} under {prefix}");
    let answer = res.text().await.unwrap();
    assert!(answer.contains("a=ice-lite") && answer.contains("a=candidate:"), "{answer}");
    (location, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whip_broadcast_reaches_a_whep_viewer_until_it_is_deleted() {
    let server = TestServer::start().await;
    let stream = new_stream(&server).await;
    assert_eq!(stream.whip_url, server.at(&format!("/whip/{}", stream.id)));

    // The broadcaster: WHIP offer with the NEWSTREAM token → 201, answer, connected, media.
    let (mut broadcaster, offer) = Broadcaster::new(0x7000_0000).await;
    let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &offer).await;
    let (whip_resource, answer) = created(res, &format!("/whip/{}/", stream.id)).await;
    broadcaster.pc.apply_answer(answer).await;
    broadcaster.pc.connected().await;
    broadcaster.send_media().await;
    wait_live_state(&server, &stream, "live").await;

    // One broadcaster per stream.
    let (_second, second_offer) = Broadcaster::new(0x7100_0000).await;
    let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &second_offer).await;
    assert_error(res, 409, "already_live").await;

    // The viewer: WHEP offer, no token → 201, answer, connected, continuous video.
    let (mut watcher, offer) = Watcher::new().await;
    let res = post_offer(&server, &stream.whep_url, None, &offer).await;
    let (whep_resource, answer) = created(res, &format!("/whep/{}/", stream.id)).await;
    assert!(answer.contains("a=sendonly"), "{answer}");
    watcher.pc.apply_answer(answer).await;
    watcher.pc.connected().await;
    watcher.wait_video(HALF_SECOND).await;
    let received = watcher.assert_continuous();
    assert!(watcher.video.lock().unwrap().iter().all(|p| p.0 != 0x7000_0000), "the viewer has its own SSRC");

    // Trickle and ICE restarts are refused; the resource stays.
    let res = server.http.patch(server.at(&whip_resource)).header(CONTENT_TYPE, "application/trickle-ice-sdpfrag");
    let res = res.body("a=end-of-candidates\r\n").send().await.unwrap();
    assert_eq!(res.headers()[ALLOW], "DELETE, OPTIONS");
    assert_error(res, 405, "method_not_allowed").await;

    // Deleting the WHIP resource ends the broadcast: the viewer's session ends, the
    // record goes to `ended`, and both resources are forgotten.
    broadcaster.stop();
    let res = server.http.delete(server.at(&whip_resource)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let state = watcher.pc.ended().await;
    wait_live_state(&server, &stream, "ended").await;
    assert_error(server.http.delete(server.at(&whip_resource)).send().await.unwrap(), 404, "not_found").await;
    println!("WHEP viewer: {received} consecutive video packets from a keyframe; then its connection went {state}");
    drop(whep_resource);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_created_with_record_false_is_not_recorded() {
    let server = TestServer::start().await;
    let recorded = new_stream_with(&server, "recorded", json!({"title": "On the record"})).await;
    let unrecorded = new_stream_with(&server, "unrecorded", json!({"title": "Off", "record": false})).await;
    let staging = server.dir.path().join("data/objects/staging/recordings");
    let header = |id: &str| staging.join(id).join("r1/000000.webm");
    let mut broadcasters = Vec::new();
    // The unrecorded stream starts first: by the time the other is recorded, it has been
    // publishing longer.
    for (n, stream) in [&unrecorded, &recorded].into_iter().enumerate() {
        let (mut broadcaster, offer) = Broadcaster::new(0x7200_0000 + 0x100 * n as u32).await;
        let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &offer).await;
        let (resource, answer) = created(res, &format!("/whip/{}/", stream.id)).await;
        broadcaster.pc.apply_answer(answer).await;
        broadcaster.pc.connected().await;
        broadcaster.send_media().await;
        wait_live_state(&server, stream, "live").await;
        broadcasters.push((broadcaster, resource));
    }
    // The recorded stream's header segment is stored at its first keyframe.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !header(&recorded.id).exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the default stream is recorded: no {:?}",
            header(&recorded.id)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The other, publishing since before, has stored nothing.
    assert!(!staging.join(&unrecorded.id).exists(), "a stream created with record: false is not recorded");
    // Both broadcasts end (a live one would hold the server's shutdown for its drain).
    for (broadcaster, resource) in &broadcasters {
        broadcaster.stop();
        assert_eq!(server.http.delete(server.at(resource)).send().await.unwrap().status(), StatusCode::OK);
    }
    server.stop().await;
}

#[tokio::test]
async fn whip_and_whep_refusals_have_their_statuses() {
    let server = TestServer::start().await;
    let stream = new_stream(&server).await;
    let offer = "v=0\r\n";
    let unknown = server.at("/whip/no-such-stream");

    assert_error(post_offer(&server, &stream.whip_url, Some("wrong-token"), offer).await, 401, "unauthorized").await;
    assert_error(post_offer(&server, &stream.whip_url, None, offer).await, 401, "unauthorized").await;
    assert_error(post_offer(&server, &unknown, Some(&stream.token), offer).await, 404, "not_found").await;
    assert_error(post_offer(&server, &server.at("/whep/no-such-stream"), None, offer).await, 404, "not_found").await;
    // Known but nobody broadcasts: nothing to watch.
    assert_error(post_offer(&server, &stream.whep_url, None, offer).await, 404, "not_found").await;

    let json = server.http.post(&stream.whip_url).bearer_auth(&stream.token).json(&json!({"sdp": offer}));
    assert_error(json.send().await.unwrap(), 415, "unsupported_media_type").await;
    let bare = server.http.post(&stream.whep_url).body(offer);
    assert_error(bare.send().await.unwrap(), 415, "unsupported_media_type").await;
    let huge = format!("v=0\r\n{}", "a=x\r\n".repeat(8_000));
    assert_error(post_offer(&server, &stream.whip_url, Some(&stream.token), &huge).await, 413, "payload_too_large")
        .await;

    let resource = server.at(&format!("/whip/{}/nope", stream.id));
    assert_error(server.http.delete(&resource).send().await.unwrap(), 404, "not_found").await;
    assert_error(
        server.http.delete(server.at(&format!("/whep/{}/nope", stream.id))).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let patch = server.http.patch(&resource).header(CONTENT_TYPE, "application/trickle-ice-sdpfrag").body("");
    let res = patch.send().await.unwrap();
    assert_eq!(res.headers()[ALLOW], "DELETE, OPTIONS");
    assert_error(res, 405, "method_not_allowed").await;
    let res = server.http.get(&stream.whip_url).send().await.unwrap();
    assert_eq!(res.headers()[ALLOW], "POST, OPTIONS");
    assert_error(res, 405, "method_not_allowed").await;

    // CORS preflight, as a WHEP player on another site sends it.
    for url in [stream.whip_url.clone(), stream.whep_url.clone(), resource.clone()] {
        let preflight = server
            .http
            .request(reqwest::Method::OPTIONS, &url)
            .header(ORIGIN, "https://player.example.org")
            .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{url}: {}", preflight.status());
        let header = |name| preflight.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(header(ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        for method in ["POST", "DELETE", "PATCH"] {
            assert!(header(ACCESS_CONTROL_ALLOW_METHODS).contains(method), "{url}: {method}");
        }
        for name in ["Content-Type", "Authorization"] {
            assert!(header(ACCESS_CONTROL_ALLOW_HEADERS).contains(name), "{url}: {name}");
        }
        assert!(header(ACCESS_CONTROL_EXPOSE_HEADERS).contains("Location"));
    }
    // Error answers carry CORS too, so that a player can read them.
    let res = post_offer(&server, &unknown, Some(&stream.token), offer).await;
    assert_eq!(res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    server.stop().await;
}

//! Adaptive playback of a stored video, end to end in one `myvid dev`: publish → the
//! worker makes the ladder → `GET /v1/videos/{id}/transcode` reports it → the video
//! carries a signed `hls_url` whose master and variant playlists the API serves, the
//! variant's segments being presigned object URLs that play. A tampered or expired
//! playback path is refused, and so is a rendition the video does not have.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{TestServer, assert_error};

/// Waits for video `id`'s transcode to end (READY or FAILED).
async fn transcoded(server: &TestServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status: Value = server.get(&format!("/v1/videos/{id}/transcode"), None).await.json().await.unwrap();
        if status["state"] == "READY" || status["state"] == "FAILED" {
            return status;
        }
        assert!(Instant::now() < deadline, "not transcoded within a minute: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_video_plays_as_signed_hls_once_transcoded() {
    let server = TestServer::start_with(|config| {
        config.worker.enabled = true;
        config.worker.preset = "ultrafast".into();
        config.worker.threads = 1;
        config.worker.nice = 0;
        config.worker.poll_ms = 100;
    })
    .await;
    let token = server.signup("hlsfan").await;
    let video = server.upload_and_publish(&token, "Ladder", "").await;
    let id = video["id"].as_str().unwrap();
    assert_eq!(video["transcode"], "processing");
    assert!(video.get("hls_url").is_none(), "no HLS before it is ready");

    let status = transcoded(&server, id).await;
    assert_eq!(status["state"], "READY", "{status}");
    assert_eq!((status["percent"].as_u64(), status["attempts"].as_u64()), (Some(100), Some(1)), "{status}");
    // The test clip is 160×120: one rung, at its own size.
    let rendition = &status["renditions"][0];
    assert_eq!((rendition["name"].as_str(), rendition["width"].as_u64()), (Some("120p"), Some(160)), "{status}");

    let video: Value = server.get(&format!("/v1/videos/{id}"), None).await.json().await.unwrap();
    assert_eq!(video["transcode"], "ready");
    let master_url = video["hls_url"].as_str().expect("an HLS URL");
    assert!(master_url.starts_with(&format!("{}/playback/hls/{id}/", server.url)), "{master_url}");
    let master = server.http.get(master_url).send().await.unwrap();
    assert_eq!(master.status(), 200);
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(master.headers()["x-content-type-options"], "nosniff");
    let master = master.text().await.unwrap();
    assert!(master.contains("#EXT-X-STREAM-INF") && master.contains("120p/index.m3u8"), "{master}");

    let variant_url = master_url.replace("master.m3u8", "120p/index.m3u8");
    let variant = server.http.get(&variant_url).send().await.unwrap().text().await.unwrap();
    assert!(variant.contains("#EXT-X-ENDLIST"), "{variant}");
    let uris: Vec<&str> = variant
        .lines()
        .filter_map(|l| if l.starts_with("#EXT-X-MAP:URI=\"") { l.split('"').nth(1) } else { Some(l) })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(uris.len() >= 2, "an init segment and media segments: {variant}");
    for uri in &uris {
        assert!(uri.contains("/objects/videos/") && uri.contains("sig="), "presigned: {uri}");
        let got = server.http.get(*uri).send().await.unwrap();
        assert_eq!(got.status(), 200, "{uri}");
        assert_eq!(got.headers()["content-type"], "video/mp4", "{uri}");
    }

    // Refused: a changed signature, another video's path, a rendition it lacks.
    let (prefix, sig_and_rest) =
        master_url.rsplit_once("/master.m3u8").map(|(p, _)| p.rsplit_once('/').unwrap()).unwrap();
    let tampered =
        format!("{prefix}/{}{}/master.m3u8", if sig_and_rest.starts_with('0') { "1" } else { "0" }, &sig_and_rest[1..]);
    assert_error(server.http.get(&tampered).send().await.unwrap(), 403, "signature_invalid").await;
    let other = master_url.replace(&format!("/hls/{id}/"), "/hls/someoneelse/");
    assert_error(server.http.get(&other).send().await.unwrap(), 403, "signature_invalid").await;
    let missing = master_url.replace("master.m3u8", "1080p/index.m3u8");
    assert_error(server.http.get(&missing).send().await.unwrap(), 404, "not_found").await;
    let garbage = format!("{}/playback/hls/{id}/soon/abc/master.m3u8", server.url);
    assert_error(server.http.get(&garbage).send().await.unwrap(), 403, "signature_invalid").await;

    // Expired: two days later (past the hour's end plus the 24 h URL lifetime).
    server.clock.advance(2 * 24 * 3600);
    assert_error(server.http.get(master_url).send().await.unwrap(), 403, "url_expired").await;
    server.stop().await;
}

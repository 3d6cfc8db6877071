//! `myvid api` and `myvid endpoint` on a real erasure-coded S3 store (Ceph RGW, EC 4+2,
//! `tools/ceph-harness`): upload URLs name the store, not MyVid; publishing copies
//! and checks the media inside the store; playback URLs name the store; an upload over
//! its size limit, which a presigned PUT cannot stop, is refused at publish and deleted;
//! a `myvid worker` transcodes the published video into HLS renditions stored in the
//! store, whose segment URLs name the store.

mod support;

use myvid_ceph_harness::S3Store;
use reqwest::Client;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::role::post;
use support::s3::{env, grant, sign_up, start};
use support::{media, read};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_playback_go_straight_to_the_store() {
    let s3 = S3Store::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = env(&s3, &[("MYVID_UPLOADS__MAX_PREVIEW_BYTES", "200000")]);
    let endpoint = start("endpoint", &data, &env);
    let api = start("api", &data, &env);
    let http = Client::new();

    let token = sign_up(&http, &api, "stella").await;

    let upload = grant(&http, &endpoint.url, &token, "Stored on Ceph").await;
    for (field, file) in [("preview_upload_url", &media().preview), ("video_upload_url", &media().clip)] {
        let url = upload[field].as_str().unwrap();
        assert!(url.starts_with(&s3.endpoint()), "{field} names the store: {url}");
        assert_eq!(http.put(url).body(read(file)).send().await.unwrap().status(), 200);
    }
    let id = upload["id"].as_str().unwrap();
    let published = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(published.status(), 200, "publish: {}", published.text().await.unwrap());

    let video: Value = http.get(format!("{}/API/VIDEO/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    let url = video["url"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint()), "playback names the store: {url}");
    let played = http.get(url).send().await.unwrap();
    assert_eq!(played.status(), 200);
    assert_eq!(played.bytes().await.unwrap().as_ref(), read(&media().clip).as_slice());
    let found: Vec<Value> =
        post(&http, format!("{}/API/VIDEO/", api.url), None, json!({"search": "ceph"})).await.json().await.unwrap();
    assert_eq!(found.len(), 1);

    renditions_land_in_the_store(&http, &s3, &data, &api, id).await;

    // A preview over its 200,000-byte limit gets through the presigned PUT, but not
    // through publishing, which deletes it.
    let upload = grant(&http, &endpoint.url, &token, "Too big").await;
    let big = vec![0x42u8; 300_000];
    assert_eq!(http.put(upload["preview_upload_url"].as_str().unwrap()).body(big).send().await.unwrap().status(), 200);
    let video_url = upload["video_upload_url"].as_str().unwrap();
    assert_eq!(http.put(video_url).body(read(&media().clip)).send().await.unwrap().status(), 200);
    let id = upload["id"].as_str().unwrap();
    let refused = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(refused.status(), 413);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    // The oversized preview was deleted: publishing again takes a frame of the video.
    let again = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(again.status(), 200, "published without the deleted preview");
    let video: Value = again.json().await.unwrap();
    let preview = http.get(video["preview_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(preview.headers()["content-type"], "image/jpeg", "a preview made from the video");
}

/// A worker makes the published video `id` into HLS in the S3 store: its playlists
/// (served by the API) name segments in the store, which serve them as `video/mp4`,
/// and ffprobe reads H.264 from a rendition's init and first segment.
async fn renditions_land_in_the_store(http: &Client, s3: &S3Store, data: &Path, api: &support::role::Role, id: &str) {
    let fast =
        [("MYVID_WORKER__PRESET", "ultrafast"), ("MYVID_WORKER__THREADS", "1"), ("MYVID_WORKER__POLL_MS", "200")];
    let worker = start("worker", data, &env(s3, &fast));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        let status: Value =
            http.get(format!("{}/v1/videos/{id}/transcode", api.url)).send().await.unwrap().json().await.unwrap();
        if status["state"] == "READY" || status["state"] == "FAILED" {
            break status;
        }
        assert!(Instant::now() < deadline, "not transcoded in time: {status}\n{}", worker.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(status["state"], "READY", "{status}\n{}", worker.log_text());
    let rendition = status["renditions"][0]["name"].as_str().expect("a rendition").to_owned();

    let video: Value = http.get(format!("{}/v1/videos/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    let master_url = video["hls_url"].as_str().expect("an HLS URL once ready");
    let master = http.get(master_url).send().await.unwrap();
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert!(master.text().await.unwrap().contains(&format!("{rendition}/index.m3u8")));
    let variant_url = master_url.replace("master.m3u8", &format!("{rendition}/index.m3u8"));
    let variant = http.get(&variant_url).send().await.unwrap().text().await.unwrap();
    let map = variant.split("URI=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("an EXT-X-MAP URI");
    let segments: Vec<&str> = variant.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(!segments.is_empty());
    let mut fragment = Vec::new();
    for url in std::iter::once(map).chain(segments.iter().copied().take(1)) {
        assert!(url.starts_with(&s3.endpoint()), "segments are fetched from the store: {url}");
        let got = http.get(url).send().await.unwrap();
        assert_eq!(got.status(), 200, "{url}");
        assert_eq!(got.headers()["content-type"], "video/mp4", "{url}");
        fragment.extend_from_slice(&got.bytes().await.unwrap());
    }
    let file = data.with_file_name("fragment.mp4");
    std::fs::write(&file, &fragment).unwrap();
    let probed = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&probed.stdout).contains("h264"), "{probed:?}");
}

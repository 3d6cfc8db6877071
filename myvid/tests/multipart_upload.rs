//! Resumable uploads in parts (`/v1/uploads/{id}/multipart`) against the embedded
//! store: a video sent in parts through presigned part URLs, interrupted, resumed from
//! the status, completed and published; and the refusals (someone else's video, bad
//! sizes and part numbers, missing parts, unknown or aborted uploads).

mod support;

use std::path::Path;
use std::process::Command;

use myvid_store::objects::MIN_PART_BYTES;
use reqwest::Response;
use serde_json::{Value, json};
use support::{TestServer, assert_error, media, read};

/// A real WebM of more than two minimum-size parts: noise does not compress.
fn big_clip(dir: &Path) -> Vec<u8> {
    let out = dir.join("noise.webm");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=3:size=640x480:rate=25,noise=alls=100:allf=t")
        .args(["-c:v", "libvpx", "-b:v", "60M", "-minrate", "60M", "-maxrate", "60M", "-qmin", "0", "-qmax", "4"])
        .arg(&out)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed");
    let bytes = read(&out);
    assert!(bytes.len() as u64 > 2 * MIN_PART_BYTES, "the clip is only {} bytes", bytes.len());
    bytes
}

fn multipart(id: &str) -> String {
    format!("/v1/uploads/{id}/multipart")
}

async fn status(server: &TestServer, token: &str, id: &str, upload_id: &str) -> Response {
    server.get(&format!("{}?upload_id={upload_id}", multipart(id)), Some(token)).await
}

async fn part_urls(server: &TestServer, token: &str, id: &str, body: Value) -> Response {
    server.post_json(&format!("{}/parts", multipart(id)), Some(token), body).await
}

async fn start(server: &TestServer, token: &str, id: &str, size: Value) -> Response {
    server.post_json(&multipart(id), Some(token), json!({"size": size})).await
}

async fn delete(server: &TestServer, token: &str, path: &str) -> Response {
    server.http.delete(server.at(path)).bearer_auth(token).send().await.expect("request")
}

/// Sends parts `numbers` of `bytes` (cut by `part_size`) through fresh part URLs.
async fn send_parts(
    server: &TestServer,
    token: &str,
    id: &str,
    upload_id: &str,
    bytes: &[u8],
    part_size: usize,
    numbers: &[u32],
) {
    let body = json!({"upload_id": upload_id, "size": bytes.len(), "parts": numbers});
    let res = part_urls(server, token, id, body).await;
    assert_eq!(res.status(), 200);
    let urls: Value = res.json().await.unwrap();
    for part in urls["parts"].as_array().unwrap() {
        let n = part["number"].as_u64().unwrap() as usize;
        let chunk = bytes[(n - 1) * part_size..(n * part_size).min(bytes.len())].to_vec();
        let put = server.put_bytes(part["url"].as_str().unwrap(), chunk).await;
        assert_eq!(put.status(), 200, "part {n}: {}", put.text().await.unwrap());
        assert!(put.headers().contains_key("etag"), "a part answer carries its ETag");
    }
}

#[tokio::test]
async fn a_video_sent_in_parts_resumes_from_the_status_completes_and_publishes() {
    let server = TestServer::start_with(|c| c.uploads.part_size = MIN_PART_BYTES).await;
    let clip = big_clip(server.dir.path());
    let token = server.signup("carol").await;
    let grant = server.new_upload(&token, "Noise in parts", "").await;
    assert_eq!(grant["multipart_threshold"], 64 << 20);
    assert_eq!(grant["part_size"], MIN_PART_BYTES);
    let id = grant["id"].as_str().unwrap();
    let preview_url = grant["preview_upload_url"].as_str().unwrap();
    assert_eq!(server.put_bytes(preview_url, read(&media().preview)).await.status(), 200);

    let res = server.post_json(&multipart(id), Some(&token), json!({"size": clip.len()})).await;
    assert_eq!(res.status(), 201);
    let started: Value = res.json().await.unwrap();
    let upload_id = started["upload_id"].as_str().unwrap().to_owned();
    let part_size = started["part_size"].as_u64().unwrap() as usize;
    let part_count = started["part_count"].as_u64().unwrap() as u32;
    assert_eq!(part_size as u64, MIN_PART_BYTES);
    assert_eq!(part_count as usize, clip.len().div_ceil(part_size));

    // The first part goes up, then the connection "drops".
    send_parts(&server, &token, id, &upload_id, &clip, part_size, &[1]).await;
    let held: Value = status(&server, &token, id, &upload_id).await.json().await.unwrap();
    let held = held["parts"].as_array().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!((held[0]["number"].as_u64(), held[0]["size"].as_u64()), (Some(1), Some(part_size as u64)));

    let complete = json!({"upload_id": upload_id, "size": clip.len()});
    let path = format!("{}/complete", multipart(id));
    let msg =
        assert_error(server.post_json(&path, Some(&token), complete.clone()).await, 409, "upload_incomplete").await;
    assert!(msg.contains("missing parts 2"), "{msg}");

    // Resumed: only the parts the store lacks.
    let rest: Vec<u32> = (2..=part_count).collect();
    send_parts(&server, &token, id, &upload_id, &clip, part_size, &rest).await;
    let res = server.post_json(&path, Some(&token), complete.clone()).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!((done["id"].as_str(), done["size"].as_u64()), (Some(id), Some(clip.len() as u64)));
    assert_error(status(&server, &token, id, &upload_id).await, 404, "upload_not_found").await;

    let res = server.post_json(&format!("/v1/videos/{id}/publish"), Some(&token), json!({})).await;
    assert_eq!(res.status(), 200, "publish: {}", res.text().await.unwrap());
    let video: Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    let served = server.http.get(video["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(served.as_ref() == clip.as_slice(), "the published video is the file sent in parts");

    // Published: no more uploads to it.
    let again = server.post_json(&multipart(id), Some(&token), json!({"size": 10})).await;
    assert_error(again, 409, "conflict").await;
    server.stop().await;
}

#[tokio::test]
async fn multipart_calls_refuse_strangers_bad_sizes_bad_parts_and_unknown_uploads() {
    let server = TestServer::start_with(|c| {
        c.uploads.max_video_bytes = 100 << 20;
        c.uploads.part_size = MIN_PART_BYTES;
    })
    .await;
    let alice = server.signup("alice").await;
    let bob = server.signup("bob").await;
    let grant = server.new_upload(&alice, "Private draft", "").await;
    let id = grant["id"].as_str().unwrap();

    assert_error(start(&server, &bob, id, json!(10)).await, 404, "not_found").await;
    assert_error(server.post_json(&multipart(id), None, json!({"size": 10})).await, 401, "unauthorized").await;
    assert_error(start(&server, &alice, id, json!(0)).await, 400, "invalid_input").await;
    assert_error(start(&server, &alice, id, json!(-1)).await, 400, "invalid_input").await;
    assert_error(start(&server, &alice, id, json!((100u64 << 20) + 1)).await, 413, "payload_too_large").await;
    assert_error(server.post_json(&multipart("nosuchvideo"), Some(&alice), json!({"size": 1})).await, 404, "not_found")
        .await;

    let size = 6 << 20; // part 1: 5 MiB; part 2: 1 MiB
    let res = start(&server, &alice, id, json!(size)).await;
    assert_eq!(res.status(), 201);
    let started: Value = res.json().await.unwrap();
    assert_eq!((started["part_size"].as_u64(), started["part_count"].as_u64()), (Some(5 << 20), Some(2)));
    let upload_id = started["upload_id"].as_str().unwrap().to_owned();

    let ask = |token: String, parts: Value| {
        let body = json!({"upload_id": upload_id, "size": size, "parts": parts});
        let (server, id) = (&server, id);
        async move { part_urls(server, &token, id, body).await }
    };
    for bad in [json!([]), json!([0]), json!([3]), json!((1..=101).collect::<Vec<u32>>())] {
        assert_error(ask(alice.clone(), bad).await, 400, "invalid_input").await;
    }
    assert_error(ask(bob.clone(), json!([1])).await, 404, "not_found").await;
    let unknown = part_urls(&server, &alice, id, json!({"upload_id": "nosuchupload", "size": size, "parts": [1]}));
    assert_error(unknown.await, 404, "upload_not_found").await;
    assert_error(status(&server, &alice, id, "nosuchupload").await, 404, "upload_not_found").await;
    assert_error(status(&server, &alice, id, "bad%20id").await, 400, "invalid_input").await;
    assert_error(server.get(&multipart(id), Some(&alice)).await, 400, "invalid_input").await;
    assert_error(status(&server, &bob, id, &upload_id).await, 404, "not_found").await;

    // Each part URL takes at most its part's bytes.
    let urls: Value = ask(alice.clone(), json!([2])).await.json().await.unwrap();
    let url = urls["parts"][0]["url"].as_str().unwrap();
    assert_eq!(server.put_bytes(url, vec![7; (1 << 20) + 1]).await.status(), 413);

    // Completion names what is missing; a short last part counts as missing.
    let urls: Value = ask(alice.clone(), json!([2])).await.json().await.unwrap();
    let url = urls["parts"][0]["url"].as_str().unwrap();
    assert_eq!(server.put_bytes(url, vec![7; 1000]).await.status(), 200);
    let complete = json!({"upload_id": upload_id, "size": size});
    let path = format!("{}/complete", multipart(id));
    let msg =
        assert_error(server.post_json(&path, Some(&alice), complete.clone()).await, 409, "upload_incomplete").await;
    assert!(msg.contains("missing parts 1") && msg.contains("parts 2 are shorter"), "{msg}");
    assert_error(server.post_json(&path, Some(&bob), complete.clone()).await, 404, "not_found").await;

    // Abort: the upload is gone, and aborting again is fine.
    let abort = format!("{}?upload_id={upload_id}", multipart(id));
    assert_eq!(delete(&server, &bob, &abort).await.status(), 404);
    assert_eq!(delete(&server, &alice, &abort).await.status(), 204);
    assert_error(status(&server, &alice, id, &upload_id).await, 404, "upload_not_found").await;
    assert_error(server.post_json(&path, Some(&alice), complete).await, 404, "upload_not_found").await;
    assert_eq!(delete(&server, &alice, &abort).await.status(), 204);

    // A client that lies about the size can store parts beyond the end: completing
    // drops the upload.
    let res = start(&server, &alice, id, json!(size)).await;
    let upload_id = res.json::<Value>().await.unwrap()["upload_id"].as_str().unwrap().to_owned();
    let body = json!({"upload_id": upload_id, "size": 11 << 20, "parts": [3]});
    let urls: Value = part_urls(&server, &alice, id, body).await.json().await.unwrap();
    assert_eq!(server.put_bytes(urls["parts"][0]["url"].as_str().unwrap(), vec![1; 1 << 20]).await.status(), 200);
    let complete = json!({"upload_id": upload_id, "size": size});
    let msg = assert_error(server.post_json(&path, Some(&alice), complete).await, 413, "payload_too_large").await;
    assert!(msg.contains("beyond the file's end (3)"), "{msg}");
    assert_error(status(&server, &alice, id, &upload_id).await, 404, "upload_not_found").await;
    server.stop().await;
}

//! The VOD path: upload through presigned URLs, check the file before publishing,
//! publish (with the checks that refuse missing, empty or non-video files; a missing
//! preview is made from a frame), then the video is public and plays.

mod support;

use serde_json::{Value, json};
use support::{TestServer, assert_error, media, read};

#[tokio::test]
async fn upload_publish_search_get_and_play() {
    let server = TestServer::start().await;
    let token = server.signup("alice").await;
    let video = server.upload_and_publish(&token, "Galera in practice", "Replication war stories").await;
    let id = video["id"].as_str().unwrap();
    assert_eq!(video["visibility"], "public");
    assert_eq!(video["type"], "HTTP");
    assert_eq!(video["source"], "MYVID");
    assert_eq!(video["owner"], "alice");
    assert_eq!(video["duration_seconds"], 2.0);

    let found: Vec<Value> =
        server.post_json("/API/VIDEO/", None, json!({"search": "galera"})).await.json().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    for field in ["id", "title", "description", "type", "preview_url"] {
        assert!(!found[0][field].is_null(), "search items carry {field}");
    }

    let got: Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    assert_eq!(got["title"], "Galera in practice");
    let url = got["url"].as_str().unwrap();
    let clip = read(&media().clip);
    let full = server.http.get(url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "video/webm");
    assert_eq!(full.bytes().await.unwrap().as_ref(), clip.as_slice());

    let part = server.http.get(url).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &clip[10..20]);

    let preview = server.http.get(got["preview_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "image/jpeg", "previews are served as the server's own JPEG");

    // Publishing again is harmless.
    let again = server.post_json(&format!("/API/PUBLISH/{id}"), Some(&token), json!({})).await;
    assert_eq!(again.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn publish_refuses_missing_empty_and_non_video_files() {
    let server = TestServer::start().await;
    let token = server.signup("bob").await;
    let grant = server.new_upload(&token, "Not yet", "").await;
    let id = grant["id"].as_str().unwrap();
    let path = format!("/API/PUBLISH/{id}");
    let publish = || server.post_json(&path, Some(&token), json!({}));

    let msg = assert_error(publish().await, 409, "upload_incomplete").await;
    assert!(msg.contains("video file"), "{msg}");

    let preview_url = grant["preview_upload_url"].as_str().unwrap();
    let video_url = grant["video_upload_url"].as_str().unwrap();
    assert_eq!(server.put_bytes(preview_url, read(&media().preview)).await.status(), 200);
    let msg = assert_error(publish().await, 409, "upload_incomplete").await;
    assert!(msg.contains("video"), "{msg}");

    assert_eq!(server.put_bytes(video_url, Vec::new()).await.status(), 200);
    let msg = assert_error(publish().await, 409, "upload_incomplete").await;
    assert!(msg.contains("empty"), "{msg}");

    assert_eq!(server.put_bytes(video_url, b"this is plain text, not a video".to_vec()).await.status(), 200);
    assert_error(publish().await, 422, "not_a_video").await;

    assert_eq!(server.put_bytes(video_url, read(&media().preview)).await.status(), 200);
    let msg = assert_error(publish().await, 422, "not_a_video").await;
    assert!(msg.contains("image"), "{msg}");

    // Still private: neither searchable nor visible to others.
    let found: Vec<Value> = server.post_json("/API/VIDEO/", None, json!({"search": "yet"})).await.json().await.unwrap();
    assert!(found.is_empty());
    assert_error(server.get(&format!("/API/VIDEO/{id}"), None).await, 404, "not_found").await;

    // A real clip fixes it.
    assert_eq!(server.put_bytes(video_url, read(&media().clip)).await.status(), 200);
    assert_eq!(publish().await.status(), 200);
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_publish_refused_total 5"), "{metrics}");
    assert!(metrics.contains("myvid_videos_published_total 1"), "{metrics}");
}

#[tokio::test]
async fn only_the_owner_publishes_and_uploading_needs_an_account() {
    let server = TestServer::start().await;
    let owner = server.signup("owner").await;
    let other = server.signup("other").await;
    let grant = server.new_upload(&owner, "Mine", "").await;
    let id = grant["id"].as_str().unwrap();
    // Someone else's private video does not exist for them.
    assert_error(server.post_json(&format!("/API/PUBLISH/{id}"), Some(&other), json!({})).await, 404, "not_found")
        .await;
    let public = server.upload_and_publish(&owner, "Public one", "").await;
    let public_id = public["id"].as_str().unwrap();
    let res = server.post_json(&format!("/API/PUBLISH/{public_id}"), Some(&other), json!({})).await;
    assert_error(res, 403, "forbidden").await;

    assert_error(server.post_json("/API/NEWUPLOAD/", None, json!({})).await, 401, "unauthorized").await;
    let body = json!({"title": "t", "preview_filename": "p.png", "video_filename": "v.webm"});
    assert_error(server.post_json("/NEWVIDEOUPLOAD", None, body).await, 401, "unauthorized").await;
    assert_error(server.post_json("/API/PUBLISH/nope", None, json!({})).await, 401, "unauthorized").await;
    assert_error(server.post_json("/API/PUBLISH/nope", Some(&owner), json!({})).await, 404, "not_found").await;
}

#[tokio::test]
async fn oversized_uploads_are_refused_and_leave_nothing() {
    let server = TestServer::start_with(|c| c.uploads.max_video_bytes = 1000).await;
    let token = server.signup("frank").await;
    let grant = server.new_upload(&token, "Too big", "").await;
    let url = grant["video_upload_url"].as_str().unwrap();
    assert_error(server.put_bytes(url, vec![7u8; 1001]).await, 413, "payload_too_large").await;

    // Without a Content-Length the limit is enforced while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..20).map(|_| Ok(vec![1u8; 100])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let res = server.http.put(url).body(body).send().await.unwrap();
    assert_error(res, 413, "payload_too_large").await;

    let id = grant["id"].as_str().unwrap();
    let objects = server.dir.path().join("data/objects/staging").join(id);
    let left: Vec<_> = std::fs::read_dir(&objects).map(|d| d.collect()).unwrap_or_default();
    assert!(left.is_empty(), "no partial object may remain: {left:?}");
    assert_eq!(server.put_bytes(url, vec![7u8; 1000]).await.status(), 200);
}

#[tokio::test]
async fn a_video_uploaded_without_a_preview_gets_one_from_a_frame() {
    let server = TestServer::start().await;
    let token = server.signup("carol").await;
    let grant = server.new_upload(&token, "No preview", "").await;
    let id = grant["id"].as_str().unwrap();
    let video_url = grant["video_upload_url"].as_str().unwrap();
    assert_eq!(server.put_bytes(video_url, read(&media().clip)).await.status(), 200);
    let published = server.post_json(&format!("/API/PUBLISH/{id}"), Some(&token), json!({})).await;
    assert_eq!(published.status(), 200, "{}", published.text().await.unwrap());
    let video: Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    assert_eq!(video["transcode"], "processing", "its transcode is queued");
    let preview = server.http.get(video["preview_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    assert!(preview.bytes().await.unwrap().starts_with(&[0xff, 0xd8]), "a JPEG made from the video");
}

#[tokio::test]
async fn the_check_says_whether_an_uploaded_file_plays_before_publishing() {
    let server = TestServer::start().await;
    let token = server.signup("dave").await;
    let grant = server.new_upload(&token, "Checked", "").await;
    let id = grant["id"].as_str().unwrap();
    let path = format!("/v1/uploads/{id}/check");
    let video_url = grant["video_upload_url"].as_str().unwrap();
    assert_error(server.post_json(&path, Some(&token), json!({})).await, 409, "upload_incomplete").await;

    assert_eq!(server.put_bytes(video_url, b"meeting notes, not a video".to_vec()).await.status(), 200);
    let check: Value = server.post_json(&path, Some(&token), json!({})).await.json().await.unwrap();
    assert_eq!(check["playable"], false, "{check}");
    assert!(!check["reason"].as_str().unwrap_or_default().is_empty(), "{check}");

    assert_eq!(server.put_bytes(video_url, read(&media().clip)).await.status(), 200);
    let check: Value = server.post_json(&path, Some(&token), json!({})).await.json().await.unwrap();
    assert_eq!(check["playable"], true, "{check}");
    assert_eq!(check["duration_seconds"], 2.0, "{check}");
    assert!(check["width"].as_u64().unwrap() > 0 && check["height"].as_u64().unwrap() > 0, "{check}");

    let other = server.signup("eve").await;
    assert_error(server.post_json(&path, Some(&other), json!({})).await, 404, "not_found").await;
    assert_error(server.post_json(&path, None, json!({})).await, 401, "unauthorized").await;
}

//! What viewers get is what the server checked: uploads land in staging, publish
//! serves the server's own copies under names and types it chose, and no upload can
//! run as a page on the site's origin.

mod support;

use myvid_store::objects::Bucket;
use myvid_store::{LocalObjects, ObjectStore};
use reqwest::Response;
use serde_json::{Value, json};
use support::{TestServer, assert_error, media, read};

/// Uploads `preview` and `video` to a new grant (file names as the client claims
/// them) and asks to publish; returns the grant and the publish response.
async fn upload(
    server: &TestServer,
    token: &str,
    names: (&str, &str),
    preview: Vec<u8>,
    video: Vec<u8>,
) -> (Value, Response) {
    let body = json!({"title": "Probe", "preview_filename": names.0, "video_filename": names.1});
    let res = server.post_json("/v1/uploads", Some(token), body).await;
    assert_eq!(res.status(), 201);
    let grant: Value = res.json().await.unwrap();
    assert_eq!(server.put_bytes(grant["preview_upload_url"].as_str().unwrap(), preview).await.status(), 200);
    assert_eq!(server.put_bytes(grant["video_upload_url"].as_str().unwrap(), video).await.status(), 200);
    let id = grant["id"].as_str().unwrap().to_owned();
    let published = server.post_json(&format!("/API/PUBLISH/{id}"), Some(token), json!({})).await;
    (grant, published)
}

/// The first `fraction` of a file's bytes.
fn truncated(bytes: &[u8], fraction: f64) -> Vec<u8> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let keep = (bytes.len() as f64 * fraction) as usize;
    bytes[..keep].to_vec()
}

#[tokio::test]
async fn a_put_to_an_old_upload_url_after_publish_never_changes_what_viewers_get() {
    let server = TestServer::start().await;
    let token = server.signup("mallory").await;
    let clip = read(&media().clip);
    let (grant, published) = upload(&server, &token, ("p.png", "v.webm"), read(&media().preview), clip.clone()).await;
    assert_eq!(published.status(), 200);
    let video: Value = published.json().await.unwrap();
    let preview_before = server.http.get(video["preview_url"].as_str().unwrap()).send().await.unwrap();
    let preview_before = preview_before.bytes().await.unwrap();

    // The upload URLs are still within their lifetime: the PUTs go through, to staging.
    for (field, bytes) in [("video_upload_url", b"<html>replaced</html>".to_vec()), ("preview_upload_url", Vec::new())]
    {
        assert_eq!(server.put_bytes(grant[field].as_str().unwrap(), bytes).await.status(), 200);
    }
    let again =
        server.post_json(&format!("/API/PUBLISH/{}", video["id"].as_str().unwrap()), Some(&token), json!({})).await;
    assert_eq!(again.status(), 200, "publishing again answers the published video");
    let now: Value =
        server.get(&format!("/API/VIDEO/{}", video["id"].as_str().unwrap()), None).await.json().await.unwrap();
    let served = server.http.get(now["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(served.bytes().await.unwrap().as_ref(), clip.as_slice(), "viewers still get the checked clip");
    let preview = server.http.get(now["preview_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(preview.bytes().await.unwrap(), preview_before, "and the same thumbnail");
    server.stop().await;
}

#[tokio::test]
async fn upload_urls_live_one_hour_and_write_only_to_staging() {
    let server = TestServer::start().await;
    let token = server.signup("tess").await;
    let grant = server.new_upload(&token, "t", "").await;
    let url = grant["video_upload_url"].as_str().unwrap();
    assert!(url.contains("/objects/staging/"), "{url}");
    let expires: i64 = url.split("expires=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    assert_eq!(expires, server.clock.now() + 3600);
    server.clock.advance(3601);
    assert_error(server.put_bytes(url, b"late".to_vec()).await, 403, "url_expired").await;
    server.stop().await;
}

#[tokio::test]
async fn staged_objects_are_never_served_even_with_a_valid_signature() {
    let server = TestServer::start().await;
    let token = server.signup("sam").await;
    let grant = server.new_upload(&token, "t", "").await;
    let id = grant["id"].as_str().unwrap();
    assert_eq!(
        server.put_bytes(grant["video_upload_url"].as_str().unwrap(), b"<script>x</script>".to_vec()).await.status(),
        200
    );
    // Sign a download of the staged object with the server's own key.
    let data = server.dir.path().join("data");
    let key = std::fs::read(data.join("signing.key")).unwrap();
    let signer = LocalObjects::open(data.join("objects"), server.url.clone(), &key).await.unwrap();
    let url = signer.presign_get(Bucket::Staging, &format!("{id}/video"), server.clock.now() + 60).await.unwrap();
    assert_error(server.http.get(&url).send().await.unwrap(), 404, "not_found").await;
    // Nor can a client write to a served bucket with a signature for it.
    let put = signer.presign_put(Bucket::Videos, &format!("{id}/x.mp4"), 100, server.clock.now() + 60).await.unwrap();
    assert_error(server.put_bytes(&put, b"x".to_vec()).await, 403, "forbidden").await;
    server.stop().await;
}

#[tokio::test]
async fn objects_are_served_with_the_servers_type_and_headers_never_the_clients_name() {
    let server = TestServer::start().await;
    let token = server.signup("hanna").await;
    let (_, published) =
        upload(&server, &token, ("p.html", "v.html"), read(&media().preview), read(&media().clip)).await;
    assert_eq!(published.status(), 200);
    let video: Value = published.json().await.unwrap();
    for (field, kind, ext) in [("url", "video/webm", ".webm"), ("preview_url", "image/jpeg", ".jpg")] {
        let url = video[field].as_str().unwrap();
        assert!(url.split('?').next().unwrap().ends_with(ext), "{url}");
        let res = server.http.get(url).send().await.unwrap();
        let headers = res.headers();
        assert_eq!(headers["content-type"], kind);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-security-policy"], "default-src 'none'; sandbox");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("inline; filename=\"") && disposition.ends_with(&format!("{ext}\"")),
            "{disposition}"
        );
    }
    let jpeg = server.http.get(video["preview_url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.as_ref() != read(&media().preview).as_slice(), "a new JPEG");
    server.stop().await;
}

#[tokio::test]
async fn svg_html_and_video_previews_are_refused() {
    let server = TestServer::start().await;
    let token = server.signup("xavier").await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect width="10" height="10"/></svg>"#;
    let html = b"<!doctype html><script>alert(document.domain)</script>";
    let clip = read(&media().clip);
    for (name, preview) in [("cover.svg", svg.to_vec()), ("p.html", html.to_vec()), ("p.webm", clip.clone())] {
        let (_, res) = upload(&server, &token, (name, "v.webm"), preview, clip.clone()).await;
        let msg = assert_error(res, 422, "invalid_preview").await;
        assert!(msg.contains("PNG, JPEG"), "{name}: {msg}");
    }
    server.stop().await;
}

#[tokio::test]
async fn truncated_and_disguised_media_are_refused() {
    let server = TestServer::start().await;
    let token = server.signup("trudy").await;
    let clip = read(&media().clip);
    let png = read(&media().preview);
    let (_, res) = upload(&server, &token, ("p.png", "v.webm"), truncated(&png, 0.5), clip.clone()).await;
    assert_error(res, 422, "invalid_preview").await;
    for fraction in [0.02, 0.6] {
        let (_, res) = upload(&server, &token, ("p.png", "v.webm"), png.clone(), truncated(&clip, fraction)).await;
        let msg = assert_error(res, 422, "not_a_video").await;
        assert!(msg.contains("decode") || msg.contains("read"), "{fraction}: {msg}");
    }
    // A playlist pointing at a local file is not opened as a video (nor followed).
    let playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n";
    let (_, res) = upload(&server, &token, ("p.png", "v.mp4"), png.clone(), playlist.to_vec()).await;
    assert_error(res, 422, "not_a_video").await;
    // Nothing of the refused uploads was published or left in the served buckets.
    let videos = server.dir.path().join("data/objects/videos");
    let left: Vec<_> = walk(&videos);
    assert!(left.is_empty(), "{left:?}");
    server.stop().await;
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

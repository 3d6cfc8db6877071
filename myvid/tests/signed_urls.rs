//! Signed object URLs behave like S3 presigned URLs: they work until they expire,
//! and a tampered or expired URL gets 403 with a JSON error.

mod support;

use support::{TestServer, assert_error, media, read};

fn tamper(url: &str, from: &str, to: &str) -> String {
    assert!(url.contains(from), "{url} lacks {from}");
    url.replacen(from, to, 1)
}

#[tokio::test]
async fn tampered_upload_urls_are_refused() {
    let server = TestServer::start().await;
    let token = server.signup("alice").await;
    let grant = server.new_upload(&token, "Tamper", "").await;
    let url = grant["video_upload_url"].as_str().unwrap();
    let sig_start = url.find("sig=").unwrap() + 4;
    let flipped = if &url[sig_start..=sig_start] == "0" { "1" } else { "0" };
    let bad_sig = format!("{}{}{}", &url[..sig_start], flipped, &url[sig_start + 1..]);
    let bigger = tamper(url, "max=2147483648", "max=9147483648");
    let other_key = tamper(url, "/video?", "/preview?");
    let other_bucket = tamper(url, "/objects/staging/", "/objects/previews/");
    let unsigned = url[..url.find('?').unwrap()].to_owned();
    for bad in [bad_sig, bigger, other_key, other_bucket, unsigned] {
        let res = server.put_bytes(&bad, b"x".to_vec()).await;
        assert_error(res, 403, "signature_invalid").await;
    }
    // An upload URL is not a download URL.
    assert_error(server.http.get(url).send().await.unwrap(), 403, "signature_invalid").await;
    assert_eq!(server.put_bytes(url, read(&media().clip)).await.status(), 200);
}

#[tokio::test]
async fn urls_expire_after_their_lifetime() {
    let server = TestServer::start().await;
    let token = server.signup("bob").await;
    let video = server.upload_and_publish(&token, "Expiry", "").await;
    let play = video["url"].as_str().unwrap().to_owned();
    let grant = server.new_upload(&token, "Late upload", "").await;
    let put = grant["video_upload_url"].as_str().unwrap().to_owned();

    // Upload URLs live an hour, playback URLs a day.
    server.clock.advance(3600 - 1);
    assert_eq!(server.put_bytes(&put, read(&media().clip)).await.status(), 200, "valid until the last second");
    server.clock.advance(1);
    assert_error(server.put_bytes(&put, read(&media().clip)).await, 403, "url_expired").await;

    server.clock.advance(24 * 3600 - 3600 - 1);
    assert_eq!(server.http.get(&play).send().await.unwrap().status(), 200, "valid until the last second");

    server.clock.advance(1);
    assert_error(server.http.get(&play).send().await.unwrap(), 403, "url_expired").await;

    // A fresh GET of the video hands out a fresh URL that works.
    let id = video["id"].as_str().unwrap();
    let fresh: serde_json::Value = server.get(&format!("/API/VIDEO/{id}"), None).await.json().await.unwrap();
    assert_eq!(server.http.get(fresh["url"].as_str().unwrap()).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn object_paths_cannot_escape_the_store() {
    let server = TestServer::start().await;
    for path in [
        "/objects/videos/../signing.key?expires=9999999999&sig=00",
        "/objects/videos/%2e%2e/signing.key?expires=9999999999&sig=00",
        "/objects/secrets/x?expires=9999999999&sig=00",
    ] {
        let res = server.get(path, None).await;
        assert!(matches!(res.status().as_u16(), 403 | 404), "{path}: {}", res.status());
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"]["code"].is_string());
    }
}

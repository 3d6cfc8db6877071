//! Uploads and object URLs answer other origins: the pages come from the API's origin,
//! and with several endpoints the upload endpoint is another one.

mod support;

use reqwest::Method;
use support::TestServer;

#[tokio::test]
async fn uploads_and_objects_allow_other_origins() {
    let server = TestServer::start().await;
    let origin = "http://pages.example.test";
    // The browser's preflight before a JSON POST with a bearer token.
    let preflight = server
        .http
        .request(Method::OPTIONS, server.at("/NEWVIDEOUPLOAD"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let header = |name: &str| preflight.headers().get(name).map(|v| v.to_str().unwrap().to_ascii_lowercase());
    assert_eq!(header("access-control-allow-origin").as_deref(), Some("*"));
    let allowed = header("access-control-allow-headers").unwrap_or_default();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");
    assert!(header("access-control-allow-methods").unwrap_or_default().contains("post"));

    // A real upload grant, then the signed PUT's preflight and a cross-origin download.
    let token = server.signup("corsuser").await;
    let grant = server.new_upload(&token, "Cross origin", "").await;
    let video_url = grant["video_upload_url"].as_str().expect("a video upload URL");
    let preflight = server
        .http
        .request(Method::OPTIONS, video_url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PUT")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let upload = server.http.put(video_url).header("Origin", origin).body(vec![1u8; 16]).send().await.unwrap();
    assert_eq!(upload.headers()["access-control-allow-origin"], "*", "{}", upload.status());
}

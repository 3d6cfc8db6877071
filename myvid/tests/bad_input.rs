//! Bad input gets a 4xx with `{"error":{"code","message"}}`: never a 5xx, a panic or
//! a half-written record.

mod support;

use serde_json::{Value, json};
use support::{TestServer, assert_error};

#[tokio::test]
async fn malformed_bodies_get_clear_json_errors() {
    let server = TestServer::start().await;
    let token = server.signup("alice").await;
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        server.http.post(server.at(path)).bearer_auth(&token).header("content-type", content_type).body(body).send()
    };
    assert_error(raw("/NEWVIDEOUPLOAD", "application/json", b"{not json".to_vec()).await.unwrap(), 400, "invalid_json")
        .await;
    assert_error(raw("/NEWVIDEOUPLOAD", "text/plain", b"{}".to_vec()).await.unwrap(), 415, "unsupported_media_type")
        .await;
    assert_error(
        raw("/API/VIDEO/", "application/json", br#"{"search": "abc"#.to_vec()).await.unwrap(),
        400,
        "invalid_json",
    )
    .await;
    let huge = serde_json::to_vec(&json!({"title": "x".repeat(100_000)})).unwrap();
    assert_error(raw("/NEWVIDEOUPLOAD", "application/json", huge).await.unwrap(), 413, "payload_too_large").await;
    let msg =
        assert_error(raw("/NEWVIDEOUPLOAD", "application/json", b"{}".to_vec()).await.unwrap(), 400, "invalid_input")
            .await;
    assert!(msg.contains("title"), "{msg}");
}

#[tokio::test]
async fn upload_fields_are_limited() {
    let server = TestServer::start().await;
    let token = server.signup("bob").await;
    let base = json!({"title": "ok", "description": "", "preview_filename": "p.png", "video_filename": "v.webm"});
    let cases = [
        ("title", json!("")),
        ("title", json!("x".repeat(201))),
        ("title", json!("bell\u{7}")),
        ("description", json!("x".repeat(5001))),
        ("video_filename", json!("")),
        ("preview_filename", json!("p".repeat(256))),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        body[field] = value;
        let msg =
            assert_error(server.post_json("/NEWVIDEOUPLOAD", Some(&token), body).await, 400, "invalid_input").await;
        assert!(msg.contains(field), "{field}: {msg}");
    }
    let mine: Value = server.get("/v1/me/videos", Some(&token)).await.json().await.unwrap();
    assert!(mine["items"].as_array().unwrap().is_empty(), "no record was created by refused requests");
}

#[tokio::test]
async fn unknown_paths_methods_and_parameters() {
    let server = TestServer::start().await;
    assert_error(server.get("/API/NOPE", None).await, 404, "not_found").await;
    assert_error(server.get("/v1/nope", None).await, 404, "not_found").await;
    assert_error(server.get("/API/VIDEO/doesnotexist", None).await, 404, "not_found").await;
    assert_error(server.http.delete(server.at("/API/VIDEO/")).send().await.unwrap(), 405, "method_not_allowed").await;
    assert_error(server.get("/v1/videos?cursor=garbage!", None).await, 400, "invalid_input").await;
    assert_error(server.get("/v1/videos?limit=many", None).await, 400, "invalid_input").await;
    let page = server.get("/missing-page", None).await;
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // An empty body is the original client's "no search": a random selection.
    let res = server.http.post(server.at("/API/VIDEO/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

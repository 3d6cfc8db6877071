//! Every error is `{"error":{"code","message"}}` with a stable code, whichever layer
//! answers it: our handlers, axum's extractors (body limit, path, query, WebSocket
//! upgrade), its 404 and 405 answers, or the endpoint's routes.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{TestServer, assert_error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn oversized_json_body_is_a_json_413() {
    let server = TestServer::start().await;
    let token = server.signup("alice").await;
    let big = serde_json::to_vec(&json!({"search": "x".repeat(70 * 1024)})).unwrap();
    for path in ["/API/VIDEO/", "/v1/auth/login", "/API/NEWSTREAM/", "/NEWVIDEOUPLOAD"] {
        let res = server
            .http
            .post(server.at(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_error(res, 413, "payload_too_large").await;
    }
}

#[tokio::test]
async fn bad_utf8_in_path_is_a_json_400() {
    let server = TestServer::start().await;
    let token = server.signup("bob").await;
    assert_error(server.get("/API/VIDEO/%FF%FE", None).await, 400, "invalid_input").await;
    assert_error(server.get("/v1/videos/%C3%28", None).await, 400, "invalid_input").await;
    assert_error(server.post_json("/API/PUBLISH/%FF", Some(&token), json!({})).await, 400, "invalid_input").await;
    assert_error(server.post_json("/v1/videos/%80/publish", Some(&token), json!({})).await, 400, "invalid_input").await;
}

#[tokio::test]
async fn bad_query_strings_are_json_400s() {
    let server = TestServer::start().await;
    for query in ["limit=-1", "limit=99999999999999999999", "limit=%FF"] {
        assert_error(server.get(&format!("/v1/videos?{query}"), None).await, 400, "invalid_input").await;
    }
    assert_error(server.get("/v1/videos/random?limit=x", None).await, 400, "invalid_input").await;
}

#[tokio::test]
async fn wrong_method_on_endpoint_routes_is_a_json_405() {
    let server = TestServer::start().await;
    let cases = [
        (Method::GET, "/NEWVIDEOUPLOAD"),
        (Method::DELETE, "/NEWVIDEOUPLOAD/"),
        (Method::DELETE, "/objects/videos/abc/clip.webm"),
        (Method::POST, "/objects/previews/abc/p.png"),
        (Method::POST, "/ENDPOINT/abc"),
        (Method::PUT, "/SFU"),
        (Method::DELETE, "/v1/me"),
        (Method::PUT, "/API/ICE"),
    ];
    for (method, path) in cases {
        let res = server.http.request(method.clone(), server.at(path)).send().await.unwrap();
        assert!(res.headers().contains_key("allow"), "{method} {path}: the Allow header is kept");
        assert_error(res, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let server = TestServer::start().await;
    for path in ["/API/NOPE/", "/v1/me/nope", "/objects/nope", "/v1"] {
        assert_error(server.get(path, None).await, 404, "not_found").await;
    }
    assert_error(server.http.delete(server.at("/v1/nothing")).send().await.unwrap(), 404, "not_found").await;
}

#[tokio::test]
async fn websocket_urls_asked_without_an_upgrade_are_json_errors() {
    let server = TestServer::start().await;
    assert_error(server.get("/ENDPOINT/abc", None).await, 400, "invalid_input").await;
    let res = server
        .http
        .get(server.at("/ENDPOINT/abc"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_input").await;
}

#[tokio::test]
async fn client_disconnect_mid_upload_is_not_a_server_error() {
    let server = TestServer::start().await;
    let token = server.signup("carol").await;
    let grant = server.new_upload(&token, "cut short", "").await;
    let url = reqwest::Url::parse(grant["video_upload_url"].as_str().unwrap()).unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap());

    // Promise 100,000 bytes, send 1,000, then close our side.
    let mut socket = tokio::net::TcpStream::connect(url.socket_addrs(|| None).unwrap()[0]).await.unwrap();
    let head = format!("PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[7u8; 1000]).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.starts_with("HTTP/1.1 5"), "a server error: {answer}");
    if !answer.is_empty() {
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("\"upload_interrupted\""), "{answer}");
    }

    // Counted as a client error, never as a 500.
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    let puts: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("myvid_http_requests_total{") && l.contains("method=\"PUT\""))
        .collect();
    assert!(puts.iter().all(|l| !l.contains("status=\"500\"")), "{puts:?}");
    assert!(puts.iter().any(|l| l.contains("status=\"400\"")), "the cut upload is counted as a 400: {puts:?}");

    // Nothing was stored: publishing finds no video file.
    let id = grant["id"].as_str().unwrap();
    assert_error(
        server.post_json(&format!("/API/PUBLISH/{id}"), Some(&token), json!({})).await,
        409,
        "upload_incomplete",
    )
    .await;
}

#[tokio::test]
async fn a_range_outside_the_object_is_a_json_416_that_keeps_content_range() {
    let server = TestServer::start().await;
    let token = server.signup("dave").await;
    let video = server.upload_and_publish(&token, "A short clip", "").await;
    let size = support::read(&support::media().clip).len();
    let beyond = format!("bytes={}-{}", size + 100, size + 200);
    let res = server.http.get(video["url"].as_str().unwrap()).header("range", beyond).send().await.unwrap();
    assert_eq!(res.headers()["content-range"], format!("bytes */{size}").as_str());
    assert_error(res, 416, "range_not_satisfiable").await;
}

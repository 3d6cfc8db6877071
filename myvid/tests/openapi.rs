//! The OpenAPI document is served, every operation in it is answered by the running
//! server, and the docs page that renders it loads without inline script.

mod support;

use reqwest::Method;
use serde_json::Value;
use support::TestServer;

#[tokio::test]
async fn every_documented_operation_is_answered_by_the_live_server() {
    let server = TestServer::start().await;
    let res = server.get("/v1/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let url = server.at(&path.replace("{id}", "nosuchvideo"));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = server.http.request(method.clone(), url).send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            // A route that does not exist answers 405 or "no such API call"; a
            // documented one answers anything else (401 without a token, 404 for a
            // video id that does not exist, 400/415 without a body...).
            assert_ne!(status, 405, "{method} {path}");
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(!message.starts_with("no such API call"), "{method} {path}: {body}");
        }
    }
    assert!(operations >= 19, "{operations} operations");
}

#[tokio::test]
async fn the_api_docs_page_loads_its_script_from_a_file() {
    let server = TestServer::start().await;
    let page = server.get("/docs/api.html", None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/js/pages/api-docs.js"></script>"#));
    // A page under `script-src 'self'` runs no inline script: every <script> has a src.
    assert_eq!(html.matches("<script").count(), html.matches("<script type=\"module\" src=").count());
    let script = server.get("/js/pages/api-docs.js", None).await;
    assert_eq!(script.status(), 200);
    assert!(script.text().await.unwrap().contains("/v1/openapi.json"));
}

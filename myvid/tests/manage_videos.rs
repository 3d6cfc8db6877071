//! An owner manages their videos through `/v1`: edits, visibility (unlisted plays by
//! link but is never listed), and delete (gone at once; its objects purged by the
//! worker), on a real `myvid dev`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{TestServer, assert_error};

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

async fn patch(server: &TestServer, id: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = server.http.patch(server.at(&format!("/v1/videos/{id}"))).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn delete(server: &TestServer, id: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = server.http.delete(server.at(&format!("/v1/videos/{id}")));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// Every id a listing of the API shows anonymously.
async fn listed_everywhere(server: &TestServer, word: &str, other: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for path in [
        format!("/v1/videos?q={word}"),
        "/v1/videos".to_owned(),
        "/v1/videos?sort=latest".to_owned(),
        "/v1/videos?sort=popular".to_owned(),
        "/v1/videos?sort=live".to_owned(),
        "/v1/videos/random?limit=100".to_owned(),
        "/v1/channels/keeper/videos".to_owned(),
    ] {
        let page: Value = server.get(&path, None).await.json().await.unwrap();
        seen.extend(ids(&page["items"]));
    }
    let related: Value = server.get(&format!("/v1/videos/{other}/related?limit=24"), None).await.json().await.unwrap();
    seen.extend(related["items"].as_array().unwrap().iter().map(|r| r["video"]["id"].as_str().unwrap().to_owned()));
    for body in [json!({ "search": word }), json!({})] {
        let found: Value = server.post_json("/API/VIDEO/", None, body).await.json().await.unwrap();
        seen.extend(ids(&found));
    }
    seen
}

#[tokio::test]
async fn an_unlisted_video_plays_by_link_but_is_never_listed() {
    let server = TestServer::start().await;
    let owner = server.signup("keeper").await;
    let stranger = server.signup("stranger").await;
    let video = server.upload_and_publish(&owner, "Quiet harbour at dawn", "#harbour").await;
    let id = video["id"].as_str().unwrap();
    let other = server.upload_and_publish(&owner, "Busy harbour at noon", "#harbour").await;
    let other = other["id"].as_str().unwrap();
    assert!(listed_everywhere(&server, "harbour", other).await.contains(&id.to_owned()), "public: listed");

    let res =
        patch(&server, id, Some(&owner), json!({"visibility": "unlisted", "title": "  Quiet harbour, unlisted  "}))
            .await;
    assert_eq!(res.status(), 200);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(
        (edited["visibility"].as_str(), edited["title"].as_str()),
        (Some("unlisted"), Some("Quiet harbour, unlisted"))
    );
    assert_eq!(edited["tags"], json!(["harbour"]));
    assert_eq!(edited["owner_url"], "/c/keeper");

    let by_link = server.get(&format!("/v1/videos/{id}"), None).await;
    assert_eq!(by_link.status(), 200, "anyone with the link");
    let by_link: Value = by_link.json().await.unwrap();
    assert_eq!(server.http.get(by_link["url"].as_str().unwrap()).send().await.unwrap().status(), 200, "and it plays");
    assert_eq!(server.get(&format!("/API/VIDEO/{id}"), None).await.status(), 200, "the original call too");
    let listed = listed_everywhere(&server, "harbour", other).await;
    assert!(!listed.contains(&id.to_owned()), "unlisted appears in no listing: {listed:?}");
    assert!(listed.contains(&other.to_owned()));

    // Only the owner edits; bad edits are refused with nothing changed.
    assert_error(patch(&server, id, Some(&stranger), json!({"title": "mine"})).await, 403, "forbidden").await;
    assert_error(patch(&server, id, None, json!({"title": "mine"})).await, 401, "unauthorized").await;
    let unchanged: Value = patch(&server, id, Some(&owner), json!({})).await.json().await.unwrap();
    assert_eq!(unchanged["title"], "Quiet harbour, unlisted", "an empty edit changes nothing");
    assert_error(patch(&server, id, Some(&owner), json!({"title": "   "})).await, 400, "invalid_input").await;
    assert_error(patch(&server, id, Some(&owner), json!({"title": "x".repeat(201)})).await, 400, "invalid_input").await;
    let padded = format!(" {} ", "x".repeat(200));
    assert_eq!(patch(&server, id, Some(&owner), json!({"title": padded})).await.status(), 200, "200 once trimmed");
    assert_error(patch(&server, id, Some(&owner), json!({"visibility": "secret"})).await, 400, "invalid_input").await;
    assert_error(patch(&server, id, Some(&owner), json!({"colour": "red"})).await, 400, "invalid_input").await;
    assert_error(patch(&server, "nope", Some(&owner), json!({"title": "t"})).await, 404, "not_found").await;

    // Private: only the owner; an unpublished upload cannot change its visibility.
    assert_eq!(patch(&server, id, Some(&owner), json!({"visibility": "private"})).await.status(), 200);
    assert_error(server.get(&format!("/v1/videos/{id}"), None).await, 404, "not_found").await;
    assert_eq!(server.get(&format!("/v1/videos/{id}"), Some(&owner)).await.status(), 200);
    let staged = server.new_upload(&owner, "Not yet", "").await;
    let staged = staged["id"].as_str().unwrap();
    assert_error(patch(&server, staged, Some(&owner), json!({"visibility": "public"})).await, 409, "conflict").await;
}

async fn report(server: &TestServer, id: &str, token: Option<&str>, body: Value) {
    let res = server.post_json(&format!("/v1/videos/{id}/views"), token, body).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
}

/// Waits until video `id` shows `expected` views (flushes are batched).
async fn views_reach(server: &TestServer, id: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let video: Value = server.get(&format!("/v1/videos/{id}"), None).await.json().await.unwrap();
        if video["views"] == expected {
            return;
        }
        assert!(Instant::now() < deadline, "views never reached {expected}: {}", video["views"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn views_count_once_per_viewer_per_hour_in_batches() {
    let server = TestServer::start_with(|config| config.views.flush_ms = 100).await;
    let owner = server.signup("counted").await;
    let fan = server.signup("fan").await;
    let video = server.upload_and_publish(&owner, "Counted once", "").await;
    let id = video["id"].as_str().unwrap();
    // A signed-in viewer reloading three times: one view.
    for _ in 0..3 {
        report(&server, id, Some(&fan), json!({})).await;
    }
    views_reach(&server, id, 1).await;
    // A signed-out browser with its own id, reloading: one more.
    for _ in 0..3 {
        report(&server, id, None, json!({"viewer": "AAAAAAAAAAAAAAAAAAAAAA"})).await;
    }
    views_reach(&server, id, 2).await;
    // Clearing the browser's storage gives a new id: counted, up to three per address.
    for n in 0..5 {
        report(&server, id, None, json!({"viewer": format!("BBBBBBBBBBBBBBBBBBBBB{n}")})).await;
    }
    views_reach(&server, id, 4).await;
    // An hour later the same viewer counts again.
    server.clock.advance(3_600);
    report(&server, id, Some(&fan), json!({})).await;
    views_reach(&server, id, 5).await;

    assert_error(
        server.post_json(&format!("/v1/videos/{id}/views"), None, json!({"viewer": "short"})).await,
        400,
        "invalid_input",
    )
    .await;
    assert_error(server.post_json("/v1/videos/nope/views", None, json!({})).await, 404, "not_found").await;
    let staged = server.new_upload(&owner, "Private", "").await;
    let staged = staged["id"].as_str().unwrap();
    assert_error(server.post_json(&format!("/v1/videos/{staged}/views"), None, json!({})).await, 404, "not_found")
        .await;
    let popular: Value = server.get("/v1/videos?sort=popular", None).await.json().await.unwrap();
    assert_eq!(popular["items"][0]["id"], id, "the most viewed leads Popular");
    assert_error(server.get("/v1/videos?sort=popular&q=x", None).await, 400, "invalid_input").await;
    assert_error(server.get("/v1/videos?sort=oldest", None).await, 400, "invalid_input").await;
}

/// Files under `dir` whose path names `id`.
fn files_naming(dir: &Path, id: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().contains(id) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_video_removes_it_at_once_and_its_objects_soon_after() {
    let server = TestServer::start_with(|config| {
        config.worker.enabled = true;
        config.worker.preset = "ultrafast".into();
        config.worker.threads = 1;
        config.worker.nice = 0;
        config.worker.poll_ms = 100;
        config.worker.purge_delay_secs = 0;
    })
    .await;
    let owner = server.signup("deleter").await;
    let stranger = server.signup("bystander").await;
    let video = server.upload_and_publish(&owner, "Ephemeral lighthouse", "").await;
    let id = video["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status: Value = server.get(&format!("/v1/videos/{id}/transcode"), None).await.json().await.unwrap();
        if status["state"] == "READY" {
            break;
        }
        assert!(Instant::now() < deadline, "not transcoded: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let objects = server.dir.path().join("data").join("objects");
    let before = files_naming(&objects, id);
    assert!(before.len() > 4, "an original, a preview and a ladder: {before:?}");

    assert_error(delete(&server, id, Some(&stranger)).await, 403, "forbidden").await;
    assert_error(delete(&server, id, None).await, 401, "unauthorized").await;
    assert_eq!(delete(&server, id, Some(&owner)).await.status(), 204);
    assert_error(server.get(&format!("/v1/videos/{id}"), Some(&owner)).await, 404, "not_found").await;
    let found: Value = server.get("/v1/videos?q=lighthouse", None).await.json().await.unwrap();
    assert!(ids(&found["items"]).is_empty(), "gone from search at once");
    assert_error(delete(&server, id, Some(&owner)).await, 404, "not_found").await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while !files_naming(&objects, id).is_empty() {
        assert!(Instant::now() < deadline, "objects left: {:?}", files_naming(&objects, id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_videos_deleted_total 1"), "{metrics}");
}

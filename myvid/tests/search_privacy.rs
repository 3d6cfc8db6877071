//! Search ranks public videos best match first; private videos stay with their owner;
//! `/v1` listings page with cursors that visit every item once.

mod support;

use std::collections::HashSet;

use myvid_store::SqliteMeta;
use serde_json::{Value, json};
use support::{TestServer, assert_error};

async fn search(server: &TestServer, words: &str) -> Vec<Value> {
    let res = server.post_json("/API/VIDEO/", None, json!({ "search": words })).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn private_videos_are_visible_only_to_their_owner() {
    let server = TestServer::start().await;
    let owner = server.signup("owner").await;
    let other = server.signup("other").await;
    let grant = server.new_upload(&owner, "Secret rehearsal", "not for anyone").await;
    let id = grant["id"].as_str().unwrap();
    server.upload_and_publish(&owner, "Public rehearsal", "for everyone").await;

    assert_eq!(search(&server, "rehearsal").await.len(), 1);
    let random: Vec<Value> = server.post_json("/API/VIDEO/", None, json!({})).await.json().await.unwrap();
    assert!(!ids(&random).contains(&id.to_owned()));
    let listed: Value = server.get("/v1/videos", None).await.json().await.unwrap();
    assert!(!ids(listed["items"].as_array().unwrap()).contains(&id.to_owned()));

    assert_error(server.get(&format!("/API/VIDEO/{id}"), None).await, 404, "not_found").await;
    assert_error(server.get(&format!("/API/VIDEO/{id}"), Some(&other)).await, 404, "not_found").await;
    assert_error(server.get(&format!("/v1/videos/{id}"), Some(&other)).await, 404, "not_found").await;
    let mine: Value = server.get(&format!("/API/VIDEO/{id}"), Some(&owner)).await.json().await.unwrap();
    assert_eq!(mine["visibility"], "private");

    let my_videos: Value = server.get("/v1/me/videos", Some(&owner)).await.json().await.unwrap();
    assert_eq!(my_videos["items"].as_array().unwrap().len(), 2);
    let theirs: Value = server.get("/v1/me/videos", Some(&other)).await.json().await.unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn search_ranks_best_match_first_and_survives_hostile_queries() {
    let server = TestServer::start().await;
    let token = server.signup("ranker").await;
    let desc_only = server.upload_and_publish(&token, "Evening session", "a talk about webrtc forwarding").await;
    let title = server.upload_and_publish(&token, "WebRTC forwarding deep dive", "selective forwarding units").await;
    let one_word = server.upload_and_publish(&token, "WebRTC basics", "signalling").await;

    let found = search(&server, "webrtc forwarding").await;
    assert_eq!(ids(&found)[0], title["id"].as_str().unwrap(), "title match with both words first");
    assert_eq!(found.len(), 3);
    let pos = |v: &Value| ids(&found).iter().position(|id| id == v["id"].as_str().unwrap()).unwrap();
    assert!(pos(&one_word) > 0 && pos(&desc_only) > 0);

    assert_eq!(search(&server, "forw").await.len(), 2, "words match as prefixes");
    for hostile in ["\"", "AND (", "*", "NEAR(a b", "title:x", "-", "'; DROP TABLE videos; --", "  "] {
        let res = server.post_json("/API/VIDEO/", None, json!({ "search": hostile })).await;
        assert_eq!(res.status(), 200, "query {hostile:?}");
    }
    assert_eq!(search(&server, "webrtc").await.len(), 3, "nothing was dropped");

    let long = "x".repeat(201);
    assert_error(server.post_json("/API/VIDEO/", None, json!({ "search": long })).await, 400, "invalid_input").await;
}

#[tokio::test]
async fn v1_cursors_visit_every_video_exactly_once() {
    let server = TestServer::start().await;
    let catalogue: Vec<Value> = (0..23)
        .map(|i| json!({"title": format!("Conference talk {i}"), "description": "keynote", "url": format!("https://media.example.org/{i}.mp4")}))
        .collect();
    let file = server.dir.path().join("catalogue.json");
    std::fs::write(&file, serde_json::to_vec(&catalogue).unwrap()).unwrap();
    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    let (added, total) = myvid::import::import_file(&meta, &file, 1).await.unwrap();
    assert_eq!((added, total), (23, 23));

    for query in ["", "&q=conference"] {
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/videos?limit=5{query}&cursor={c}"),
                None => format!("/v1/videos?limit=5{query}"),
            };
            let page: Value = server.get(&path, None).await.json().await.unwrap();
            for item in page["items"].as_array().unwrap() {
                assert_eq!(item["source"], "HTTP");
                assert!(item["url"].as_str().unwrap().starts_with("https://media.example.org/"));
                assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "duplicate across pages");
            }
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 23, "query {query:?}");
        assert_eq!(pages, 5);
    }
    let random: Value = server.get("/v1/videos/random?limit=4", None).await.json().await.unwrap();
    assert_eq!(random["items"].as_array().unwrap().len(), 4);
}

//! `myvid api` and `myvid endpoint` on a real erasure-coded S3 store (Ceph RGW, EC 4+2,
//! `tools/ceph-harness`): upload URLs name the store, not MyVid; publishing copies
//! and checks the media inside the store; playback URLs name the store; an upload over
//! its size limit, which a presigned PUT cannot stop, is refused at publish and deleted.

mod support;

use myvid_ceph_harness::S3Store;
use reqwest::Client;
use serde_json::{Value, json};
use support::role::post;
use support::s3::{env, grant, sign_up, start};
use support::{media, read};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_playback_go_straight_to_the_store() {
    let s3 = S3Store::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = env(&s3, &[("MYVID_UPLOADS__MAX_PREVIEW_BYTES", "200000")]);
    let endpoint = start("endpoint", &data, &env);
    let api = start("api", &data, &env);
    let http = Client::new();

    let token = sign_up(&http, &api, "stella").await;

    let upload = grant(&http, &endpoint.url, &token, "Stored on Ceph").await;
    for (field, file) in [("preview_upload_url", &media().preview), ("video_upload_url", &media().clip)] {
        let url = upload[field].as_str().unwrap();
        assert!(url.starts_with(&s3.endpoint()), "{field} names the store: {url}");
        assert_eq!(http.put(url).body(read(file)).send().await.unwrap().status(), 200);
    }
    let id = upload["id"].as_str().unwrap();
    let published = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(published.status(), 200, "publish: {}", published.text().await.unwrap());

    let video: Value = http.get(format!("{}/API/VIDEO/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    let url = video["url"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint()), "playback names the store: {url}");
    let played = http.get(url).send().await.unwrap();
    assert_eq!(played.status(), 200);
    assert_eq!(played.bytes().await.unwrap().as_ref(), read(&media().clip).as_slice());
    let found: Vec<Value> =
        post(&http, format!("{}/API/VIDEO/", api.url), None, json!({"search": "ceph"})).await.json().await.unwrap();
    assert_eq!(found.len(), 1);

    // A preview over its 200,000-byte limit gets through the presigned PUT, but not
    // through publishing, which deletes it.
    let upload = grant(&http, &endpoint.url, &token, "Too big").await;
    let big = vec![0x42u8; 300_000];
    assert_eq!(http.put(upload["preview_upload_url"].as_str().unwrap()).body(big).send().await.unwrap().status(), 200);
    let video_url = upload["video_upload_url"].as_str().unwrap();
    assert_eq!(http.put(video_url).body(read(&media().clip)).send().await.unwrap().status(), 200);
    let id = upload["id"].as_str().unwrap();
    let refused = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(refused.status(), 413);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    let again = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(again.status(), 409, "the oversized preview was deleted: upload it again");
}

//! `myvid api` and `myvid endpoint` on an erasure-coded S3 store (Ceph RGW, EC k=4 m=2 over
//! six OSDs) that loses OSDs one after the other:
//! - with 2 of 6 down, uploads, publishing and playback go on;
//! - with a 3rd down (fewer than k chunks: the store stops answering), a publish answers
//!   `503 storage_unavailable` within its timeout, both roles' health turns `degraded`,
//!   new uploads are refused at once, and search and metadata keep answering;
//! - once the OSDs are back, both roles notice by themselves and uploads work again.

mod support;

use std::time::{Duration, Instant};

use myvid_ceph_harness::S3Store;
use reqwest::Client;
use serde_json::{Value, json};
use support::role::{Role, eventually, post};
use support::s3::{env, grant, new_upload, publish, put_files, sign_up, start};
use support::{media, read};

/// Per-attempt and per-call S3 timeouts of the roles under test.
const ATTEMPT_MS: u64 = 3_000;
const OPERATION_MS: u64 = 6_000;

async fn objects_state(http: &Client, role: &Role) -> String {
    let health: Value = http.get(format!("{}/healthz", role.url)).send().await.unwrap().json().await.unwrap();
    health["objects"]["state"].as_str().unwrap_or_default().to_owned()
}

/// Waits until both roles report `state`; returns how long that took.
async fn both_report(http: &Client, roles: [&Role; 2], state: &str, within: Duration) -> Duration {
    let started = Instant::now();
    for role in roles {
        let seen = eventually(within, || async { objects_state(http, role).await == state }).await;
        assert!(seen, "{} never reported the object store {state} within {within:?}", role.url);
    }
    started.elapsed()
}

/// Plays a published video from the store and compares it with the test clip.
async fn play(http: &Client, api: &Role, id: &str) {
    let video: Value = http.get(format!("{}/API/VIDEO/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    let played = http.get(video["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(played.status(), 200);
    assert_eq!(played.bytes().await.unwrap().as_ref(), read(&media().clip).as_slice());
}

async fn upload_and_publish(http: &Client, endpoint: &Role, api: &Role, token: &str, title: &str) -> String {
    let upload = grant(http, &endpoint.url, token, title).await;
    put_files(http, &upload, &read(&media().preview), &read(&media().clip)).await;
    let id = upload["id"].as_str().unwrap().to_owned();
    let published = publish(http, api, token, &id).await;
    assert_eq!(published.status(), 200, "publish {title}: {}", published.text().await.unwrap());
    id
}

fn kill_osds(s3: &S3Store, osds: &[usize]) {
    tokio::task::block_in_place(|| osds.iter().for_each(|n| s3.kill_osd(*n)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_store_refuses_writes_clearly_keeps_search_and_recovers_by_itself() {
    let s3 = S3Store::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let attempt = ATTEMPT_MS.to_string();
    let operation = OPERATION_MS.to_string();
    let env = env(
        &s3,
        &[
            ("MYVID_OBJECTS__ATTEMPT_TIMEOUT_MS", attempt.as_str()),
            ("MYVID_OBJECTS__OPERATION_TIMEOUT_MS", operation.as_str()),
            ("MYVID_OBJECTS__MAX_ATTEMPTS", "1"),
        ],
    );
    let endpoint = start("endpoint", &data, &env);
    let api = start("api", &data, &env);
    let http = Client::new();
    let token = sign_up(&http, &api, "dora").await;
    let before = upload_and_publish(&http, &endpoint, &api, &token, "Stored before the faults").await;

    // Two OSDs down: EC 4+2 with min_size 4 keeps reading and writing.
    kill_osds(&s3, &[0, 1]);
    let during = upload_and_publish(&http, &endpoint, &api, &token, "Stored with two OSDs down").await;
    play(&http, &api, &before).await;
    play(&http, &api, &during).await;
    assert_eq!(objects_state(&http, &api).await, "writable");

    // Files staged, then a third OSD dies before publishing.
    let staged = grant(&http, &endpoint.url, &token, "Staged before the third fault").await;
    put_files(&http, &staged, &read(&media().preview), &read(&media().clip)).await;
    kill_osds(&s3, &[2]);

    // The publish's calls to the store hang; it answers 503 within its timeouts.
    let started = Instant::now();
    let refused = publish(&http, &api, &token, staged["id"].as_str().unwrap()).await;
    let took = started.elapsed();
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    let bound = Duration::from_millis(3 * OPERATION_MS);
    assert!(took < bound, "publish took {took:?} to fail (bound {bound:?})");
    eprintln!("publish with 3 of 6 OSDs down answered 503 in {took:?}");

    // Both roles' probes find the store unavailable; writing calls are refused at once.
    let noticed = both_report(&http, [&api, &endpoint], "unavailable", Duration::from_secs(40)).await;
    eprintln!("both roles reported the store unavailable {noticed:?} after the failed publish");
    let started = Instant::now();
    let res = new_upload(&http, &endpoint.url, &token, "Refused").await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    assert!(started.elapsed() < Duration::from_secs(1), "a refused upload answers at once: {:?}", started.elapsed());
    let health: Value = http.get(format!("{}/healthz", api.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    let metrics = http.get(format!("{}/metrics", api.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("myvid_object_store_state 2"), "the metric shows it:\n{metrics}");

    // Search and metadata do not touch the store: they answer, and fast.
    let started = Instant::now();
    let found = post(&http, format!("{}/API/VIDEO/", api.url), None, json!({"search": "stored"})).await;
    assert_eq!(found.status(), 200);
    assert_eq!(found.json::<Vec<Value>>().await.unwrap().len(), 2);
    let video = http.get(format!("{}/API/VIDEO/{before}", api.url)).send().await.unwrap();
    assert_eq!(video.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "search and metadata took {:?}", started.elapsed());

    // The OSDs return, the last one killed first (it holds chunks of what was written
    // while 0 and 1 were down: Ceph waits for it before serving those placement groups).
    // Both roles notice without being asked, and everything works again.
    let started = Instant::now();
    tokio::task::block_in_place(|| [2, 1, 0].into_iter().for_each(|n| s3.restart_osd(n)));
    let osds_back = started.elapsed();
    let noticed = both_report(&http, [&api, &endpoint], "writable", Duration::from_secs(90)).await;
    eprintln!("OSDs back up in {osds_back:?}; both roles reported the store writable {noticed:?} later");
    let republished = publish(&http, &api, &token, staged["id"].as_str().unwrap()).await;
    assert_eq!(republished.status(), 200, "the staged upload publishes now: {}", republished.text().await.unwrap());
    let after = upload_and_publish(&http, &endpoint, &api, &token, "Stored after recovery").await;
    play(&http, &api, &before).await;
    play(&http, &api, &after).await;
}

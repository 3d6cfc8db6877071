//! Each role as its own process of the real binary: `myvid endpoint`, `myvid api` and
//! `myvid sfu` on one shared data directory find each other through the server
//! registry, serve an upload end to end over HTTP, and stop cleanly on SIGTERM.

mod support;

use std::process::Command;
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use support::role::{Role, eventually, post};
use support::{media, read};

const BIN: &str = env!("CARGO_BIN_EXE_myvid");

const SECRETS: [(&str, &str); 3] = [
    ("MYVID_LIVE__SFU_SECRET", "sfu-secret-shared-by-the-roles-0123456789"),
    ("MYVID_LIVE__STREAM_SECRET", "stream-secret-shared-by-the-roles-0123456789"),
    ("MYVID_TURN__SECRET", "turn-secret-shared-by-the-roles-0123456789"),
];

#[tokio::test]
async fn api_endpoint_and_sfu_run_as_separate_processes_and_serve_an_upload_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut endpoint = Role::start("endpoint", &data, &SECRETS);
    let mut api = Role::start("api", &data, &SECRETS);
    let mut sfu = Role::start("sfu", &data, &SECRETS);
    let http = Client::new();

    // The SFU links to the endpoint it found in the registry.
    let endpoint_metrics = format!("{}/metrics", endpoint.url);
    let linked = eventually(Duration::from_secs(10), || async {
        let text = http.get(&endpoint_metrics).send().await.unwrap().text().await.unwrap();
        text.lines().any(|l| l == "myvid_live_sfus 1")
    })
    .await;
    assert!(linked, "the SFU never linked to the endpoint; sfu log:\n{}", sfu.log_text());
    let sfu_metrics = http.get(format!("{}/metrics", sfu.url)).send().await.unwrap();
    assert_eq!(sfu_metrics.status(), 200, "the SFU serves its metrics");
    assert_eq!(http.get(format!("{}/healthz", sfu.url)).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{}/API/VIDEO/x", sfu.url)).send().await.unwrap().status(), 404, "and no API");

    // Accounts and uploads: the API hands out the endpoint process, which takes the files.
    let body = json!({"username": "rolf", "email": "rolf@example.org", "password": "password-rolf"});
    let signed_up = post(&http, format!("{}/v1/auth/signup", api.url), None, body).await;
    assert_eq!(signed_up.status(), 201);
    let token = signed_up.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let answer: Value =
        post(&http, format!("{}/API/NEWUPLOAD/", api.url), Some(&token), json!({})).await.json().await.unwrap();
    assert_eq!(answer["endpoint"], endpoint.url.as_str(), "NEWUPLOAD names the endpoint process");
    let body = json!({"title": "Separate roles", "description": "three processes", "preview_filename": "p.png", "video_filename": "v.webm"});
    let grant = post(&http, format!("{}/NEWVIDEOUPLOAD", endpoint.url), Some(&token), body).await;
    assert_eq!(grant.status(), 200);
    let grant: Value = grant.json().await.unwrap();
    for (field, file) in [("preview_upload_url", &media().preview), ("video_upload_url", &media().clip)] {
        let url = grant[field].as_str().unwrap();
        assert!(url.starts_with(&endpoint.url), "{field} points at the endpoint: {url}");
        assert_eq!(http.put(url).body(read(file)).send().await.unwrap().status(), 200);
    }
    let id = grant["id"].as_str().unwrap();
    let published = post(&http, format!("{}/API/PUBLISH/{id}", api.url), Some(&token), json!({})).await;
    assert_eq!(published.status(), 200, "publish: {}", published.text().await.unwrap());

    let found: Vec<Value> =
        post(&http, format!("{}/API/VIDEO/", api.url), None, json!({"search": "separate"})).await.json().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id);
    let video: Value = http.get(format!("{}/API/VIDEO/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    let played = http.get(video["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(played.status(), 200, "the API serves the object URLs it signs");
    assert_eq!(played.bytes().await.unwrap().as_ref(), read(&media().clip).as_slice());

    // Live set-up: the API hands out the endpoint, and that endpoint's TURN server.
    let stream: Value =
        post(&http, format!("{}/API/NEWSTREAM/", api.url), Some(&token), json!({"title": "Roles live"}))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(stream["endpoint"], endpoint.url.as_str());
    let ice: Value = http.get(format!("{}/API/ICE", api.url)).send().await.unwrap().json().await.unwrap();
    let urls: Vec<&str> = ice["ice_servers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["urls"].as_array().unwrap())
        .filter_map(|u| u.as_str())
        .collect();
    assert!(urls.iter().any(|u| u.starts_with("turn:127.0.0.1:")), "the endpoint's TURN server: {ice}");

    for (name, role) in [("sfu", &mut sfu), ("api", &mut api), ("endpoint", &mut endpoint)] {
        assert!(
            role.stop(Duration::from_secs(5)),
            "myvid {name} did not exit 0 within 5 s of SIGTERM; log:\n{}",
            role.log_text()
        );
    }
}

#[test]
fn the_api_and_the_sfu_refuse_to_start_without_the_secrets_they_share() {
    let dir = tempfile::tempdir().unwrap();
    let run = |role: &str, env: &[(&str, &str)]| {
        Command::new(BIN)
            .args([role, "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let without = |field: &str| -> Vec<(&str, &str)> { SECRETS.iter().copied().filter(|(k, _)| *k != field).collect() };
    for (role, env_var, field) in [
        ("sfu", "MYVID_LIVE__SFU_SECRET", "live.sfu_secret"),
        ("sfu", "MYVID_LIVE__STREAM_SECRET", "live.stream_secret"),
        ("api", "MYVID_LIVE__STREAM_SECRET", "live.stream_secret"),
    ] {
        let out = run(role, &without(env_var));
        assert!(!out.status.success(), "myvid {role} started without {field}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("`{field}` must be set for `myvid {role}`")), "{stderr}");
    }
}

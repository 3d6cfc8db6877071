//! Roles of the real binary on the test S3 store (`tools/ceph-harness`): their
//! environment, and the upload steps the S3 tests and the S3 benchmark share (so it
//! needs only `super::role`).

use std::path::Path;

use myvid_ceph_harness::S3Store;
use reqwest::Client;
use serde_json::{Value, json};

use super::role::{Role, post};

/// The environment that points a role at `s3`, with `extra` settings after it.
pub fn env(s3: &S3Store, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("MYVID_OBJECTS__BACKEND".into(), "s3".into()),
        ("MYVID_OBJECTS__ENDPOINT".into(), s3.endpoint()),
        ("MYVID_OBJECTS__REGION".into(), s3.region().into()),
        ("MYVID_OBJECTS__PATH_STYLE".into(), "true".into()),
        ("AWS_ACCESS_KEY_ID".into(), s3.access_key().into()),
        ("AWS_SECRET_ACCESS_KEY".into(), s3.secret_key().into()),
        ("MYVID_LIVE__SFU_SECRET".into(), "sfu-secret-shared-by-the-roles-0123456789".into()),
        ("MYVID_LIVE__STREAM_SECRET".into(), "stream-secret-shared-by-the-roles-0123456789".into()),
        ("MYVID_TURN__SECRET".into(), "turn-secret-shared-by-the-roles-0123456789".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// Starts `myvid <role>` over `data` with `env`.
pub fn start(role: &str, data: &Path, env: &[(String, String)]) -> Role {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Role::start(role, data, &env)
}

/// Signs up `name` at the API; returns the session token.
pub async fn sign_up(http: &Client, api: &Role, name: &str) -> String {
    let body =
        json!({"username": name, "email": format!("{name}@example.org"), "password": format!("password-{name}")});
    let signed_up = post(http, format!("{}/v1/auth/signup", api.url), None, body).await;
    assert_eq!(signed_up.status(), 201);
    signed_up.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// `NEWVIDEOUPLOAD` at the endpoint, which must grant it.
pub async fn grant(http: &Client, endpoint: &str, token: &str, title: &str) -> Value {
    let res = new_upload(http, endpoint, token, title).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// `NEWVIDEOUPLOAD` at the endpoint, whatever it answers.
pub async fn new_upload(http: &Client, endpoint: &str, token: &str, title: &str) -> reqwest::Response {
    let body = json!({"title": title, "description": "on S3", "preview_filename": "p.png", "video_filename": "v.webm"});
    post(http, format!("{endpoint}/NEWVIDEOUPLOAD"), Some(token), body).await
}

/// PUTs a preview image and a video file to an upload's presigned URLs (on the store).
pub async fn put_files(http: &Client, upload: &Value, preview: &[u8], video: &[u8]) {
    for (field, bytes) in [("preview_upload_url", preview), ("video_upload_url", video)] {
        let url = upload[field].as_str().unwrap();
        let res = http.put(url).body(bytes.to_vec()).send().await.unwrap();
        assert_eq!(res.status(), 200, "PUT {field}");
    }
}

/// `POST /API/PUBLISH/{id}` at the API, whatever it answers.
pub async fn publish(http: &Client, api: &Role, token: &str, id: &str) -> reqwest::Response {
    post(http, format!("{}/API/PUBLISH/{id}", api.url), Some(token), json!({})).await
}

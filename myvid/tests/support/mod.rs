//! Test harness: a real `myvid dev` server on 127.0.0.1:0 in this process, with a
//! manual clock, a fresh data directory, and an HTTP client. Dropping the harness
//! shuts the server down and deletes the directory, pass or fail.
#![allow(dead_code, missing_docs)]

pub mod role;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use myvid::config::Config;
use myvid_core::Clock;
use myvid_core::clock::ManualClock;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub struct TestServer {
    pub url: String,
    pub clock: ManualClock,
    pub http: Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` has adjusted the default config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config =
            Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().join("data"), ..Config::default() };
        // Transcoding is for the tests that turn it on: elsewhere it would only compete
        // for the CPU with what is being measured.
        config.worker.enabled = false;
        tweak(&mut config);
        config.validate().expect("test config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (clock, handle) = Clock::manual(Clock::system().now());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(myvid::roles::dev::run(config, listener, clock, async move {
            let _ = stopped.await;
        }));
        let server = TestServer { url, clock: handle, http: Client::new(), dir, stop: Some(stop), task: Some(task) };
        server.wait_ready().await;
        server
    }

    /// The listener is bound before the server task starts, so this request waits in
    /// the accept queue until the server answers: no polling or sleeping needed.
    async fn wait_ready(&self) {
        let res = self.http.get(format!("{}/healthz", self.url)).send().await.expect("server answers");
        assert!(res.status().is_success(), "health check failed: {}", res.status());
    }

    /// Tells the server to shut down without waiting for it (see [`TestServer::stop`]).
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether the server task has ended.
    pub fn has_stopped(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server stopped cleanly");
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut req = self.http.post(self.at(path)).json(&body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.http.get(self.at(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request")
    }

    /// Signs up `name` (email `name@example.org`, password `password-<name>`) and returns the token.
    pub async fn signup(&self, name: &str) -> String {
        let body =
            json!({"username": name, "email": format!("{name}@example.org"), "password": format!("password-{name}")});
        let res = self.post_json("/v1/auth/signup", None, body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Creates an upload through the original flow (NEWUPLOAD → endpoint → NEWVIDEOUPLOAD).
    pub async fn new_upload(&self, token: &str, title: &str, description: &str) -> Value {
        let res = self.post_json("/API/NEWUPLOAD/", Some(token), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let endpoint = res.json::<Value>().await.unwrap()["endpoint"].as_str().unwrap().to_owned();
        let body = json!({"title": title, "description": description, "preview_filename": "preview.png", "video_filename": "clip.webm"});
        let res =
            self.http.post(format!("{endpoint}/NEWVIDEOUPLOAD")).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn put_bytes(&self, url: &str, bytes: Vec<u8>) -> Response {
        self.http.put(url).body(bytes).send().await.expect("put")
    }

    /// Uploads the test clip and preview to a grant and publishes; returns the video.
    pub async fn upload_and_publish(&self, token: &str, title: &str, description: &str) -> Value {
        let grant = self.new_upload(token, title, description).await;
        let media = media();
        assert_eq!(
            self.put_bytes(grant["preview_upload_url"].as_str().unwrap(), read(&media.preview)).await.status(),
            200
        );
        assert_eq!(self.put_bytes(grant["video_upload_url"].as_str().unwrap(), read(&media.clip)).await.status(), 200);
        let id = grant["id"].as_str().unwrap();
        let res = self.post_json(&format!("/API/PUBLISH/{id}"), Some(token), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK, "publish failed: {}", res.text().await.unwrap());
        res.json().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read media")
}

/// Asserts an error response: status, `{"error":{"code","message"}}` with `code`.
pub async fn assert_error(res: Response, status: u16, code: &str) -> String {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let body: Value = res.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    let message = body["error"]["message"].as_str().expect("message is a string");
    assert!(!message.is_empty());
    message.to_owned()
}

/// Media made once per test binary with ffmpeg: a 2 s VP8 WebM and a PNG preview.
pub struct Media {
    pub clip: PathBuf,
    pub preview: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn media() -> &'static Media {
    static MEDIA: OnceLock<Media> = OnceLock::new();
    MEDIA.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let clip = dir.path().join("clip.webm");
        let preview = dir.path().join("preview.png");
        ffmpeg(
            &["-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=25", "-c:v", "libvpx", "-b:v", "200k"],
            &clip,
        );
        ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1"], &preview);
        Media { clip, preview, _dir: dir }
    })
}

fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed making {}", out.display());
}

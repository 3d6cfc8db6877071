//! The real binary, as a newcomer runs it: prints its URL, serves the site, imports a
//! catalogue, refuses bad config naming the field, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_myvid");

/// A child process killed by its PID when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data_dir: &std::path::Path) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start myvid");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read stdout");
    let url =
        line.trim().strip_prefix("myvid listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (running, url.to_owned())
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn dev_serves_the_site_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, url) = start(&dir.path().join("data"));
    let home = reqwest::get(format!("{url}/")).await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(home.text().await.unwrap().contains("MyVid"));
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    sigterm(&server.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "graceful stop exits 0, got {status}");
}

#[tokio::test]
async fn import_loads_the_sample_catalogue_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/sample-catalogue.json");
    let import = || Command::new(BIN).arg("import").arg(sample).arg("--data-dir").arg(&data).output().unwrap();
    let first = import();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let out = String::from_utf8(first.stdout).unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(sample).unwrap()).unwrap();
    assert!(out.starts_with(&format!("imported {n} new of {n} entries", n = entries.len())), "{out}");
    let second = String::from_utf8(import().stdout).unwrap();
    assert!(second.starts_with(&format!("imported 0 new of {} entries", entries.len())), "{second}");

    let (_server, url) = start(&data);
    let word = entries[0]["title"].as_str().unwrap().split_whitespace().next().unwrap().to_owned();
    let found: Vec<serde_json::Value> = reqwest::Client::new()
        .post(format!("{url}/API/VIDEO/"))
        .json(&serde_json::json!({ "search": word }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(found.iter().any(|v| v["title"] == entries[0]["title"] && v["type"] == "HTTP"));
}

#[test]
fn bad_config_is_refused_with_the_field_named() {
    let out = Command::new(BIN).args(["dev"]).env("MYVID_UPLOADS__URL_TTL_SECS", "3").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("uploads.url_ttl_secs"), "{stderr}");
    let out = Command::new(BIN).args(["dev", "--listen", "not-an-address"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`listen`"));
}

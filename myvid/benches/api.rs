//! API benchmark: a real `myvid dev` server on loopback, driven over HTTP.
//!
//! Measures, on a catalogue of 10,000 public videos:
//! - search latency (`POST /API/VIDEO/` with words), one client: p50 / p99;
//! - search throughput with 16 concurrent clients;
//! - signed object upload (PUT) and download (GET) throughput for a 64 MiB file.
//!
//! Run: `cargo bench -p myvid --bench api`. Prints one line per figure.
#![allow(missing_docs)]

use std::time::Instant;

use myvid::config::Config;
use myvid_core::Clock;
use myvid_store::SqliteMeta;
use serde_json::{Value, json};
use support::{WORDS, median, percentile};

mod support;

const VIDEOS: usize = 10_000;
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let catalogue: Vec<Value> = (0..VIDEOS)
        .map(|i| {
            let w = |k: usize| WORDS[(i * 7 + k * 13) % WORDS.len()];
            json!({
                "title": format!("{} {} talk {i}", w(0), w(1)),
                "description": format!("about {} and {} at scale", w(2), w(3)),
                "url": format!("https://media.example.org/{i}.mp4"),
            })
        })
        .collect();
    let file = dir.path().join("catalogue.json");
    std::fs::write(&file, serde_json::to_vec(&catalogue)?)?;
    let meta = SqliteMeta::open(&data_dir.join("meta.sqlite3")).await?;
    myvid::import::import_file(&meta, &file, 0).await?;
    drop(meta);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let config = Config { data_dir, ..Config::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(myvid::roles::dev::run(config, listener, Clock::system(), async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    // Search latency, one client.
    let mut latencies = Vec::new();
    for i in 0..1_000 {
        let words = format!("{} {}", WORDS[i % WORDS.len()], WORDS[(i * 3 + 1) % WORDS.len()]);
        let started = Instant::now();
        let res = http.post(format!("{url}/API/VIDEO/")).json(&json!({ "search": words })).send().await?;
        assert_eq!(res.status(), 200);
        let items: Vec<Value> = res.json().await?;
        assert_eq!(items.len(), 24);
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "search latency over {VIDEOS} videos, 1 client, 1000 queries: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3
    );

    // Search throughput, 16 clients; median of 3 rounds.
    let mut rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let http = http.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    for i in 0..100 {
                        let words = WORDS[(t * 5 + i) % WORDS.len()];
                        let res =
                            http.post(format!("{url}/API/VIDEO/")).json(&json!({ "search": words })).send().await?;
                        assert_eq!(res.status(), 200);
                        res.bytes().await?;
                    }
                    Ok::<(), reqwest::Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        rates.push(1_600.0 / started.elapsed().as_secs_f64());
    }
    println!("search throughput, 16 clients, 3 rounds of 1600 queries: median {:.0} queries/s", median(rates));

    // Object upload and download throughput.
    let signup = json!({"username": "bench", "email": "bench@example.org", "password": "benchmark-password"});
    let token: Value = http.post(format!("{url}/v1/auth/signup")).json(&signup).send().await?.json().await?;
    let token = token["token"].as_str().unwrap_or_default().to_owned();
    let body = vec![0x5au8; 64 << 20];
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let req = json!({"title": "bench", "preview_filename": "p.png", "video_filename": "v.webm"});
        let grant: Value =
            http.post(format!("{url}/v1/uploads")).bearer_auth(&token).json(&req).send().await?.json().await?;
        let put = grant["video_upload_url"].as_str().unwrap_or_default();
        let started = Instant::now();
        assert_eq!(http.put(put).body(body.clone()).send().await?.status(), 200);
        up.push(64.0 / started.elapsed().as_secs_f64());
        let video: Value = http
            .get(format!("{url}/API/VIDEO/{}", grant["id"].as_str().unwrap_or_default()))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let started = Instant::now();
        let bytes = http.get(video["url"].as_str().unwrap_or_default()).send().await?.bytes().await?;
        assert_eq!(bytes.len(), body.len());
        down.push(64.0 / started.elapsed().as_secs_f64());
    }
    println!("signed PUT of 64 MiB, 5 runs: median {:.0} MiB/s", median(up));
    println!("signed GET of 64 MiB, 5 runs: median {:.0} MiB/s", median(down));

    let _ = stop.send(());
    server.await??;
    Ok(())
}

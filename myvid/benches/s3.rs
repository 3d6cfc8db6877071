//! Objects on a real erasure-coded S3 store on loopback (Ceph RGW, EC 4+2 over six
//! OSDs, `tools/ceph-harness`), with `myvid api` and `myvid endpoint` as processes.
//!
//! Measures:
//! - upload throughput of a 256 MiB file through a presigned PUT straight to the store,
//!   against the CPU time the API and endpoint processes spend meanwhile (they hand out
//!   the URL and are not in the data path: their CPU should stay near idle), and the CPU
//!   the store's own daemons spend for comparison;
//! - the same for the browser's resumable path: a multipart upload through
//!   `/v1/uploads/{id}/multipart` (start, part URLs, complete) with 16 MiB parts sent 4 at
//!   a time to presigned part URLs;
//! - time to first byte of playback: a presigned GET of a published video from the
//!   store, against the same video's bytes from the embedded store of `myvid dev` (same
//!   machine, same client), 200 requests each, alternating.
//!
//! Run: `cargo bench -p myvid --bench s3` (needs Ceph: `scripts/install-deps.sh test`).
//! Prints one line per figure.
#![allow(missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use myvid_ceph_harness::S3Store;
use reqwest::Client;
use serde_json::{Value, json};
use support::percentile;

#[path = "../tests/support/role.rs"]
#[allow(dead_code)]
mod role;
#[path = "../tests/support/s3.rs"]
#[allow(dead_code)]
mod s3;
mod support;

use role::Role;
use s3::{env, grant, publish, put_files, sign_up, start};

const UPLOAD_BYTES: usize = 256 << 20;
const TTFB_REQUESTS: usize = 200;

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, rest)| rest.split(' ').collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the command name.
    let ticks: u64 = [11, 12].iter().filter_map(|i| fields.get(*i)?.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

/// PIDs of the store's daemons (radosgw and the OSDs), from their pid files.
fn store_pids(s3: &S3Store) -> Vec<u32> {
    let run = s3.base_dir().join("run");
    let Ok(entries) = std::fs::read_dir(&run) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .collect()
}

/// `myvid dev` (every role, embedded stores) on a free port over `data`.
fn start_dev(data: &Path) -> Role {
    use std::io::BufRead;
    let log = data.with_file_name("dev.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_myvid"))
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start myvid dev");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.trim().strip_prefix("myvid listening on ").unwrap_or_else(|| panic!("first line {line:?}")).to_owned();
    Role { child, url, log }
}

/// A 10 s 640x360 VP8 clip and a PNG preview made by ffmpeg in `dir`.
fn make_media(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let ffmpeg = |args: &[&str], out: &Path| {
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args(args)
            .arg(out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg {args:?}");
        std::fs::read(out).unwrap()
    };
    let clip = ffmpeg(
        &["-f", "lavfi", "-i", "testsrc=duration=10:size=640x360:rate=25", "-c:v", "libvpx", "-b:v", "1M"],
        &dir.join("clip.webm"),
    );
    let preview = ffmpeg(&["-f", "lavfi", "-i", "testsrc=size=640x360", "-frames:v", "1"], &dir.join("preview.png"));
    (clip, preview)
}

/// Uploads the test clip and preview through `endpoint` and publishes them at `api`;
/// returns the presigned playback URL.
async fn published_clip(http: &Client, media: &(Vec<u8>, Vec<u8>), endpoint: &str, api: &Role, token: &str) -> String {
    let upload = grant(http, endpoint, token, "Benchmark clip").await;
    put_files(http, &upload, &media.1, &media.0).await;
    let id = upload["id"].as_str().unwrap();
    let res = publish(http, api, token, id).await;
    assert_eq!(res.status(), 200, "publish: {}", res.text().await.unwrap());
    let video: Value = http.get(format!("{}/API/VIDEO/{id}", api.url)).send().await.unwrap().json().await.unwrap();
    video["url"].as_str().unwrap().to_owned()
}

/// A multipart upload of `body` for the upload `id` through the API, `parallel` parts at
/// a time; returns when it is complete.
async fn multipart_upload(http: &Client, api: &str, token: &str, id: &str, body: &[u8], parallel: usize) {
    let size = body.len();
    let res = http
        .post(format!("{api}/v1/uploads/{id}/multipart"))
        .bearer_auth(token)
        .json(&json!({"size": size}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "start: {}", res.text().await.unwrap());
    let grant: Value = res.json().await.unwrap();
    let upload_id = grant["upload_id"].as_str().unwrap().to_owned();
    let part_size = usize::try_from(grant["part_size"].as_u64().unwrap()).unwrap();
    let numbers: Vec<u64> = (1..=grant["part_count"].as_u64().unwrap()).collect();
    let res = http
        .post(format!("{api}/v1/uploads/{id}/multipart/parts"))
        .bearer_auth(token)
        .json(&json!({"upload_id": upload_id, "size": size, "parts": numbers}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "part URLs: {}", res.text().await.unwrap());
    let urls: Value = res.json().await.unwrap();
    let parts: Vec<(usize, String)> = urls["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (usize::try_from(p["number"].as_u64().unwrap()).unwrap(), p["url"].as_str().unwrap().to_owned()))
        .collect();
    for batch in parts.chunks(parallel) {
        let sends = batch.iter().map(|(n, url)| {
            let from = (n - 1) * part_size;
            let chunk = body[from..(from + part_size).min(size)].to_vec();
            async move {
                let res = http.put(url).body(chunk).send().await.unwrap();
                assert!(res.status().is_success(), "part {n}: {}", res.status());
            }
        });
        futures_util::future::join_all(sends).await;
    }
    let res = http
        .post(format!("{api}/v1/uploads/{id}/multipart/complete"))
        .bearer_auth(token)
        .json(&json!({"upload_id": upload_id, "size": size}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "complete: {}", res.text().await.unwrap());
}

/// Time to the first body byte of a GET.
async fn ttfb(http: &Client, url: &str) -> Duration {
    let started = Instant::now();
    let mut res = http.get(url).send().await.unwrap();
    assert!(res.status().is_success());
    let first = res.chunk().await.unwrap();
    let took = started.elapsed();
    assert!(first.is_some_and(|c| !c.is_empty()));
    while res.chunk().await.unwrap().is_some() {}
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let s3 = S3Store::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let max_video = (1u64 << 30).to_string();
    let env = env(&s3, &[("MYVID_UPLOADS__MAX_VIDEO_BYTES", max_video.as_str())]);
    let endpoint = start("endpoint", &data, &env);
    let api = start("api", &data, &env);
    let dev = start_dev(&dir.path().join("dev-data"));
    let http = Client::new();
    let token = sign_up(&http, &api, "bench").await;

    // Upload throughput through a presigned PUT, and who spent CPU meanwhile.
    let body: Vec<u8> = (0..UPLOAD_BYTES).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let upload = grant(&http, &endpoint.url, &token, "Throughput").await;
    let url = upload["video_upload_url"].as_str().unwrap().to_owned();
    let daemons = store_pids(&s3);
    let cpu_before = (cpu_seconds(api.child.id()), cpu_seconds(endpoint.child.id()));
    let store_before: f64 = daemons.iter().map(|p| cpu_seconds(*p)).sum();
    let started = Instant::now();
    let res = http.put(&url).body(body).send().await.unwrap();
    let took = started.elapsed();
    assert!(res.status().is_success(), "PUT: {}", res.status());
    let api_cpu = cpu_seconds(api.child.id()) - cpu_before.0;
    let endpoint_cpu = cpu_seconds(endpoint.child.id()) - cpu_before.1;
    let store_cpu: f64 = daemons.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - store_before;
    let mib = UPLOAD_BYTES as f64 / (1 << 20) as f64;
    println!(
        "upload of {mib:.0} MiB through one presigned PUT: {:.1} s, {:.1} MiB/s",
        took.as_secs_f64(),
        mib / took.as_secs_f64()
    );
    println!(
        "CPU meanwhile: api {api_cpu:.2} s ({:.1} % of a core), endpoint {endpoint_cpu:.2} s, Ceph daemons {store_cpu:.1} s",
        100.0 * api_cpu / took.as_secs_f64()
    );

    // The resumable path: parts to presigned part URLs, 4 at a time, through the API.
    let upload = grant(&http, &endpoint.url, &token, "Multipart throughput").await;
    let id = upload["id"].as_str().unwrap().to_owned();
    let body: Vec<u8> = (0..UPLOAD_BYTES).map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8).collect();
    let cpu_before = cpu_seconds(api.child.id());
    let store_before: f64 = daemons.iter().map(|p| cpu_seconds(*p)).sum();
    let started = Instant::now();
    multipart_upload(&http, &api.url, &token, &id, &body, 4).await;
    let took = started.elapsed();
    let api_cpu = cpu_seconds(api.child.id()) - cpu_before;
    let store_cpu: f64 = daemons.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - store_before;
    println!(
        "multipart upload of {mib:.0} MiB (16 MiB parts, 4 at a time, via the API): {:.1} s, {:.1} MiB/s",
        took.as_secs_f64(),
        mib / took.as_secs_f64()
    );
    println!(
        "CPU meanwhile: api {api_cpu:.2} s ({:.1} % of a core), Ceph daemons {store_cpu:.1} s",
        100.0 * api_cpu / took.as_secs_f64()
    );

    // Time to first byte: the store's presigned GET against the embedded store's.
    let media = make_media(dir.path());
    let from_store = published_clip(&http, &media, &endpoint.url, &api, &token).await;
    let dev_token = sign_up(&http, &dev, "bench").await;
    let from_dev = published_clip(&http, &media, &dev.url, &dev, &dev_token).await;
    let (mut store_times, mut dev_times) = (Vec::new(), Vec::new());
    for _ in 0..TTFB_REQUESTS {
        store_times.push(ttfb(&http, &from_store).await);
        dev_times.push(ttfb(&http, &from_dev).await);
    }
    store_times.sort();
    dev_times.sort();
    let (s50, s99) = (percentile(&store_times, 50.0), percentile(&store_times, 99.0));
    let (d50, d99) = (percentile(&dev_times, 50.0), percentile(&dev_times, 99.0));
    println!("playback TTFB from the S3 store ({TTFB_REQUESTS} GETs): p50 {:.2} ms, p99 {:.2} ms", ms(s50), ms(s99));
    println!("playback TTFB from myvid dev's embedded store: p50 {:.2} ms, p99 {:.2} ms", ms(d50), ms(d99));
    println!("S3 / embedded: p50 {:.2}x, p99 {:.2}x", ms(s50) / ms(d50), ms(s99) / ms(d99));
}

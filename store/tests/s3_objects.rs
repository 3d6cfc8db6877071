//! `S3Objects` against a real erasure-coded S3 store on loopback (Ceph RGW, EC 4+2 over
//! six OSDs, started by `tools/ceph-harness`): buckets created at start, presigned URLs
//! that name the store and that it checks (expiry, tampering), Range, server-side copy,
//! put/head/delete, the whole object conformance suite (`tests/common/objects.rs`: streams,
//! ranges, multipart uploads through presigned part URLs), bucket CORS answered to a
//! browser's preflight, and a store without quorum turned into `Unavailable` in time.
//! One store per test binary (it takes about 15 s to start), so everything runs in turn
//! in one test.

mod common {
    pub mod objects;
}

use std::time::{Duration, Instant};

use myvid_ceph_harness::S3Store;
use myvid_store::{Bucket, ObjectStore, S3Objects, S3Options, StoreError};

use common::objects as suite;

/// The origin of MyVid's pages in these tests (the buckets' CORS allows it).
const PAGE_ORIGIN: &str = "http://page.example";

fn options(s3: &S3Store) -> S3Options {
    let mut options = S3Options::new(&s3.endpoint(), s3.access_key(), s3.secret_key());
    options.region = s3.region().to_owned();
    options.attempt_timeout = Duration::from_secs(3);
    options.operation_timeout = Duration::from_secs(6);
    options.max_attempts = 1;
    options.cors_origins = vec![PAGE_ORIGIN.to_owned()];
    options
}

fn unix_now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&body[split + 1..]).trim().parse().unwrap_or(0);
    body.truncate(split);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_backend_on_an_erasure_coded_store() {
    let s3 = S3Store::start();
    let store = S3Objects::open(&options(&s3)).await.expect("opens and creates the buckets");
    S3Objects::open(&options(&s3)).await.expect("opening again finds the buckets");

    // A browser's upload: a presigned PUT on the store itself.
    let url = store.presign_put(Bucket::Staging, "abc/video", 1 << 20, unix_now() + 600).await.unwrap();
    assert!(url.starts_with(&s3.endpoint()), "the URL names the store: {url}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(curl(&["-T", file.to_str().unwrap(), &url]).0, 200);
    assert_eq!(store.head(Bucket::Staging, "abc/video").await.unwrap().map(|i| i.size), Some(300_000));

    // Publish copies it server-side; playback is a presigned GET with the server's type.
    store.copy((Bucket::Staging, "abc/video"), (Bucket::Videos, "abc/n1.mp4")).await.unwrap();
    let get = store.presign_get(Bucket::Videos, "abc/n1.mp4", unix_now() + 600).await.unwrap();
    let (status, body) = curl(&[&get]);
    assert_eq!((status, body.len()), (200, bytes.len()));
    assert_eq!(body, bytes);
    let (status, part) = curl(&["-H", "Range: bytes=100-199", &get]);
    assert_eq!((status, part.as_slice()), (206, &bytes[100..200]));
    let (_, headers) = curl(&["-D", "-", "-o", "/dev/null", &get]);
    let headers = String::from_utf8_lossy(&headers).to_ascii_lowercase();
    assert!(headers.contains("content-type: video/mp4"), "{headers}");
    assert!(headers.contains("content-disposition: inline; filename=\"n1.mp4\""), "{headers}");

    // The store checks what it signed.
    let tampered = get.replace("n1.mp4", "n2.mp4");
    assert_eq!(curl(&[&tampered]).0, 403, "another key under the same signature");
    let expired = store.presign_get(Bucket::Videos, "abc/n1.mp4", unix_now() - 60).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(curl(&[&expired]).0, 403, "an expired URL");

    // Server-made objects, missing ones, deletes.
    store.put(Bucket::Previews, "abc/n1.jpg", vec![0xff, 0xd8, 0xff]).await.unwrap();
    assert_eq!(store.head(Bucket::Previews, "abc/n1.jpg").await.unwrap().map(|i| i.size), Some(3));
    assert!(matches!(
        store.copy((Bucket::Staging, "nope/x"), (Bucket::Videos, "nope/y.mp4")).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.head(Bucket::Videos, "nope/y.mp4").await.unwrap(), None);
    store.delete(Bucket::Staging, "abc/video").await.unwrap();
    store.delete(Bucket::Staging, "abc/video").await.unwrap();
    assert_eq!(store.head(Bucket::Staging, "abc/video").await.unwrap(), None);

    // Every check of the object suite, on this store.
    suite::run_trait_checks(&store).await;
    suite::run_http_checks(&store, &suite::Http::new()).await;

    // A page on MyVid's origin may send parts to the store and read their ETag, and read
    // videos by range.
    let id = store.create_multipart(Bucket::Staging, "cors/video").await.unwrap();
    let part_url = store.presign_part(Bucket::Staging, "cors/video", &id, 1, 1 << 20, unix_now() + 600).await.unwrap();
    let preflight = |url: &str, method: &str| {
        let origin = format!("Origin: {PAGE_ORIGIN}");
        let method = format!("Access-Control-Request-Method: {method}");
        let (status, headers) =
            curl(&["-X", "OPTIONS", "-H", &origin, "-H", &method, "-D", "-", "-o", "/dev/null", url]);
        (status, String::from_utf8_lossy(&headers).to_ascii_lowercase())
    };
    let (status, headers) = preflight(&part_url, "PUT");
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains(&format!("access-control-allow-origin: {PAGE_ORIGIN}")), "{headers}");
    let (_, headers) = preflight(&get, "GET");
    assert!(headers.contains(&format!("access-control-allow-origin: {PAGE_ORIGIN}")), "{headers}");
    let (_, headers) = preflight(&part_url, "DELETE");
    assert!(!headers.contains("access-control-allow-origin"), "only PUT on staging: {headers}");
    let part = dir.path().join("part");
    std::fs::write(&part, b"a part").unwrap();
    let origin = format!("Origin: {PAGE_ORIGIN}");
    let (status, headers) =
        curl(&["-H", &origin, "-T", part.to_str().unwrap(), "-D", "-", "-o", "/dev/null", &part_url]);
    let headers = String::from_utf8_lossy(&headers).to_ascii_lowercase();
    assert_eq!(status, 200, "{headers}");
    let exposed = headers.lines().find(|l| l.starts_with("access-control-expose-headers:")).unwrap_or_default();
    assert!(exposed.contains("etag"), "the page can read the ETag: {headers}");
    store.abort_multipart(Bucket::Staging, "cors/video", &id).await.unwrap();

    // Two of six OSDs down: still read-write. A third: calls end in time, as Unavailable.
    s3.kill_osd(0);
    s3.kill_osd(1);
    store.put(Bucket::Previews, "abc/n2.jpg", vec![1; 4096]).await.expect("writes with two OSDs down");
    assert!(store.head(Bucket::Videos, "abc/n1.mp4").await.unwrap().is_some());
    s3.kill_osd(2);
    let asked = Instant::now();
    let outcome = store.put(Bucket::Previews, "abc/n3.jpg", vec![2; 4096]).await;
    let took = asked.elapsed();
    println!("a put with three of six OSDs down: {outcome:?} after {took:?}");
    assert!(matches!(outcome, Err(StoreError::Unavailable(_))), "{outcome:?}");
    assert!(took < Duration::from_secs(8), "answered within the operation timeout: {took:?}");
}

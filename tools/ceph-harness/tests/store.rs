//! The harness against a real cluster: S3 over the erasure-coded pool, with two of the six
//! OSDs killed and then restarted.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use myvid_ceph_harness::S3Store;

/// Seconds one S3 request may take: Ceph hangs rather than failing when data is unavailable.
const REQUEST_TIMEOUT: &str = "20";

/// One S3 request with curl, signed (AWS signature v4) with the store's user; `upload` is
/// the body to PUT, `download` where a GET's body goes. Returns the HTTP status.
fn s3(
    store: &S3Store,
    method: &str,
    path: &str,
    upload: Option<&Path>,
    download: Option<&Path>,
) -> Result<u16, String> {
    let mut curl = Command::new("curl");
    curl.args(["-s", "-m", REQUEST_TIMEOUT, "-o"])
        .arg(download.unwrap_or(Path::new("/dev/null")))
        .args(["-w", "%{http_code}", "-X", method])
        .arg("--aws-sigv4")
        .arg(format!("aws:amz:{}:s3", store.region()))
        .arg("--user")
        .arg(format!("{}:{}", store.access_key(), store.secret_key()))
        // curl 7.88 signs with the payload hash only when this header gives it
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]);
    if let Some(body) = upload {
        curl.arg("-T").arg(body);
    }
    let output = curl.arg(format!("{}{path}", store.endpoint())).output().map_err(|e| format!("curl: {e}"))?;
    let status = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("{method} {path}: curl exit {:?} (28: timed out), status {status}", output.status.code()));
    }
    status.parse().map_err(|e| format!("{method} {path}: status {status:?}: {e}"))
}

/// `len` bytes that differ with `seed` (a simple generator: no dependency needed).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

/// PUTs `len` bytes as `key` and GETs them back; returns the bytes.
fn put_and_get(store: &S3Store, key: &str, len: usize, seed: u64) -> Vec<u8> {
    let data = bytes(len, seed);
    let file = store.base_dir().join(format!("upload-{seed}"));
    fs::write(&file, &data).unwrap();
    let started = Instant::now();
    assert_eq!(s3(store, "PUT", &format!("/media/{key}"), Some(&file), None), Ok(200), "PUT {key}");
    assert_eq!(get(store, key), data, "GET {key} after PUT");
    eprintln!("PUT + GET of {len} bytes ({key}) in {:.2} s", started.elapsed().as_secs_f64());
    data
}

fn get(store: &S3Store, key: &str) -> Vec<u8> {
    let file = store.base_dir().join("download");
    assert_eq!(s3(store, "GET", &format!("/media/{key}"), None, Some(&file)), Ok(200), "GET {key}");
    fs::read(&file).unwrap()
}

/// The OBJECTS column of `ceph df` for the EC data pool
/// (`default.rgw.buckets.data  1  16  3.0 MiB  2  4.5 MiB  0  6.5 GiB`).
fn data_pool_objects(store: &S3Store) -> u64 {
    let df = store.ceph(&["df"]).unwrap();
    let line = df.lines().find(|l| l.starts_with("default.rgw.buckets.data ")).expect("the data pool in ceph df");
    line.split_whitespace().nth(5).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[test]
fn s3_on_erasure_coded_pool_survives_two_dead_osds() {
    let store = S3Store::start();
    assert_eq!(store.osd_count(), 6);
    assert!(store.endpoint().starts_with("http://127.0.0.1:"));
    let env = fs::read_to_string(store.base_dir().join("env.sh")).unwrap();
    assert!(env.contains(&format!("MYVID_S3_ENDPOINT={}", store.endpoint())), "{env}");
    assert!(env.contains(&format!("MYVID_S3_ACCESS_KEY={}", store.access_key())), "{env}");

    // the data pool is what the harness promises: EC 4+2, one chunk per OSD, min_size 4
    let pool = "default.rgw.buckets.data";
    let profile = store.ceph(&["osd", "pool", "get", pool, "erasure_code_profile"]).unwrap();
    let profile = profile.trim_start_matches("erasure_code_profile: ");
    let settings = store.ceph(&["osd", "erasure-code-profile", "get", profile]).unwrap();
    for line in ["k=4", "m=2", "crush-failure-domain=osd"] {
        assert!(settings.lines().any(|l| l == line), "{settings}");
    }
    assert_eq!(store.ceph(&["osd", "pool", "get", pool, "min_size"]).unwrap(), "min_size: 4");

    assert_eq!(s3(&store, "PUT", "/media", None, None), Ok(200), "create bucket");
    let before = put_and_get(&store, "before", 3 << 20, 1);
    // the object's chunks are in the EC pool (`ceph df` is refreshed every second or so)
    let deadline = Instant::now() + Duration::from_secs(15);
    while data_pool_objects(&store) == 0 {
        assert!(Instant::now() < deadline, "no objects in {pool}: {}", store.ceph(&["df"]).unwrap());
        thread::sleep(Duration::from_millis(250));
    }

    // two of six OSDs crash: reads and writes go on
    store.kill_osd(1);
    store.kill_osd(4);
    let during = put_and_get(&store, "during", 2 << 20, 2);
    assert_eq!(get(&store, "before"), before, "old object with 2 OSDs down");

    // they come back (bluestore: with their data) and catch up
    store.restart_osd(1);
    store.restart_osd(4);
    assert_eq!(get(&store, "before"), before);
    assert_eq!(get(&store, "during"), during);
    put_and_get(&store, "after", 1 << 20, 3);

    let base_dir = store.base_dir().to_owned();
    drop(store);
    if std::env::var_os("MYVID_KEEP_S3").is_none() {
        assert!(!base_dir.exists(), "{} is left after drop", base_dir.display());
    }
}

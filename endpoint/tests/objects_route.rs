//! The embedded object store behind its real HTTP route (`objects_router` served on
//! 127.0.0.1:0): the whole object conformance suite of the store crate
//! (`store/tests/common/objects.rs`, included here), whose HTTP checks send multipart
//! parts to the presigned part URLs with `curl` as a browser would; plus the route's own
//! rules for parts (staging only, the signed size limit, CORS with a readable `ETag`).

#[path = "../../store/tests/common/objects.rs"]
mod suite;

use std::sync::Arc;

use myvid_core::live::StreamTokens;
use myvid_core::metrics::Metrics;
use myvid_core::{Clock, Services, Settings};
use myvid_store::{Bucket, LocalObjects, ObjectStore, SqliteMeta};

use suite::{Http, bytes, unix_now};

/// The embedded store, its objects route served on a free loopback port, and the
/// directories behind it.
struct Route {
    local: Arc<LocalObjects>,
    base: String,
    _dir: tempfile::TempDir,
}

async fn serve() -> Route {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let local = Arc::new(LocalObjects::open(dir.path().join("objects"), base.clone(), b"route secret").await.unwrap());
    let services = Services {
        meta: Arc::new(SqliteMeta::open_in_memory().await.unwrap()),
        objects: local.clone(),
        objects_health: Default::default(),
        clock: Clock::system(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::new(Metrics::default()),
        stream_tokens: StreamTokens::new(b"tokens"),
        limits: Arc::new(myvid_core::abuse::Limiters::disabled()),
        views: Arc::new(myvid_core::views::Views::new(myvid_core::views::ViewSettings::default())),
    };
    let app = myvid_endpoint::objects_router(services, local.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Route { local, base, _dir: dir }
}

/// One `#[tokio::test]` per trait check of the suite, each on a fresh store and route.
macro_rules! trait_checks {
    ($($check:ident),* $(,)?) => {
        mod trait_checks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let route = crate::serve().await;
                    crate::suite::$check(&*route.local).await;
                }
            )*
        }
    };
}
suite::every_trait_check!(trait_checks);

/// One `#[tokio::test]` per HTTP check of the suite, each on a fresh store and route.
macro_rules! http_checks {
    ($($check:ident),* $(,)?) => {
        mod http_checks {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let route = crate::serve().await;
                    crate::suite::$check(&*route.local, &crate::Http::new()).await;
                }
            )*
        }
    };
}
suite::every_http_check!(http_checks);

/// `curl` with `args`; returns the status and the response headers, lowercased.
async fn curl_headers(args: &[&str]) -> (u16, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o", "/dev/null", "-D", "-", "-w", "%{http_code}"])
        .args(args)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let (headers, status) = text.trim_end().rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), headers.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_may_send_parts_and_read_their_etag() {
    let route = serve().await;
    let store: &dyn ObjectStore = &*route.local;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    let url = store.presign_part(Bucket::Staging, "v1/video", &id, 1, 1000, unix_now() + 600).await.unwrap();
    let origin = "http://page.example";
    let (status, headers) = curl_headers(&[
        "-X",
        "OPTIONS",
        "-H",
        &format!("Origin: {origin}"),
        "-H",
        "Access-Control-Request-Method: PUT",
        "-H",
        "Access-Control-Request-Headers: content-type",
        &url,
    ])
    .await;
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains("access-control-allow-origin: *"), "{headers}");
    assert!(headers.contains("access-control-allow-methods:") && headers.contains("put"), "{headers}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("part");
    std::fs::write(&file, bytes(100, 1)).unwrap();
    let (status, headers) =
        curl_headers(&["-H", &format!("Origin: {origin}"), "-T", file.to_str().unwrap(), &url]).await;
    assert_eq!(status, 200, "{headers}");
    assert!(headers.contains("etag: \""), "{headers}");
    let exposed = headers.lines().find(|l| l.starts_with("access-control-expose-headers:")).unwrap_or_default();
    assert!(exposed.contains("etag"), "the page can read the ETag: {headers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_over_its_signed_limit_is_refused_and_not_listed() {
    let route = serve().await;
    let store: &dyn ObjectStore = &*route.local;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    let url = store.presign_part(Bucket::Staging, "v1/video", &id, 1, 1000, unix_now() + 600).await.unwrap();
    let http = Http::new();
    assert_eq!(http.put(&url, &bytes(1001, 2)).await.status, 413);
    assert_eq!(store.list_parts(Bucket::Staging, "v1/video", &id).await.unwrap(), Vec::new());
    let answer = http.put(&url, &bytes(1000, 3)).await;
    assert_eq!(answer.status, 200, "exactly the limit: {answer:?}");
    let listed = store.list_parts(Bucket::Staging, "v1/video", &id).await.unwrap();
    assert_eq!(listed.iter().map(|p| (p.size, Some(p.etag.clone()))).collect::<Vec<_>>(), [(1000, answer.etag)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_are_only_written_to_staging() {
    let route = serve().await;
    let store: &dyn ObjectStore = &*route.local;
    let id = store.create_multipart(Bucket::Videos, "v1/n1.mp4").await.unwrap();
    let url = store.presign_part(Bucket::Videos, "v1/n1.mp4", &id, 1, 1000, unix_now() + 600).await.unwrap();
    assert!(url.starts_with(&route.base), "{url}");
    assert_eq!(Http::new().put(&url, b"data").await.status, 403);
    assert_eq!(store.list_parts(Bucket::Videos, "v1/n1.mp4", &id).await.unwrap(), Vec::new());
}

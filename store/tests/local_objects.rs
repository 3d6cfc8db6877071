//! `LocalObjects`: signed URLs, atomic size-limited writes, head/delete, multipart parts
//! written straight through the store (the HTTP side is `endpoint/tests/objects_route.rs`),
//! and the trait checks of the object conformance suite (`tests/common/objects.rs`), one
//! test per check on a fresh store.

mod common {
    pub mod objects;
}

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;

use myvid_store::objects::ObjectInfo;
use myvid_store::objects::local::{SignedQuery, WriteError};
use myvid_store::objects::signing::{Method, SignatureError};
use myvid_store::{Bucket, LocalObjects, ObjectStore, StoreError};

use common::objects as suite;

const NOW: i64 = 1_700_000_000;
const BASE: &str = "http://127.0.0.1:8080";

async fn open(root: &Path) -> LocalObjects {
    LocalObjects::open(root.to_owned(), format!("{BASE}/"), b"test secret").await.unwrap()
}

/// One `#[tokio::test]` per trait check of the suite, each on a fresh store.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod conformance {
            $(
                #[tokio::test]
                async fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = crate::open(dir.path()).await;
                    crate::suite::$check(&store).await;
                }
            )*
        }
    };
}
suite::every_trait_check!(conformance);

/// Splits a URL of ours into bucket, key and its signed query.
fn parse(url: &str) -> (Bucket, String, SignedQuery) {
    let rest = url.strip_prefix(&format!("{BASE}/objects/")).expect("URL on our /objects/ route");
    let (path, query) = rest.split_once('?').expect("a query string");
    let (bucket, key) = path.split_once('/').unwrap();
    let mut q = SignedQuery::default();
    let mut seen = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        seen.push(name.to_owned());
        match name {
            "expires" => q.expires = value.parse().unwrap(),
            "max" => q.max = Some(value.parse().unwrap()),
            "sig" => q.sig = value.to_owned(),
            "upload" => q.upload = Some(value.to_owned()),
            "part" => q.part = Some(value.parse().unwrap()),
            other => panic!("unexpected parameter {other}"),
        }
    }
    assert_eq!(seen.last().map(String::as_str), Some("sig"), "sig comes last");
    (Bucket::parse(bucket).unwrap(), key.to_owned(), q)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test]
async fn open_creates_the_bucket_directories() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    open(&root).await;
    assert!(root.join("previews").is_dir());
    assert!(root.join("videos").is_dir());
    assert!(root.join("staging").is_dir());
}

#[tokio::test]
async fn presigned_put_url_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let url = store.presign_put(Bucket::Videos, "abc/clip.webm", 5_000, NOW + 600).await.unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/objects/videos/abc/clip.webm?expires=1700000600&max=5000&sig="));
    let (bucket, key, query) = parse(&url);
    assert_eq!(
        (bucket, key.as_str(), query.expires, query.max),
        (Bucket::Videos, "abc/clip.webm", NOW + 600, Some(5_000))
    );
    assert_eq!(store.check(Method::Put, bucket, &key, &query, NOW), Ok(()));
    assert_eq!(store.check(Method::Put, bucket, &key, &query, NOW + 599), Ok(()));
}

#[tokio::test]
async fn presigned_get_url_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let url = store.presign_get(Bucket::Previews, "abc/preview.jpg", NOW + 60).await.unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/objects/previews/abc/preview.jpg?expires=1700000060&sig="));
    let (bucket, key, query) = parse(&url);
    assert_eq!(query.max, None);
    assert_eq!(store.check(Method::Get, bucket, &key, &query, NOW), Ok(()));
    assert_eq!(store.check(Method::Put, bucket, &key, &query, NOW), Err(SignatureError::Invalid));
}

#[tokio::test]
async fn tampered_urls_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let url = store.presign_put(Bucket::Videos, "abc/clip.webm", 5_000, NOW + 600).await.unwrap();
    let (bucket, key, query) = parse(&url);
    let invalid = Err(SignatureError::Invalid);
    assert_eq!(store.check(Method::Put, bucket, "abc/other.webm", &query, NOW), invalid);
    assert_eq!(store.check(Method::Put, Bucket::Previews, &key, &query, NOW), invalid);
    assert_eq!(store.check(Method::Get, bucket, &key, &query, NOW), invalid);
    let more = SignedQuery { max: Some(5_001), ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &more, NOW), invalid);
    let unlimited = SignedQuery { max: None, ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &unlimited, NOW), invalid);
    let later = SignedQuery { expires: NOW + 6_000, ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &later, NOW), invalid);
    let garbage = SignedQuery { sig: "not-hex".to_owned(), ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &garbage, NOW), invalid);

    // The same grant signed with another secret is refused.
    let other = LocalObjects::open(dir.path().to_owned(), BASE.to_owned(), b"other secret").await.unwrap();
    assert_eq!(other.check(Method::Put, bucket, &key, &query, NOW), invalid);
}

#[tokio::test]
async fn expired_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let url = store.presign_get(Bucket::Videos, "abc/clip.webm", NOW + 60).await.unwrap();
    let (bucket, key, query) = parse(&url);
    assert_eq!(store.check(Method::Get, bucket, &key, &query, NOW + 60), Err(SignatureError::Expired));
    assert_eq!(store.check(Method::Get, bucket, &key, &query, NOW + 3_600), Err(SignatureError::Expired));
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let good = store.presign_get(Bucket::Videos, "abc/clip.webm", NOW + 60).await.unwrap();
    let (_, _, query) = parse(&good);
    for bad in ["", "../videos/abc/clip.webm", "abc/../clip.webm", "/etc/passwd", "a b", "a//b", "abc/"] {
        assert_eq!(store.path_of(Bucket::Videos, bad), None, "{bad:?}");
        assert_eq!(store.check(Method::Get, Bucket::Videos, bad, &query, NOW), Err(SignatureError::Invalid), "{bad:?}");
        assert!(matches!(store.presign_put(Bucket::Videos, bad, 10, NOW + 60).await, Err(StoreError::Internal(_))));
        assert!(matches!(store.presign_get(Bucket::Videos, bad, NOW + 60).await, Err(StoreError::Internal(_))));
        assert!(matches!(store.head(Bucket::Videos, bad).await, Err(StoreError::Internal(_))));
        assert!(matches!(store.probe_input(Bucket::Videos, bad, NOW).await, Err(StoreError::Internal(_))));
        assert!(matches!(store.delete(Bucket::Videos, bad).await, Err(StoreError::Internal(_))));
        let write = store.write(Bucket::Videos, bad, &b"data"[..], 100).await;
        assert!(matches!(write, Err(WriteError::Store(StoreError::Internal(_)))), "{bad:?}");
    }
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn write_then_head_read_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(store.head(Bucket::Videos, "abc/clip.webm").await.unwrap(), None);
    let written = store.write(Bucket::Videos, "abc/clip.webm", &data[..], data.len() as u64).await.unwrap();
    assert_eq!(written, data.len() as u64);
    assert_eq!(store.head(Bucket::Videos, "abc/clip.webm").await.unwrap(), Some(ObjectInfo { size: 200_000 }));
    assert_eq!(store.head(Bucket::Previews, "abc/clip.webm").await.unwrap(), None, "buckets are apart");
    assert_eq!(store.head(Bucket::Videos, "abc").await.unwrap(), None, "a directory is no object");
    assert_eq!(store.head(Bucket::Videos, "abc/clip.webm/x").await.unwrap(), None);

    let path = store.path_of(Bucket::Videos, "abc/clip.webm").unwrap();
    assert_eq!(path, dir.path().join("videos/abc/clip.webm"));
    assert_eq!(std::fs::read(&path).unwrap(), data);
    let probe = store.probe_input(Bucket::Videos, "abc/clip.webm", NOW + 60).await.unwrap();
    assert_eq!(Path::new(&probe), path);

    // A second write replaces the object whole.
    store.write(Bucket::Videos, "abc/clip.webm", &b"short"[..], 10).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"short");
    assert_eq!(files_under(dir.path()), vec![path.clone()], "no temporary file is left");

    store.delete(Bucket::Videos, "abc/clip.webm").await.unwrap();
    assert_eq!(store.head(Bucket::Videos, "abc/clip.webm").await.unwrap(), None);
    assert!(!path.exists());
    store.delete(Bucket::Videos, "abc/clip.webm").await.expect("deleting twice is fine");
    store.delete(Bucket::Videos, "never/was").await.expect("deleting the absent is fine");
}

#[tokio::test]
async fn exactly_the_limit_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    assert_eq!(store.write(Bucket::Previews, "p.jpg", &[7u8; 1000][..], 1000).await.unwrap(), 1000);
    assert_eq!(store.write(Bucket::Previews, "empty.jpg", &b""[..], 0).await.unwrap(), 0);
    assert_eq!(store.head(Bucket::Previews, "empty.jpg").await.unwrap(), Some(ObjectInfo { size: 0 }));
}

#[tokio::test]
async fn write_over_the_limit_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let data = vec![1u8; 300_000];
    match store.write(Bucket::Videos, "big/clip.webm", &data[..], 299_999).await {
        Err(WriteError::TooLarge { limit }) => assert_eq!(limit, 299_999),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(store.head(Bucket::Videos, "big/clip.webm").await.unwrap(), None);
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new(), "no object and no temporary file");

    // An over-limit rewrite keeps the previous object intact.
    store.write(Bucket::Videos, "big/clip.webm", &b"old"[..], 10).await.unwrap();
    assert!(matches!(
        store.write(Bucket::Videos, "big/clip.webm", &data[..], 10).await,
        Err(WriteError::TooLarge { .. })
    ));
    assert_eq!(std::fs::read(store.path_of(Bucket::Videos, "big/clip.webm").unwrap()).unwrap(), b"old");
    assert_eq!(files_under(dir.path()).len(), 1);
}

/// A body that yields one chunk and then fails, like a client that disconnects.
struct FailingBody(Option<&'static [u8]>);

impl AsyncRead for FailingBody {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.0.take() {
            Some(chunk) => {
                buf.put_slice(chunk);
                Poll::Ready(Ok(()))
            }
            None => Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away"))),
        }
    }
}

/// A body that reports (once) when the reader first has to wait for more data.
struct Stalling<R> {
    inner: R,
    stalled: Option<oneshot::Sender<()>>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Stalling<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_pending()
            && let Some(stalled) = self.stalled.take()
        {
            let _ = stalled.send(());
        }
        polled
    }
}

#[tokio::test]
async fn a_failing_body_is_an_interrupted_upload_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let result = store.write(Bucket::Videos, "gone.webm", FailingBody(Some(b"first chunk")), 1_000).await;
    assert!(matches!(result, Err(WriteError::Interrupted(_))), "{result:?}");
    assert_eq!(store.head(Bucket::Videos, "gone.webm").await.unwrap(), None);
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn an_aborted_upload_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let (mut client, server) = tokio::io::duplex(64);
    client.write_all(b"partial").await.unwrap();
    let (stalled_tx, stalled_rx) = oneshot::channel();
    let body = Stalling { inner: server, stalled: Some(stalled_tx) };
    // Boxed, so that dropping it really drops (aborts) the upload.
    let mut upload = Box::pin(store.write(Bucket::Videos, "aborted.webm", body, 1_000));
    tokio::select! {
        result = &mut upload => panic!("the upload cannot finish yet: {result:?}"),
        _ = stalled_rx => {}
    }
    // The first chunk is in a temporary file, outside the bucket.
    let in_progress = files_under(dir.path());
    assert_eq!(in_progress.len(), 1);
    assert!(in_progress[0].starts_with(dir.path().join(".incoming")), "{in_progress:?}");
    assert_eq!(store.head(Bucket::Videos, "aborted.webm").await.unwrap(), None);

    drop(upload);
    assert_eq!(store.head(Bucket::Videos, "aborted.webm").await.unwrap(), None);
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn a_copy_is_a_snapshot_that_later_writes_to_the_source_never_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.write(Bucket::Staging, "v1/video", &b"checked bytes"[..], 100).await.unwrap();
    store.copy((Bucket::Staging, "v1/video"), (Bucket::Videos, "v1/abc.webm")).await.unwrap();
    // The uploader's URL is still valid and writes again: only staging changes.
    store.write(Bucket::Staging, "v1/video", &b"<html>replaced</html>"[..], 100).await.unwrap();
    let served = std::fs::read(store.path_of(Bucket::Videos, "v1/abc.webm").unwrap()).unwrap();
    assert_eq!(served, b"checked bytes");
    // Deleting the source leaves the copy too.
    store.delete(Bucket::Staging, "v1/video").await.unwrap();
    assert_eq!(store.head(Bucket::Videos, "v1/abc.webm").await.unwrap(), Some(ObjectInfo { size: 13 }));
}

#[tokio::test]
async fn copying_a_missing_object_is_not_found_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let err = store.copy((Bucket::Staging, "none/video"), (Bucket::Videos, "none/x.mp4")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(files_under(dir.path()).is_empty(), "no temporary file or object left");
}

#[tokio::test]
async fn put_stores_whole_objects_replacing_older_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.put(Bucket::Previews, "v1/a.jpg", b"first".to_vec()).await.unwrap();
    store.put(Bucket::Previews, "v1/a.jpg", b"second!".to_vec()).await.unwrap();
    assert_eq!(store.head(Bucket::Previews, "v1/a.jpg").await.unwrap(), Some(ObjectInfo { size: 7 }));
    assert_eq!(files_under(dir.path()).len(), 1, "one object, no temporary files");
}

#[tokio::test]
async fn part_urls_are_signed_over_the_upload_and_the_part_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    let url = store.presign_part(Bucket::Staging, "v1/video", &id, 3, 9_000_000, NOW + 600).await.unwrap();
    let expected = format!("{BASE}/objects/staging/v1/video?upload={id}&part=3&expires={}&max=9000000&sig=", NOW + 600);
    assert!(url.starts_with(&expected), "{url}");
    let (bucket, key, query) = parse(&url);
    assert_eq!(store.check(Method::Put, bucket, &key, &query, NOW), Ok(()));
    let invalid = Err(SignatureError::Invalid);
    let whole = SignedQuery { upload: None, part: None, ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &whole, NOW), invalid, "not a whole-object URL");
    let other_part = SignedQuery { part: Some(4), ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &other_part, NOW), invalid);
    let other_upload = SignedQuery { upload: Some("0".repeat(32)), ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &other_upload, NOW), invalid);
    let half = SignedQuery { part: None, ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &half, NOW), invalid, "upload without part");
    let escaping = SignedQuery { upload: Some("../../videos/x".into()), ..query.clone() };
    assert_eq!(store.check(Method::Put, bucket, &key, &escaping, NOW), invalid);
    assert_eq!(store.check(Method::Put, bucket, &key, &query, NOW + 600), Err(SignatureError::Expired));
    for bad in [0, myvid_store::objects::MAX_PARTS + 1] {
        let refused = store.presign_part(Bucket::Staging, "v1/video", &id, bad, 10, NOW + 600).await;
        assert!(matches!(refused, Err(StoreError::Internal(_))), "part {bad}: {refused:?}");
    }
}

#[tokio::test]
async fn a_part_over_its_limit_or_cut_short_is_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    let over = store.write_part(Bucket::Staging, "v1/video", &id, 1, &[1u8; 2000][..], 1999).await;
    assert!(matches!(over, Err(WriteError::TooLarge { limit: 1999 })), "{over:?}");
    let cut = store.write_part(Bucket::Staging, "v1/video", &id, 1, FailingBody(Some(b"half")), 1000).await;
    assert!(matches!(cut, Err(WriteError::Interrupted(_))), "{cut:?}");
    assert_eq!(store.list_parts(Bucket::Staging, "v1/video", &id).await.unwrap(), Vec::new());
    let upload_files = files_under(dir.path());
    assert_eq!(upload_files, vec![dir.path().join(".multipart").join(&id).join("upload")], "no part, no temp file");

    let part = store.write_part(Bucket::Staging, "v1/video", &id, 1, &b"exactly"[..], 7).await.unwrap();
    assert_eq!((part.number, part.size, part.etag.len()), (1, 7, 34));
    assert_eq!(store.list_parts(Bucket::Staging, "v1/video", &id).await.unwrap(), vec![part]);
}

#[tokio::test]
async fn a_part_for_an_unknown_upload_or_another_key_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    for (key, upload) in [("v1/video", "0".repeat(32)), ("v2/video", id.clone()), ("v1/video", "../x".into())] {
        let result = store.write_part(Bucket::Staging, key, &upload, 1, &b"data"[..], 100).await;
        assert!(matches!(result, Err(WriteError::Store(StoreError::NotFound))), "{key} {upload}: {result:?}");
    }
    let other_bucket = store.write_part(Bucket::Videos, "v1/video", &id, 1, &b"data"[..], 100).await;
    assert!(matches!(other_bucket, Err(WriteError::Store(StoreError::NotFound))), "{other_bucket:?}");
}

#[tokio::test]
async fn open_keeps_pending_uploads_for_the_caller_to_reap() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store.create_multipart(Bucket::Staging, "v1/video").await.unwrap();
    store.write_part(Bucket::Staging, "v1/video", &id, 1, &b"kept"[..], 100).await.unwrap();
    drop(store);
    let store = open(dir.path()).await;
    let pending = store.pending_multiparts(Bucket::Staging).await.unwrap();
    assert_eq!(
        pending.iter().map(|p| (p.key.as_str(), p.upload_id.as_str())).collect::<Vec<_>>(),
        [("v1/video", &*id)]
    );
    assert_eq!(store.list_parts(Bucket::Staging, "v1/video", &id).await.unwrap().len(), 1);
}

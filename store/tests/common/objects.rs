//! The `ObjectStore` conformance suite: every backend must pass it.
//!
//! Two lists of checks, each an `async fn` on `&dyn ObjectStore`:
//! - [`every_trait_check!`]: calls of the trait only (objects, streams, ranges, copies,
//!   the life of an upload without parts);
//! - [`every_http_check!`]: multipart uploads whose parts go through the presigned part
//!   URLs over real HTTP ([`Http`], with `curl`), as a browser sends them. For the
//!   embedded store those URLs are answered by the endpoint's object route, so its
//!   runner lives in `endpoint/tests/objects_route.rs` (which includes this file);
//!   `store/tests/local_objects.rs` runs the trait checks on the bare store.
//!
//! Every check uses keys of its own, so all can run in turn on one shared store.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use myvid_store::StoreError;
use myvid_store::objects::{Bucket, ByteRange, MIN_PART_BYTES, ObjectBody, ObjectInfo, ObjectStore, UploadedPart};
use tokio::io::AsyncReadExt;

const MIB: usize = 1024 * 1024;

/// Calls `$then!(args…, check, check, …)` with every check that needs only the trait.
macro_rules! every_trait_check {
    ($then:ident $(, $arg:expr)*) => {
        $then! {
            $($arg,)*
            put_head_and_delete,
            listing_finds_the_keys_under_a_prefix_in_order,
            streams_in_and_out_whole_and_by_range,
            a_missing_key_is_not_found_when_streamed,
            ranges_outside_the_object_are_conflicts,
            a_body_that_fails_stores_nothing,
            a_copy_is_a_snapshot,
            a_new_upload_is_pending_without_parts_until_aborted,
            an_unknown_upload_is_not_found_and_aborting_it_is_fine,
        }
    };
}
#[allow(unused_imports)]
pub(crate) use every_trait_check;

/// Calls `$then!(args…, check, check, …)` with every check that sends parts over HTTP.
macro_rules! every_http_check {
    ($then:ident $(, $arg:expr)*) => {
        $then! {
            $($arg,)*
            parts_sent_to_presigned_urls_complete_into_the_object,
            completing_with_a_missing_or_changed_part_is_a_conflict_and_stores_nothing,
            a_too_small_middle_part_is_a_conflict,
            abort_drops_the_parts_and_is_idempotent,
            expired_or_tampered_part_urls_are_refused,
        }
    };
}
#[allow(unused_imports)]
pub(crate) use every_http_check;

/// Runs every trait check on one store.
pub async fn run_trait_checks(store: &dyn ObjectStore) {
    macro_rules! in_turn {
        ($($check:ident),* $(,)?) => { $( println!("check {}", stringify!($check)); $check(store).await; )* };
    }
    every_trait_check!(in_turn);
}

/// Runs every HTTP check on one store.
pub async fn run_http_checks(store: &dyn ObjectStore, http: &Http) {
    macro_rules! in_turn {
        ($($check:ident),* $(,)?) => { $( println!("check {}", stringify!($check)); $check(store, http).await; )* };
    }
    every_http_check!(in_turn);
}

/// `len` bytes that differ from those of another `seed`.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The current time in Unix seconds (presigned URLs are checked against the real clock).
pub fn unix_now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// Everything a body yields.
pub async fn read_all(mut body: ObjectBody) -> Vec<u8> {
    let mut out = Vec::new();
    body.read_to_end(&mut out).await.expect("the body reads to its end");
    out
}

/// An in-memory body.
fn body_of(data: &[u8]) -> ObjectBody {
    Box::pin(std::io::Cursor::new(data.to_vec()))
}

async fn get(store: &dyn ObjectStore, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Vec<u8> {
    read_all(store.get_stream(bucket, key, range).await.expect("get_stream")).await
}

fn range(start: u64, end: Option<u64>) -> Option<ByteRange> {
    Some(ByteRange { start, end })
}

fn is_conflict(result: &Result<impl std::fmt::Debug, StoreError>, what: &str) -> bool {
    matches!(result, Err(StoreError::Conflict(w)) if w == what)
}

/// Sends bodies to presigned URLs the way a browser does: one `PUT` with a
/// `Content-Length`, through `curl` in a child process (bounded by `--max-time`).
pub struct Http {
    dir: tempfile::TempDir,
}

/// What a store answered to a `PUT`.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `ETag` header, quotes included (`None` when absent).
    pub etag: Option<String>,
}

impl Http {
    /// A client with its own scratch directory.
    pub fn new() -> Http {
        Http { dir: tempfile::tempdir().expect("a scratch directory") }
    }

    /// `PUT`s `data` to `url`.
    pub async fn put(&self, url: &str, data: &[u8]) -> Answer {
        let file: PathBuf = self.dir.path().join(format!("body-{:016x}", rand_suffix()));
        tokio::fs::write(&file, data).await.unwrap();
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "--max-time", "60", "-H", "Expect:", "-o", "/dev/null"])
            .args(["-w", "%{http_code} %header{etag}", "-T"])
            .arg(&file)
            .arg(url)
            .output()
            .await
            .expect("curl runs");
        let _ = tokio::fs::remove_file(&file).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (status, etag) = text.split_once(' ').unwrap_or((&text, ""));
        let status = status.trim().parse().unwrap_or(0);
        let etag = Some(etag.trim()).filter(|e| !e.is_empty()).map(str::to_owned);
        Answer { status, etag }
    }

    /// `PUT`s part `number` of `upload_id` and returns it as listed, after checking that
    /// the store took it (200 with an `ETag`).
    pub async fn put_part(
        &self,
        store: &dyn ObjectStore,
        (bucket, key, upload_id): (Bucket, &str, &str),
        number: u32,
        data: &[u8],
    ) -> UploadedPart {
        let url = store.presign_part(bucket, key, upload_id, number, 64 << 20, unix_now() + 600).await.unwrap();
        let answer = self.put(&url, data).await;
        assert_eq!(answer.status, 200, "part {number} of {key}: {answer:?} from {url}");
        let etag = answer.etag.unwrap_or_else(|| panic!("part {number} of {key}: no ETag header"));
        UploadedPart { number, size: data.len() as u64, etag }
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

// ---- trait checks ---------------------------------------------------------------------

pub async fn put_head_and_delete(store: &dyn ObjectStore) {
    let key = "conf-put/a.jpg";
    assert_eq!(store.head(Bucket::Previews, key).await.unwrap(), None);
    store.put(Bucket::Previews, key, b"first".to_vec()).await.unwrap();
    store.put(Bucket::Previews, key, b"second!".to_vec()).await.unwrap();
    assert_eq!(store.head(Bucket::Previews, key).await.unwrap(), Some(ObjectInfo { size: 7 }));
    assert_eq!(store.head(Bucket::Videos, key).await.unwrap(), None, "buckets are apart");
    assert_eq!(get(store, Bucket::Previews, key, None).await, b"second!");
    store.delete(Bucket::Previews, key).await.unwrap();
    assert_eq!(store.head(Bucket::Previews, key).await.unwrap(), None);
    store.delete(Bucket::Previews, key).await.expect("deleting twice is fine");
}

/// Listing names the keys under a prefix (a directory's, or part of a name), in byte
/// order, page by page, in one bucket only; deleted objects are gone from it.
pub async fn listing_finds_the_keys_under_a_prefix_in_order(store: &dyn ObjectStore) {
    let keys =
        ["conf-list/a/1.m4s", "conf-list/a/2.m4s", "conf-list/a/sub/x.m3u8", "conf-list/ab.jpg", "conf-list/b/1.m4s"];
    for key in keys.iter().rev() {
        store.put(Bucket::Videos, key, key.as_bytes().to_vec()).await.unwrap();
    }
    store.put(Bucket::Previews, "conf-list/a/other.jpg", b"x".to_vec()).await.unwrap();
    let list = |prefix: &'static str, after: Option<&'static str>, limit| async move {
        store.list_keys(Bucket::Videos, prefix, after, limit).await.unwrap()
    };
    assert_eq!(list("conf-list/", None, 100).await, keys, "everything, in order, one bucket only");
    assert_eq!(list("conf-list/a/", None, 100).await, keys[..3], "a directory's, nested ones too");
    assert_eq!(list("conf-list/a", None, 100).await, keys[..4], "part of a name");
    assert_eq!(list("conf-list/", None, 2).await, keys[..2], "a page");
    assert_eq!(list("conf-list/", Some("conf-list/a/2.m4s"), 2).await, keys[2..4], "the next page");
    assert!(list("conf-list/none/", None, 100).await.is_empty());
    assert!(list("conf-nothing", None, 100).await.is_empty());
    for key in keys {
        store.delete(Bucket::Videos, key).await.unwrap();
    }
    assert!(list("conf-list/", None, 100).await.is_empty(), "deleted objects are not listed");
    store.delete(Bucket::Previews, "conf-list/a/other.jpg").await.unwrap();
}

pub async fn streams_in_and_out_whole_and_by_range(store: &dyn ObjectStore) {
    for (i, len) in [0, 1, 3 * MIB, 20 * MIB].into_iter().enumerate() {
        let key = format!("conf-stream/{len}.mp4");
        let data = bytes(len, i as u64 + 1);
        let stored = store.put_stream(Bucket::Videos, &key, body_of(&data)).await.unwrap();
        assert_eq!(stored, len as u64, "{key}");
        assert_eq!(store.head(Bucket::Videos, &key).await.unwrap(), Some(ObjectInfo { size: len as u64 }), "{key}");
        assert!(get(store, Bucket::Videos, &key, None).await == data, "{key}: whole object differs");
        if len == 0 {
            continue;
        }
        let last = len as u64 - 1;
        assert_eq!(get(store, Bucket::Videos, &key, range(0, Some(0))).await, &data[..1], "{key}: first byte");
        assert_eq!(get(store, Bucket::Videos, &key, range(last, None)).await, &data[len - 1..], "{key}: last byte");
        assert!(get(store, Bucket::Videos, &key, range(0, Some(last + 1000))).await == data, "{key}: end cut");
        if len > 2 * MIB {
            // Across the boundary of S3's 8 MiB parts (and within one on small objects).
            let (start, end) = ((len / 2 - 10) as u64, (len / 2 + 10) as u64);
            let mid = get(store, Bucket::Videos, &key, range(start, Some(end))).await;
            assert_eq!(mid, &data[len / 2 - 10..=len / 2 + 10], "{key}: middle range");
            let (start, end) = ((8 * MIB - 5) as u64, (8 * MIB + 5) as u64);
            if end < last {
                let across = get(store, Bucket::Videos, &key, range(start, Some(end))).await;
                assert_eq!(across, &data[8 * MIB - 5..=8 * MIB + 5], "{key}: across 8 MiB");
            }
            let tail = get(store, Bucket::Videos, &key, range(last - 99, None)).await;
            assert_eq!(tail, &data[len - 100..], "{key}: open-ended range");
        }
        store.delete(Bucket::Videos, &key).await.unwrap();
    }
}

pub async fn a_missing_key_is_not_found_when_streamed(store: &dyn ObjectStore) {
    for r in [None, range(0, Some(9))] {
        let result = store.get_stream(Bucket::Videos, "conf-missing/none.mp4", r).await.map(drop);
        assert!(matches!(result, Err(StoreError::NotFound)), "{r:?}: {result:?}");
    }
}

pub async fn ranges_outside_the_object_are_conflicts(store: &dyn ObjectStore) {
    let key = "conf-range/ten.mp4";
    store.put(Bucket::Videos, key, bytes(10, 9)).await.unwrap();
    store.put(Bucket::Videos, "conf-range/empty.mp4", Vec::new()).await.unwrap();
    for (k, r) in [(key, range(10, None)), (key, range(12, Some(20))), ("conf-range/empty.mp4", range(0, None))] {
        let result = store.get_stream(Bucket::Videos, k, r).await.map(drop);
        assert!(is_conflict(&result, "range"), "{k} {r:?}: {result:?}");
    }
    assert_eq!(get(store, Bucket::Videos, key, range(9, Some(9))).await.len(), 1);
    store.delete(Bucket::Videos, key).await.unwrap();
    store.delete(Bucket::Videos, "conf-range/empty.mp4").await.unwrap();
}

/// A body that fails where it would go on (a client gone, a transcoder crashed).
struct Failing;

impl tokio::io::AsyncRead for Failing {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "gone")))
    }
}

pub async fn a_body_that_fails_stores_nothing(store: &dyn ObjectStore) {
    // Short (one request on S3) and past the first 8 MiB part (a multipart upload on S3).
    for len in [1000, 9 * MIB] {
        let key = format!("conf-failing/{len}.mp4");
        let body: ObjectBody = Box::pin(AsyncReadExt::chain(std::io::Cursor::new(bytes(len, 61)), Failing));
        let result = store.put_stream(Bucket::Videos, &key, body).await;
        assert!(matches!(result, Err(StoreError::Internal(_))), "{key}: {result:?}");
        assert_eq!(store.head(Bucket::Videos, &key).await.unwrap(), None, "{key}");
        let pending = store.pending_multiparts(Bucket::Videos).await.unwrap();
        assert!(pending.iter().all(|p| p.key != key), "{key}: its upload was aborted: {pending:?}");
    }
}

pub async fn a_copy_is_a_snapshot(store: &dyn ObjectStore) {
    let (from, to) = ((Bucket::Staging, "conf-copy/video"), (Bucket::Videos, "conf-copy/n1.mp4"));
    store.put(from.0, from.1, b"checked bytes".to_vec()).await.unwrap();
    store.copy(from, to).await.unwrap();
    store.put(from.0, from.1, b"<html>replaced</html>".to_vec()).await.unwrap();
    assert_eq!(get(store, to.0, to.1, None).await, b"checked bytes");
    store.delete(from.0, from.1).await.unwrap();
    assert_eq!(store.head(to.0, to.1).await.unwrap(), Some(ObjectInfo { size: 13 }));
    let missing = store.copy((Bucket::Staging, "conf-copy/none"), (Bucket::Videos, "conf-copy/none.mp4")).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(store.head(Bucket::Videos, "conf-copy/none.mp4").await.unwrap(), None);
    store.delete(to.0, to.1).await.unwrap();
}

pub async fn a_new_upload_is_pending_without_parts_until_aborted(store: &dyn ObjectStore) {
    let key = "conf-pending/video";
    let before = unix_now();
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let after = unix_now();
    assert_eq!(store.list_parts(Bucket::Staging, key, &id).await.unwrap(), Vec::new());
    let pending = store.pending_multiparts(Bucket::Staging).await.unwrap();
    let mine = pending.iter().find(|p| p.upload_id == id).unwrap_or_else(|| panic!("{id} in {pending:?}"));
    assert_eq!(mine.key, key);
    // Allow the store's clock a little slack against ours.
    assert!((before - 5..=after + 5).contains(&mine.initiated_at), "{mine:?} not in {before}..={after}");
    let elsewhere = store.pending_multiparts(Bucket::Videos).await.unwrap();
    assert!(elsewhere.iter().all(|p| p.upload_id != id), "listed under its own bucket only");
    // An upload is known under its own key only.
    let other = store.list_parts(Bucket::Staging, "conf-pending/other", &id).await;
    assert!(matches!(other, Err(StoreError::NotFound)), "{other:?}");

    let empty = store.complete_multipart(Bucket::Staging, key, &id, &[]).await;
    assert!(is_conflict(&empty, "parts"), "completing without parts: {empty:?}");
    assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), None);

    store.abort_multipart(Bucket::Staging, key, &id).await.unwrap();
    let gone = store.list_parts(Bucket::Staging, key, &id).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let pending = store.pending_multiparts(Bucket::Staging).await.unwrap();
    assert!(pending.iter().all(|p| p.upload_id != id), "aborted, so not pending");
    store.abort_multipart(Bucket::Staging, key, &id).await.expect("aborting twice is fine");
}

pub async fn an_unknown_upload_is_not_found_and_aborting_it_is_fine(store: &dyn ObjectStore) {
    let key = "conf-unknown/video";
    for id in ["0123456789abcdef0123456789abcdef", "no-such-upload"] {
        let listed = store.list_parts(Bucket::Staging, key, id).await;
        assert!(matches!(listed, Err(StoreError::NotFound)), "{id}: {listed:?}");
        let part = UploadedPart { number: 1, size: 1, etag: "\"0123456789abcdef0123456789abcdef\"".into() };
        let completed = store.complete_multipart(Bucket::Staging, key, id, &[part]).await;
        assert!(matches!(completed, Err(StoreError::NotFound)), "{id}: {completed:?}");
        store.abort_multipart(Bucket::Staging, key, id).await.expect("aborting the unknown is fine");
    }
    assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), None);
}

// ---- HTTP checks ----------------------------------------------------------------------

pub async fn parts_sent_to_presigned_urls_complete_into_the_object(store: &dyn ObjectStore, http: &Http) {
    let key = "conf-parts/video";
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let datas = [bytes(5 * MIB, 21), bytes(5 * MIB, 22), bytes(1024, 23)];
    let mut sent = Vec::new();
    for (i, data) in datas.iter().enumerate() {
        sent.push(http.put_part(store, (Bucket::Staging, key, &id), i as u32 + 1, data).await);
    }
    assert_eq!(store.list_parts(Bucket::Staging, key, &id).await.unwrap(), sent, "listed as sent, ETags alike");
    // A part sent again replaces the earlier one.
    let again = bytes(1024, 24);
    sent[2] = http.put_part(store, (Bucket::Staging, key, &id), 3, &again).await;
    assert_eq!(store.list_parts(Bucket::Staging, key, &id).await.unwrap(), sent, "the newer part 3");

    let info = store.complete_multipart(Bucket::Staging, key, &id, &sent).await.unwrap();
    let whole: Vec<u8> = [&datas[0][..], &datas[1][..], &again[..]].concat();
    assert_eq!(info, ObjectInfo { size: whole.len() as u64 });
    assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), Some(info));
    assert!(get(store, Bucket::Staging, key, None).await == whole, "the object is the parts in order");
    let listed = store.list_parts(Bucket::Staging, key, &id).await;
    assert!(matches!(listed, Err(StoreError::NotFound)), "a completed upload is gone: {listed:?}");
    let pending = store.pending_multiparts(Bucket::Staging).await.unwrap();
    assert!(pending.iter().all(|p| p.upload_id != id), "a completed upload is not pending");
    store.delete(Bucket::Staging, key).await.unwrap();
}

pub async fn completing_with_a_missing_or_changed_part_is_a_conflict_and_stores_nothing(
    store: &dyn ObjectStore,
    http: &Http,
) {
    let key = "conf-wrong/video";
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let upload = (Bucket::Staging, key, id.as_str());
    let first = http.put_part(store, upload, 1, &bytes(5 * MIB, 31)).await;
    let second = http.put_part(store, upload, 2, &bytes(2048, 32)).await;

    let missing = UploadedPart { number: 3, ..second.clone() };
    let changed = UploadedPart { etag: first.etag.clone(), ..second.clone() };
    let disordered = [second.clone(), first.clone()];
    for parts in [vec![first.clone(), missing], vec![first.clone(), changed], disordered.to_vec()] {
        let result = store.complete_multipart(Bucket::Staging, key, &id, &parts).await;
        assert!(is_conflict(&result, "parts"), "{parts:?}: {result:?}");
        assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), None, "nothing at the key");
    }
    // The upload survives a refused completion, as on S3.
    assert_eq!(store.list_parts(Bucket::Staging, key, &id).await.unwrap(), vec![first.clone(), second.clone()]);
    store.complete_multipart(Bucket::Staging, key, &id, &[first, second]).await.expect("the right parts complete");
    store.delete(Bucket::Staging, key).await.unwrap();
}

pub async fn a_too_small_middle_part_is_a_conflict(store: &dyn ObjectStore, http: &Http) {
    let key = "conf-small/video";
    let small = bytes(MIN_PART_BYTES as usize - 1, 41);
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let upload = (Bucket::Staging, key, id.as_str());
    let first = http.put_part(store, upload, 1, &small).await;
    let last = http.put_part(store, upload, 2, &bytes(10, 42)).await;
    let result = store.complete_multipart(Bucket::Staging, key, &id, &[first, last]).await;
    assert!(is_conflict(&result, "parts"), "{result:?}");
    assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), None);
    store.abort_multipart(Bucket::Staging, key, &id).await.unwrap();
    // The last part may be small: here the only one. (A fresh upload: RGW 16 refuses
    // completing a subset of the parts it holds.)
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let only = http.put_part(store, (Bucket::Staging, key, &id), 1, &small).await;
    let info = store.complete_multipart(Bucket::Staging, key, &id, &[only]).await.unwrap();
    assert_eq!(info.size, MIN_PART_BYTES - 1);
    store.delete(Bucket::Staging, key).await.unwrap();
}

pub async fn abort_drops_the_parts_and_is_idempotent(store: &dyn ObjectStore, http: &Http) {
    let key = "conf-abort/video";
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let part = http.put_part(store, (Bucket::Staging, key, &id), 1, &bytes(1000, 51)).await;
    let late_url = store.presign_part(Bucket::Staging, key, &id, 2, 1 << 20, unix_now() + 600).await.unwrap();
    store.abort_multipart(Bucket::Staging, key, &id).await.unwrap();
    let listed = store.list_parts(Bucket::Staging, key, &id).await;
    assert!(matches!(listed, Err(StoreError::NotFound)), "{listed:?}");
    let completed = store.complete_multipart(Bucket::Staging, key, &id, &[part]).await;
    assert!(matches!(completed, Err(StoreError::NotFound)), "{completed:?}");
    store.abort_multipart(Bucket::Staging, key, &id).await.expect("aborting twice is fine");
    let late = http.put(&late_url, b"too late").await;
    assert_eq!(late.status, 404, "a part for an aborted upload: {late:?}");
    assert_eq!(store.head(Bucket::Staging, key).await.unwrap(), None);
    let pending = store.pending_multiparts(Bucket::Staging).await.unwrap();
    assert!(pending.iter().all(|p| p.upload_id != id));
}

pub async fn expired_or_tampered_part_urls_are_refused(store: &dyn ObjectStore, http: &Http) {
    let key = "conf-signed/video";
    let id = store.create_multipart(Bucket::Staging, key).await.unwrap();
    let url = store.presign_part(Bucket::Staging, key, &id, 1, 1 << 20, unix_now() + 600).await.unwrap();
    let tampered = [
        other_part_number(&url),
        url.replace(key, "conf-signed/other"),
        format!("{}{}", &url[..url.len() - 1], if url.ends_with('0') { '1' } else { '0' }),
    ];
    for bad in &tampered {
        let answer = http.put(bad, b"data").await;
        assert!(matches!(answer.status, 400 | 403), "{bad}: {answer:?}");
    }
    // S3 presigns for at least one second: wait past it.
    let expired = store.presign_part(Bucket::Staging, key, &id, 1, 1 << 20, unix_now() - 60).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let answer = http.put(&expired, b"data").await;
    assert!(matches!(answer.status, 400 | 403), "expired: {answer:?}");
    assert_eq!(store.list_parts(Bucket::Staging, key, &id).await.unwrap(), Vec::new(), "no part was stored");
    store.abort_multipart(Bucket::Staging, key, &id).await.unwrap();
}

/// `url` with its part number 1 changed to 2 (S3's `partNumber`, the embedded `part`).
fn other_part_number(url: &str) -> String {
    for (from, to) in [("partNumber=1&", "partNumber=2&"), ("part=1&", "part=2&")] {
        if url.contains(from) {
            return url.replacen(from, to, 1);
        }
    }
    panic!("no part number 1 in {url}");
}

//! Properties of signed object URLs as the object route reads them (axum's `Query`,
//! then [`LocalObjects::check`], as in `authorise`): a presigned URL is accepted exactly
//! as issued, for its method only; any query string from outside is refused without a
//! panic unless it carries the issued values.

use axum::http::Uri;
use proptest::prelude::*;

use myvid_store::objects::ObjectStore;

use super::*;

/// A store in a temporary directory with a fixed secret, and the runtime it was made on.
fn store() -> (tempfile::TempDir, tokio::runtime::Runtime, LocalObjects) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let local =
        runtime.block_on(LocalObjects::open(dir.path().to_owned(), "http://127.0.0.1:8080".into(), b"secret")).unwrap();
    (dir, runtime, local)
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,12}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,12}){0,2}"
}

fn bucket() -> impl Strategy<Value = Bucket> {
    prop_oneof![Just(Bucket::Staging), Just(Bucket::Previews), Just(Bucket::Videos)]
}

/// The route's reading of a URL: bucket and key from the path, the signed query.
fn read(url: &str) -> Option<(Bucket, String, SignedQuery)> {
    let uri: Uri = url.parse().ok()?;
    let rest = uri.path().strip_prefix("/objects/")?;
    let (bucket, key) = rest.split_once('/')?;
    let Query(query) = Query::<SignedQuery>::try_from_uri(&uri).ok()?;
    Some((Bucket::parse(bucket)?, key.to_owned(), query))
}

/// Query strings a visitor might send: URL-safe junk and near-miss signed queries.
fn query_string() -> impl Strategy<Value = String> {
    let pair = (
        prop::sample::select(vec!["expires", "max", "sig", "Sig", "expires[]", "upload", "part", "x", ""]),
        prop_oneof![
            "[A-Za-z0-9%+._~-]{0,70}",
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9a-f]{64}",
            Just("%FF%FE".to_owned()),
        ],
    )
        .prop_map(|(name, value)| format!("{name}={value}"));
    prop_oneof![prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&")), "[A-Za-z0-9=&%+._~-]{0,80}",]
}

#[test]
fn presigned_urls_are_accepted_exactly_as_issued() {
    let (_dir, runtime, local) = store();
    let mut runner = proptest::test_runner::TestRunner::default();
    let now = 1_700_000_000;
    runner
        .run(&(bucket(), key(), 1..1_000_000i64, any::<u64>(), any::<bool>()), |(bucket, key, ttl, max, put)| {
            let url = runtime.block_on(async {
                if put {
                    local.presign_put(bucket, &key, max, now + ttl).await
                } else {
                    local.presign_get(bucket, &key, now + ttl).await
                }
            });
            let url = url.unwrap();
            let url = url.strip_prefix("http://127.0.0.1:8080").unwrap();
            let (read_bucket, read_key, query) = read(url).expect("the route reads its own URLs");
            prop_assert_eq!((read_bucket, read_key.as_str()), (bucket, key.as_str()));
            let (method, other) = if put { (Method::Put, Method::Get) } else { (Method::Get, Method::Put) };
            prop_assert_eq!(local.check(method, bucket, &key, &query, now), Ok(()));
            prop_assert_eq!(local.check(other, bucket, &key, &query, now), Err(SignatureError::Invalid));
            prop_assert_eq!(local.check(method, bucket, &key, &query, now + ttl), Err(SignatureError::Expired));
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_query_string_is_refused_unless_it_carries_the_issued_values() {
    let (_dir, runtime, local) = store();
    let now = 1_700_000_000;
    let (bucket, key) = (Bucket::Videos, "abc/video.webm");
    let issued = runtime.block_on(local.presign_put(bucket, key, 1_000, now + 600)).unwrap();
    let (_, _, signed) = read(issued.strip_prefix("http://127.0.0.1:8080").unwrap()).unwrap();
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&query_string(), |query| {
            let Some((_, _, query)) = read(&format!("/objects/videos/{key}?{query}")) else { return Ok(()) };
            if local.check(Method::Put, bucket, key, &query, now).is_ok() {
                prop_assert_eq!((query.expires, query.max), (signed.expires, signed.max));
                prop_assert_eq!((query.upload.as_deref(), query.part), (None, None));
                prop_assert_eq!(query.sig.to_ascii_lowercase(), signed.sig.clone());
            }
            Ok(())
        })
        .unwrap();
}

//! The object seam: three buckets (staging, previews, videos) and expiring signed URLs.
//!
//! Clients never stream media through the API: they get a presigned URL and talk to
//! the store directly, exactly as with S3. Implementations: [`local::LocalObjects`]
//! (embedded default, a directory that signs and checks its own URLs) and
//! [`s3::S3Objects`] (an S3-compatible store such as erasure-coded Ceph RGW).
//!
//! ```text
//!  client ──PUT (presigned)──▶ staging/{id}/video   never served, writable until the URL expires
//!  large:  create_multipart ─▶ upload U of staging/{id}/video
//!  client ──PUT part n (presign_part)──▶ U         each answer's ETag header names the part
//!          list_parts ─▶ sizes summed (the size limit) ─▶ complete_multipart ─▶ head
//!          (or abort_multipart; pending_multiparts finds the abandoned ones to abort)
//!  publish: validate ──copy──▶ videos/{id}/{nonce}.mp4      immutable, type named by the server
//!           re-encode ─put───▶ previews/{id}/{nonce}.jpg    immutable thumbnail
//!  server:  put_stream / get_stream (with a byte range): bodies never held whole in memory
//! ```
//!
//! Size limits: the embedded store enforces every signed URL's `max_bytes` while the
//! bytes arrive; S3 cannot (a presigned URL signs no length range), so the caller checks
//! sizes where they become known: the sum of [`ObjectStore::list_parts`] before
//! [`ObjectStore::complete_multipart`], and [`ObjectStore::head`] after any upload.

pub mod local;
pub mod media_type;
pub mod s3;
pub mod signing;

use async_trait::async_trait;

use crate::error::Result;

/// The buckets MyVid uses. Previews and videos are kept apart so that they can have
/// different size limits, lifecycles and storage classes; staging holds uploads
/// before they are published and is never served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Uploads in progress or awaiting publication: written by presigned PUTs, read
    /// only by the server when it publishes, never handed out for download.
    Staging,
    /// Preview images (thumbnails the server encoded).
    Previews,
    /// Video files (copies the server validated).
    Videos,
}

impl Bucket {
    /// The name used in URLs and on disk.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Staging => "staging",
            Bucket::Previews => "previews",
            Bucket::Videos => "videos",
        }
    }

    /// Every bucket.
    pub const ALL: [Bucket; 3] = [Bucket::Staging, Bucket::Previews, Bucket::Videos];

    /// Whether objects of this bucket may be handed out for download.
    pub fn is_served(self) -> bool {
        self != Bucket::Staging
    }

    /// Parses a bucket name from a URL.
    pub fn parse(name: &str) -> Option<Bucket> {
        match name {
            "staging" => Some(Bucket::Staging),
            "previews" => Some(Bucket::Previews),
            "videos" => Some(Bucket::Videos),
            _ => None,
        }
    }
}

/// What the store knows of a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
}

/// A byte stream into or out of the store (object bodies are never held in memory whole).
pub type ObjectBody = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// A byte range of an object: `start..=end` (`end` `None`: to the object's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive (`None`: the last byte of the object).
    pub end: Option<u64>,
}

/// A part the store holds for a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// Part number, 1–10,000.
    pub number: u32,
    /// Size in bytes.
    pub size: u64,
    /// The store's entity tag of the part (quoted, as the store sends it).
    pub etag: String,
}

/// A multipart upload that was created and is neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMultipart {
    /// The key the object will have.
    pub key: String,
    /// The store's id of the upload.
    pub upload_id: String,
    /// When it was created (Unix seconds).
    pub initiated_at: i64,
}

/// Highest part number of a multipart upload (S3's limit).
pub const MAX_PARTS: u32 = 10_000;
/// Smallest size of every part but the last (S3's limit; the embedded store applies it too).
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;

/// An object store with presigned URLs.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// A URL that accepts one `PUT` of at most `max_bytes` bytes to `bucket/key`
    /// until `expires_at` (Unix seconds).
    async fn presign_put(&self, bucket: Bucket, key: &str, max_bytes: u64, expires_at: i64) -> Result<String>;

    /// A URL that serves `GET` (with `Range`) of `bucket/key` until `expires_at`.
    async fn presign_get(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String>;

    /// Size of an object, or `None` if it does not exist.
    async fn head(&self, bucket: Bucket, key: &str) -> Result<Option<ObjectInfo>>;

    /// Something `ffprobe` can open to inspect the object: a local path, or a
    /// presigned URL valid until `expires_at`.
    async fn probe_input(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String>;

    /// Streams `body` into `bucket/key` (any length; large bodies go up in parts), replacing
    /// anything there; readers see the whole object or none. Returns the bytes stored. A
    /// body that fails to read is `Internal` and stores nothing.
    async fn put_stream(&self, bucket: Bucket, key: &str, body: ObjectBody) -> Result<u64>;

    /// Streams `bucket/key` (or `range` of it; an end past the object is cut to it) out of
    /// the store. `NotFound` if absent; `Conflict("range")` if `range` starts at or past
    /// the object's end (so any range of an empty object) or ends before it starts.
    async fn get_stream(&self, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Result<ObjectBody>;

    /// Starts a multipart upload to `bucket/key`; returns its upload id.
    async fn create_multipart(&self, bucket: Bucket, key: &str) -> Result<String>;

    /// A URL that accepts one `PUT` of part `part` (1–[`MAX_PARTS`]) of upload `upload_id`
    /// until `expires_at`, at most `max_bytes` long where the store can enforce it (the
    /// embedded store does; S3 cannot: sum [`ObjectStore::list_parts`] before completing).
    /// The answer carries the part's `ETag` header; a part sent again replaces the earlier
    /// one. `Internal` for a part number out of range (a caller's bug).
    async fn presign_part(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        part: u32,
        max_bytes: u64,
        expires_at: i64,
    ) -> Result<String>;

    /// The parts stored so far, by number. `NotFound` if the upload is unknown (completed,
    /// aborted or never created).
    async fn list_parts(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>>;

    /// Joins `parts` (numbers ascending, etags as listed) into the object `bucket/key`,
    /// replacing anything there; returns its size. `NotFound` if the upload is unknown;
    /// `Conflict("parts")` if a part is missing, differs from its etag or (but the last)
    /// is smaller than [`MIN_PART_BYTES`]. Pass every part [`ObjectStore::list_parts`]
    /// shows: Ceph RGW 16 refused (`InvalidPart`) a completion that left a stored part out.
    /// A refused completion leaves the upload as it was (abort it or complete it again).
    async fn complete_multipart(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<ObjectInfo>;

    /// Drops an upload and its parts (idempotent: an unknown upload is fine).
    async fn abort_multipart(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<()>;

    /// The multipart uploads of `bucket` not yet completed or aborted (for reaping the
    /// abandoned ones: no backend removes them by itself).
    async fn pending_multiparts(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>>;

    /// Removes an object (idempotent).
    async fn delete(&self, bucket: Bucket, key: &str) -> Result<()>;

    /// Keys in `bucket` that start with `prefix`, in byte order, after `after` (a key
    /// from an earlier page) if given, at most `limit` (1–1000). Objects being uploaded
    /// and multipart parts are not listed.
    async fn list_keys(&self, bucket: Bucket, prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>>;

    /// Copies `from` to `to` inside the store (server-side copy on S3), replacing
    /// anything at `to`. The copy is a snapshot: a later write to `from` never changes
    /// it. `NotFound` if `from` does not exist. The stored Content-Type of `to` is
    /// [`media_type::content_type_of_key`] of its key.
    async fn copy(&self, from: (Bucket, &str), to: (Bucket, &str)) -> Result<()>;

    /// Stores `data` at `bucket/key` (small objects the server makes itself, such as
    /// thumbnails), replacing anything there; readers see the whole object or none.
    async fn put(&self, bucket: Bucket, key: &str, data: Vec<u8>) -> Result<()>;
}

/// Whether `key` is an acceptable object key: 1–200 bytes of `[A-Za-z0-9._-]` in
/// `/`-separated segments, none empty, `.` or `..`. Every backend refuses other keys,
/// so a key can never escape its bucket on disk or need escaping in a URL.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_cannot_escape_the_bucket() {
        assert!(valid_key("abc123/clip.webm"));
        assert!(valid_key("a/b-c_d.e"));
        for bad in ["", "/abs", "a//b", "../x", "a/../b", "a/./b", "a b", "a/b/", "ü", "a%2fb"] {
            assert!(!valid_key(bad), "{bad:?} must be refused");
        }
        assert!(!valid_key(&"x".repeat(201)));
    }
}

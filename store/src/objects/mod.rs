//! The object seam: three buckets (staging, previews, videos) and expiring signed URLs.
//!
//! Clients never stream media through the API: they get a presigned URL and talk to
//! the store directly, exactly as with S3. Implementations: [`local::LocalObjects`]
//! (embedded default, a directory that signs and checks its own URLs). The S3 backend
//! arrives with the scale-out work.
//!
//! ```text
//!  client ──PUT (presigned)──▶ staging/{id}/video   never served, writable until the URL expires
//!  publish: validate ──copy──▶ videos/{id}/{nonce}.mp4      immutable, type named by the server
//!           re-encode ─put───▶ previews/{id}/{nonce}.jpg    immutable thumbnail
//! ```

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

    /// Removes an object (idempotent).
    async fn delete(&self, bucket: Bucket, key: &str) -> Result<()>;

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

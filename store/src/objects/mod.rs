//! The object seam: two buckets (previews, videos) and expiring signed URLs.
//!
//! Clients never stream media through the API: they get a presigned URL and talk to
//! the store directly, exactly as with S3. Implementations: [`local::LocalObjects`]
//! (embedded default, a directory that signs and checks its own URLs). The S3 backend
//! arrives with the scale-out work.

pub mod local;
pub mod signing;

use async_trait::async_trait;

use crate::error::Result;

/// The buckets MyVid uses. Previews and videos are kept apart so that they can have
/// different size limits, lifecycles and storage classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Preview images.
    Previews,
    /// Video files.
    Videos,
}

impl Bucket {
    /// The name used in URLs and on disk.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Previews => "previews",
            Bucket::Videos => "videos",
        }
    }

    /// Parses a bucket name from a URL.
    pub fn parse(name: &str) -> Option<Bucket> {
        match name {
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

//! [`LocalObjects`]: the embedded object store, a directory that signs its own URLs.
//!
//! Layout under the root: one directory per bucket (`staging/`, `previews/`,
//! `videos/`) holding objects at their key's path, and `.incoming/` for uploads in
//! progress. An upload is written to `.incoming/` and renamed into its bucket only once
//! complete and synced, so a partial object is never visible. `.incoming/` is not
//! inside any bucket, so no key can ever name a temporary file. Because every write
//! makes a new file, a copy is a hard link: later writes to the source replace its
//! path with another file and never touch the copy.
//!
//! The HTTP side (serving `/objects/{bucket}/{key}`) lives in the endpoint crate; it
//! calls [`LocalObjects::check`] and then [`LocalObjects::write`] or
//! [`LocalObjects::path_of`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::signing::{Method, SignatureError, UrlGrant, UrlSigner};
use super::{Bucket, ByteRange, ObjectBody, ObjectInfo, ObjectStore, PendingMultipart, UploadedPart, valid_key};
use crate::error::{Result, StoreError, from_io as io_error};

/// Name of the directory under the root that holds uploads in progress.
const INCOMING: &str = ".incoming";
/// Temporary files older than this are leftovers of a crash and removed on open.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Read buffer size for uploads.
const CHUNK: usize = 64 * 1024;

/// Query string of a signed local URL: `?expires=..&max=..&sig=..` (`max` only on PUT URLs).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignedQuery {
    /// Unix seconds from which the URL is refused.
    pub expires: i64,
    /// Upload size limit (PUT URLs only).
    pub max: Option<u64>,
    /// Lowercase hex HMAC-SHA256 signature.
    pub sig: String,
}

/// Why [`LocalObjects::write`] failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// More than the allowed number of bytes arrived; nothing was stored.
    #[error("the upload is larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The body ended early or failed while it was read (typically: the client went
    /// away mid-upload); nothing was stored.
    #[error("the upload body stopped before it was complete: {0}")]
    Interrupted(String),
    /// The store failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The embedded [`ObjectStore`]: files under a root directory, served through signed
/// URLs on this server's own `/objects/` route.
///
/// One root belongs to one running instance: temporary files older than a day in
/// `.incoming/` are removed when the store is opened.
#[derive(Debug)]
pub struct LocalObjects {
    /// The root directory (buckets are sub-directories).
    root: PathBuf,
    /// Base of the URLs handed out, without trailing slash.
    base_url: String,
    /// Signs and checks URLs.
    signer: UrlSigner,
}

impl LocalObjects {
    /// Opens (creating if needed) a store under `root`, which gets one sub-directory per
    /// bucket (`previews`, `videos`). `base_url` is where this server is reached, like
    /// `http://127.0.0.1:8080` (a trailing slash is ignored). `secret` keys the URL
    /// signatures.
    pub async fn open(root: PathBuf, base_url: String, secret: &[u8]) -> Result<LocalObjects> {
        for bucket in Bucket::ALL {
            tokio::fs::create_dir_all(root.join(bucket.as_str())).await.map_err(io_error)?;
        }
        let incoming = root.join(INCOMING);
        tokio::fs::create_dir_all(&incoming).await.map_err(io_error)?;
        remove_stale(&incoming).await;
        Ok(LocalObjects { root, base_url: base_url.trim_end_matches('/').to_owned(), signer: UrlSigner::new(secret) })
    }

    /// Checks a request to `/objects/{bucket}/{key}`: the key must be valid (else
    /// `Invalid`), then the signature over method, bucket, key, `expires` and `max`,
    /// then the expiry at `now`.
    pub fn check(
        &self,
        method: Method,
        bucket: Bucket,
        key: &str,
        query: &SignedQuery,
        now: i64,
    ) -> Result<(), SignatureError> {
        if !valid_key(key) {
            return Err(SignatureError::Invalid);
        }
        let grant = UrlGrant { method, bucket, key, expires_at: query.expires, max_bytes: query.max };
        self.signer.verify(&grant, &query.sig, now)
    }

    /// On-disk path of an object (`None` if the key is not valid).
    pub fn path_of(&self, bucket: Bucket, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.root.join(bucket.as_str()).join(key))
    }

    /// Streams `body` into `bucket/key`, replacing any previous object, and returns the
    /// number of bytes written. Fails with [`WriteError::TooLarge`] as soon as more than
    /// `max_bytes` arrive. The data goes to a temporary file first, which is synced and
    /// then renamed into place, so a failed or aborted (dropped) upload never leaves a
    /// partial object visible, nor a temporary file behind.
    pub async fn write<R: AsyncRead + Unpin + Send>(
        &self,
        bucket: Bucket,
        key: &str,
        mut body: R,
        max_bytes: u64,
    ) -> Result<u64, WriteError> {
        let dest = self.path_of(bucket, key).ok_or_else(|| invalid_key(key))?;
        let temp_path = self.temp_path(bucket);
        let mut file =
            tokio::fs::OpenOptions::new().write(true).create_new(true).open(&temp_path).await.map_err(io_error)?;
        // From here on the temporary file is ours: removed on any early return or drop.
        let temp = TempFile(temp_path);
        let mut buf = vec![0u8; CHUNK];
        let mut written: u64 = 0;
        loop {
            let n = body.read(&mut buf).await.map_err(|e| WriteError::Interrupted(e.to_string()))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if written > max_bytes {
                return Err(WriteError::TooLarge { limit: max_bytes });
            }
            file.write_all(&buf[..n]).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        file.sync_all().await.map_err(io_error)?;
        drop(file);
        temp.move_to(&dest).await?;
        Ok(written)
    }

    /// A fresh temporary path under `.incoming/` for an object of `bucket`.
    fn temp_path(&self, bucket: Bucket) -> PathBuf {
        self.root.join(INCOMING).join(format!("{}-{:032x}.part", bucket.as_str(), rand::random::<u128>()))
    }

    /// The signed URL of a grant.
    fn url(&self, grant: &UrlGrant) -> String {
        let sig = self.signer.sign(grant);
        let mut url =
            format!("{}/objects/{}/{}?expires={}", self.base_url, grant.bucket.as_str(), grant.key, grant.expires_at);
        if let Some(max) = grant.max_bytes {
            url.push_str(&format!("&max={max}"));
        }
        url.push_str(&format!("&sig={sig}"));
        url
    }

    /// The path of a valid key, or `Internal` for an invalid one (keys are chosen by
    /// the application, so an invalid one is a bug).
    fn valid_path(&self, bucket: Bucket, key: &str) -> Result<PathBuf> {
        self.path_of(bucket, key).ok_or_else(|| invalid_key(key))
    }
}

#[async_trait]
impl ObjectStore for LocalObjects {
    async fn presign_put(&self, bucket: Bucket, key: &str, max_bytes: u64, expires_at: i64) -> Result<String> {
        self.valid_path(bucket, key)?;
        Ok(self.url(&UrlGrant { method: Method::Put, bucket, key, expires_at, max_bytes: Some(max_bytes) }))
    }

    async fn presign_get(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String> {
        self.valid_path(bucket, key)?;
        Ok(self.url(&UrlGrant { method: Method::Get, bucket, key, expires_at, max_bytes: None }))
    }

    async fn head(&self, bucket: Bucket, key: &str) -> Result<Option<ObjectInfo>> {
        let path = self.valid_path(bucket, key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectInfo { size: meta.len() })),
            Ok(_) => Ok(None),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn probe_input(&self, bucket: Bucket, key: &str, _expires_at: i64) -> Result<String> {
        let path = self.valid_path(bucket, key)?;
        path.into_os_string()
            .into_string()
            .map_err(|p| StoreError::Internal(format!("object path is not UTF-8: {p:?}")))
    }

    async fn delete(&self, bucket: Bucket, key: &str) -> Result<()> {
        let path = self.valid_path(bucket, key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if is_absent(&e) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn copy(&self, from: (Bucket, &str), to: (Bucket, &str)) -> Result<()> {
        let source = self.valid_path(from.0, from.1)?;
        let dest = self.valid_path(to.0, to.1)?;
        let temp = TempFile(self.temp_path(to.0));
        match tokio::fs::hard_link(&source, &temp.0).await {
            Ok(()) => {}
            Err(e) if is_absent(&e) => return Err(StoreError::NotFound),
            // A file system without hard links: copy the bytes instead.
            Err(_) => match tokio::fs::copy(&source, &temp.0).await {
                Ok(_) => {}
                Err(e) if is_absent(&e) => return Err(StoreError::NotFound),
                Err(e) => return Err(io_error(e)),
            },
        }
        temp.move_to(&dest).await
    }

    async fn put(&self, bucket: Bucket, key: &str, data: Vec<u8>) -> Result<()> {
        match self.write(bucket, key, data.as_slice(), u64::MAX).await {
            Ok(_) => Ok(()),
            Err(WriteError::Store(e)) => Err(e),
            // Neither can happen with an in-memory body and no limit.
            Err(WriteError::TooLarge { .. } | WriteError::Interrupted(_)) => {
                Err(StoreError::Internal(format!("storing {key} from memory failed")))
            }
        }
    }

    async fn put_stream(&self, _bucket: Bucket, _key: &str, _body: ObjectBody) -> Result<u64> {
        Err(StoreError::Internal("put_stream: not built yet".into()))
    }

    async fn get_stream(&self, _bucket: Bucket, _key: &str, _range: Option<ByteRange>) -> Result<ObjectBody> {
        Err(StoreError::Internal("get_stream: not built yet".into()))
    }

    async fn create_multipart(&self, _bucket: Bucket, _key: &str) -> Result<String> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }

    async fn presign_part(
        &self,
        _bucket: Bucket,
        _key: &str,
        _upload_id: &str,
        _part: u32,
        _max_bytes: u64,
        _expires_at: i64,
    ) -> Result<String> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }

    async fn list_parts(&self, _bucket: Bucket, _key: &str, _upload_id: &str) -> Result<Vec<UploadedPart>> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }

    async fn complete_multipart(
        &self,
        _bucket: Bucket,
        _key: &str,
        _upload_id: &str,
        _parts: &[UploadedPart],
    ) -> Result<ObjectInfo> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }

    async fn abort_multipart(&self, _bucket: Bucket, _key: &str, _upload_id: &str) -> Result<()> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }

    async fn pending_multiparts(&self, _bucket: Bucket) -> Result<Vec<PendingMultipart>> {
        Err(StoreError::Internal("multipart: not built yet".into()))
    }
}

/// A temporary upload file, removed on drop unless it was renamed into place.
struct TempFile(PathBuf);

impl TempFile {
    /// Renames the (complete, synced) file to `dest`, replacing what is there, and
    /// makes the rename durable.
    async fn move_to(self, dest: &Path) -> Result<()> {
        let dir = dest.parent().expect("an object path is inside its bucket");
        tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        tokio::fs::rename(&self.0, dest).await.map_err(io_error)?;
        // Renamed: dropping `self` now only finds nothing to remove at the old path.
        drop(self);
        sync_dir(dir).await;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "could not remove a temporary upload");
        }
    }
}

/// Whether an io error means "there is nothing at this path".
fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
}

/// The error for a key that [`valid_key`] refuses.
fn invalid_key(key: &str) -> StoreError {
    StoreError::Internal(format!("invalid object key {key:?}"))
}

/// Makes a rename in `dir` durable (best effort: not every platform can sync a directory).
async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}

/// Removes temporary files left in `incoming` by a crash (older than [`STALE_AFTER`]).
async fn remove_stale(incoming: &Path) {
    let Ok(mut entries) = tokio::fs::read_dir(incoming).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Ok(meta) = entry.metadata().await else { continue };
        let age = meta.modified().ok().and_then(|m| SystemTime::now().duration_since(m).ok());
        if meta.is_file() && age.is_some_and(|a| a > STALE_AFTER) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

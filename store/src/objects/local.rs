//! [`LocalObjects`]: the embedded object store, a directory that signs its own URLs.
//!
//! Layout under the root: one directory per bucket (`staging/`, `previews/`,
//! `videos/`) holding objects at their key's path, `.incoming/` for uploads in
//! progress and `.multipart/` for multipart uploads ([`multipart`]). An upload is
//! written to `.incoming/` and renamed into its bucket only once complete and synced,
//! so a partial object is never visible. Neither directory is inside any bucket, so no
//! key can ever name a temporary file or a part. Because every write makes a new file,
//! a copy is a hard link: later writes to the source replace its path with another file
//! and never touch the copy.
//!
//! ```text
//!  PUT  /objects/staging/{key}?expires&max&sig                 → write       (whole object)
//!  PUT  /objects/staging/{key}?upload&part&expires&max&sig     → write_part  (one part)
//!  GET  /objects/{bucket}/{key}?expires&sig                    → path_of     (served file)
//!  put_stream / get_stream (server side): the same atomic write / a file, seek + take
//! ```
//!
//! The HTTP side lives in the endpoint crate; it calls [`LocalObjects::check`] and then
//! [`LocalObjects::write`], [`LocalObjects::write_part`] or [`LocalObjects::path_of`].
//! Size limits hold as the bytes arrive: every signed PUT (whole object or part)
//! carries its `max`, covered by the signature.

mod files;
mod listing;
pub mod multipart;
mod stream;

use std::path::PathBuf;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use self::files::{TempFile, is_absent, remove_stale};
use self::multipart::{MULTIPART, valid_upload_id};
use super::signing::{Method, PartRef, SignatureError, UrlGrant, UrlSigner};
use super::{
    Bucket, ByteRange, MAX_PARTS, ObjectBody, ObjectInfo, ObjectStore, PendingMultipart, UploadedPart, valid_key,
};
use crate::error::{Result, StoreError, from_io as io_error};

/// Name of the directory under the root that holds uploads in progress.
const INCOMING: &str = ".incoming";
/// Read buffer size for uploads.
const CHUNK: usize = 64 * 1024;

/// Query string of a signed local URL: `?expires=..&max=..&sig=..` (`max` only on PUT
/// URLs), with `upload=..&part=..` first on the URL of one part of a multipart upload.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SignedQuery {
    /// The multipart upload a part URL writes to.
    pub upload: Option<String>,
    /// The part number a part URL writes.
    pub part: Option<u32>,
    /// Unix seconds from which the URL is refused.
    pub expires: i64,
    /// Upload size limit (PUT URLs only).
    pub max: Option<u64>,
    /// Lowercase hex HMAC-SHA256 signature.
    pub sig: String,
}

impl SignedQuery {
    /// The part this URL writes: `None` for a whole-object URL, `Err` when only one of
    /// `upload` and `part` is given or the upload id cannot be one of ours.
    pub fn part_ref(&self) -> Result<Option<PartRef<'_>>, SignatureError> {
        match (&self.upload, self.part) {
            (None, None) => Ok(None),
            (Some(upload_id), Some(number)) if valid_upload_id(upload_id) => Ok(Some(PartRef { upload_id, number })),
            _ => Err(SignatureError::Invalid),
        }
    }
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
/// `.incoming/` are removed when the store is opened (multipart uploads are not: see
/// [`multipart`]).
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
        tokio::fs::create_dir_all(root.join(MULTIPART)).await.map_err(io_error)?;
        remove_stale(&incoming).await;
        let store =
            LocalObjects { root, base_url: base_url.trim_end_matches('/').to_owned(), signer: UrlSigner::new(secret) };
        store.remove_dropped_uploads().await;
        Ok(store)
    }

    /// Checks a request to `/objects/{bucket}/{key}`: the key must be valid (else
    /// `Invalid`), then the signature over method, bucket, key, `expires`, `max` and, on
    /// a part URL, `upload` and `part`, then the expiry at `now`.
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
        let part = query.part_ref()?;
        let grant = UrlGrant { method, bucket, key, expires_at: query.expires, max_bytes: query.max, part };
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
        body: R,
        max_bytes: u64,
    ) -> Result<u64, WriteError> {
        let dest = self.path_of(bucket, key).ok_or_else(|| invalid_key(key))?;
        let (temp, written) = self.receive(bucket, body, max_bytes, None).await?;
        temp.move_to(&dest).await?;
        Ok(written)
    }

    /// Streams `body` into a synced temporary file for `bucket` (removed if anything
    /// fails or the future is dropped), feeding `hasher` on the way; fails as soon as
    /// more than `max_bytes` arrive.
    async fn receive<R: AsyncRead + Unpin + Send>(
        &self,
        bucket: Bucket,
        mut body: R,
        max_bytes: u64,
        mut hasher: Option<&mut Sha256>,
    ) -> Result<(TempFile, u64), WriteError> {
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
            if let Some(hasher) = hasher.as_deref_mut() {
                hasher.update(&buf[..n]);
            }
            file.write_all(&buf[..n]).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        file.sync_all().await.map_err(io_error)?;
        Ok((temp, written))
    }

    /// A fresh temporary path under `.incoming/` for an object of `bucket`.
    fn temp_path(&self, bucket: Bucket) -> PathBuf {
        self.root.join(INCOMING).join(format!("{}-{:032x}.part", bucket.as_str(), rand::random::<u128>()))
    }

    /// The signed URL of a grant.
    fn url(&self, grant: &UrlGrant) -> String {
        let sig = self.signer.sign(grant);
        let mut url = format!("{}/objects/{}/{}?", self.base_url, grant.bucket.as_str(), grant.key);
        if let Some(part) = grant.part {
            url.push_str(&format!("upload={}&part={}&", part.upload_id, part.number));
        }
        url.push_str(&format!("expires={}", grant.expires_at));
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
        Ok(self.url(&UrlGrant { method: Method::Put, bucket, key, expires_at, max_bytes: Some(max_bytes), part: None }))
    }

    async fn presign_get(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String> {
        self.valid_path(bucket, key)?;
        Ok(self.url(&UrlGrant { method: Method::Get, bucket, key, expires_at, max_bytes: None, part: None }))
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

    async fn list_keys(&self, bucket: Bucket, prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let root = self.root.join(bucket.as_str());
        let (prefix, after) = (prefix.to_owned(), after.map(str::to_owned));
        tokio::task::spawn_blocking(move || listing::keys_under(&root, &prefix, after.as_deref(), limit))
            .await
            .map_err(|e| StoreError::Internal(format!("listing task failed: {e}")))?
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

    async fn put_stream(&self, bucket: Bucket, key: &str, body: ObjectBody) -> Result<u64> {
        self.write(bucket, key, body, u64::MAX).await.map_err(|e| match e {
            WriteError::Store(e) => e,
            WriteError::Interrupted(detail) => StoreError::Internal(format!("reading the body of {key}: {detail}")),
            WriteError::TooLarge { .. } => StoreError::Internal(format!("storing {key}: over u64::MAX bytes")),
        })
    }

    async fn get_stream(&self, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
        stream::open_range(&self.valid_path(bucket, key)?, range).await
    }

    async fn create_multipart(&self, bucket: Bucket, key: &str) -> Result<String> {
        self.start_multipart(bucket, key).await
    }

    async fn presign_part(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        part: u32,
        max_bytes: u64,
        expires_at: i64,
    ) -> Result<String> {
        self.valid_path(bucket, key)?;
        if !valid_upload_id(upload_id) || !(1..=MAX_PARTS).contains(&part) {
            return Err(StoreError::Internal(format!("no part URL for upload {upload_id:?} part {part}")));
        }
        let part = Some(PartRef { upload_id, number: part });
        Ok(self.url(&UrlGrant { method: Method::Put, bucket, key, expires_at, max_bytes: Some(max_bytes), part }))
    }

    async fn list_parts(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>> {
        self.valid_path(bucket, key)?;
        self.parts_of(bucket, key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<ObjectInfo> {
        self.join_parts(bucket, key, upload_id, parts).await
    }

    async fn abort_multipart(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<()> {
        self.valid_path(bucket, key)?;
        self.drop_upload(bucket, key, upload_id).await
    }

    async fn pending_multiparts(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>> {
        self.pending_of(bucket).await
    }
}

/// The error for a key that [`valid_key`] refuses.
fn invalid_key(key: &str) -> StoreError {
    StoreError::Internal(format!("invalid object key {key:?}"))
}

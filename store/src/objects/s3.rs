//! [`S3Objects`]: the object seam on an S3-compatible store (Ceph RGW, MinIO, AWS) over
//! `aws-sdk-s3`. Browsers talk to the store itself through presigned URLs that name it
//! (MyVid never carries their bytes); MyVid's own calls (head, copy, put, delete) are
//! bounded by timeouts, because an erasure-coded store that lost quorum hangs instead of
//! answering (Ceph does).
//!
//! Each [`Bucket`] is an S3 bucket named `{bucket_prefix}{bucket}` (e.g.
//! `myvid-videos`), created at start if missing. Served objects get their type and
//! disposition from the key through the presigned GET's `response-content-type` /
//! `response-content-disposition` overrides, the same as the embedded store's headers.
//!
//! ```text
//!  browser ──PUT (presigned)──────────────▶ staging/{key}            one request, ≤ 5 GiB
//!  browser ──PUT part n (presigned)───────▶ staging/{key} upload U   create_multipart first;
//!  MyVid:  list_parts → sizes summed → complete_multipart → head      then abort or complete
//!  MyVid:  put_stream ─8 MiB parts─▶ (one PutObject when it fits)    get_stream: GET + Range
//! ```
//!
//! Size limits: a presigned PUT or part URL cannot cap its size on S3, so `max_bytes`
//! is enforced afterwards by the caller: before completing a multipart upload it sums
//! the sizes [`list_parts`] reports and refuses (aborts) an upload that is too big, and
//! publishing reads the object's size ([`head`]) and refuses (and deletes) what is too big.
//!
//! Streamed bodies: `put_stream` reads 8 MiB parts (`s3/stream.rs`) and aborts its upload
//! when anything fails; `get_stream` fails a body that stops arriving for
//! `attempt_timeout` (the SDK's timeouts end when the answer's headers arrive).
//! Bucket CORS (`s3/cors.rs`) is put at start when [`S3Options::cors_origins`] is set.
//!
//! [`head`]: ObjectStore::head
//! [`list_parts`]: ObjectStore::list_parts

mod cors;
mod errors;
mod multipart;
mod options;
mod stream;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

pub use self::options::S3Options;
use super::media_type::{MediaType, content_type_of_key};
use super::{Bucket, ByteRange, ObjectBody, ObjectInfo, ObjectStore, PendingMultipart, UploadedPart, valid_key};
use crate::error::{Result, StoreError};
use errors::{from_sdk, is_not_found};

/// Longest a presigned URL may live (S3's own limit is 7 days).
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The object store on S3.
#[derive(Clone)]
pub struct S3Objects {
    /// For MyVid's own calls, bounded by the timeouts of [`S3Options`].
    client: Client,
    /// For presigning only: configured with the endpoint browsers reach.
    presigner: Client,
    bucket_prefix: String,
    /// Longest a download body may send nothing ([`S3Options::attempt_timeout`]).
    stall_timeout: Duration,
}

impl std::fmt::Debug for S3Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Objects").field("bucket_prefix", &self.bucket_prefix).finish_non_exhaustive()
    }
}

impl S3Objects {
    /// Connects to the store of `options`, creates the buckets that are missing and,
    /// when [`S3Options::cors_origins`] is not empty, puts their CORS configuration.
    /// Fails with `Unavailable` when the store does not answer within the timeouts.
    pub async fn open(options: &S3Options) -> Result<S3Objects> {
        let client = Client::from_conf(config(options, options.endpoint.as_deref()));
        let presigner =
            Client::from_conf(config(options, options.public_endpoint.as_deref().or(options.endpoint.as_deref())));
        let store = S3Objects {
            client,
            presigner,
            bucket_prefix: options.bucket_prefix.clone(),
            stall_timeout: options.attempt_timeout,
        };
        for bucket in Bucket::ALL {
            store.ensure_bucket(bucket).await?;
            if !options.cors_origins.is_empty() {
                store.allow_origins(bucket, &options.cors_origins).await?;
            }
        }
        Ok(store)
    }

    /// The S3 bucket that holds `bucket`.
    pub fn bucket_name(&self, bucket: Bucket) -> String {
        format!("{}{}", self.bucket_prefix, bucket.as_str())
    }

    async fn ensure_bucket(&self, bucket: Bucket) -> Result<()> {
        let name = self.bucket_name(bucket);
        match self.client.head_bucket().bucket(&name).send().await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(from_sdk("head bucket", e)),
        }
        match self.client.create_bucket().bucket(&name).send().await {
            Ok(_) => {
                tracing::info!(bucket = %name, "created S3 bucket");
                Ok(())
            }
            // Another MyVid process created it meanwhile.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
            Err(e) => Err(from_sdk("create bucket", e)),
        }
    }
}

/// The SDK configuration: static credentials when given (else the standard AWS chain is
/// not consulted: set them), path-style addressing when asked, checksums only where S3
/// requires them (RGW refuses the SDK's streamed trailer checksums), and timeouts.
fn config(options: &S3Options, endpoint: Option<&str>) -> aws_sdk_s3::Config {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(options.connect_timeout)
        .operation_attempt_timeout(options.attempt_timeout)
        .operation_timeout(options.operation_timeout)
        .build();
    let mut builder = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(Region::new(options.region.clone()))
        .force_path_style(options.path_style)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts.max(1)))
        .credentials_provider(Credentials::new(
            options.access_key.clone(),
            options.secret_key.clone(),
            None,
            None,
            "myvid-config",
        ));
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    builder.build()
}

/// How long until `expires_at` (Unix seconds), within 1 s and [`MAX_PRESIGN`].
fn presign_for(expires_at: i64) -> Result<PresigningConfig> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let secs = u64::try_from(expires_at.saturating_sub(now)).unwrap_or(0).max(1);
    PresigningConfig::expires_in(Duration::from_secs(secs).min(MAX_PRESIGN))
        .map_err(|e| StoreError::Internal(format!("presigning: {e}")))
}

/// Refuses keys the seam does not allow (they could need escaping or leave a bucket).
fn checked(key: &str) -> Result<&str> {
    if valid_key(key) { Ok(key) } else { Err(StoreError::NotFound) }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn presign_put(&self, bucket: Bucket, key: &str, _max_bytes: u64, expires_at: i64) -> Result<String> {
        let request = self
            .presigner
            .put_object()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .presigned(presign_for(expires_at)?)
            .await
            .map_err(|e| from_sdk("presign put", e))?;
        Ok(request.uri().to_owned())
    }

    async fn presign_get(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String> {
        let key = checked(key)?;
        let name = key.rsplit('/').next().unwrap_or("object");
        let disposition = if MediaType::of_key(key).is_some() { "inline" } else { "attachment" };
        let request = self
            .presigner
            .get_object()
            .bucket(self.bucket_name(bucket))
            .key(key)
            .response_content_type(content_type_of_key(key))
            .response_content_disposition(format!("{disposition}; filename=\"{name}\""))
            .presigned(presign_for(expires_at)?)
            .await
            .map_err(|e| from_sdk("presign get", e))?;
        Ok(request.uri().to_owned())
    }

    async fn head(&self, bucket: Bucket, key: &str) -> Result<Option<ObjectInfo>> {
        let answer = self.client.head_object().bucket(self.bucket_name(bucket)).key(checked(key)?).send().await;
        match answer {
            Ok(head) => Ok(Some(ObjectInfo { size: u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0) })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(from_sdk("head", e)),
        }
    }

    async fn probe_input(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String> {
        self.presign_get(bucket, key, expires_at).await
    }

    async fn delete(&self, bucket: Bucket, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("delete", e))
    }

    async fn list_keys(&self, bucket: Bucket, prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(self.bucket_name(bucket))
            .prefix(prefix)
            .set_start_after(after.map(str::to_owned))
            .max_keys(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(|e| from_sdk("list objects", e))?;
        Ok(page.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect())
    }

    async fn copy(&self, from: (Bucket, &str), to: (Bucket, &str)) -> Result<()> {
        let source = format!("{}/{}", self.bucket_name(from.0), checked(from.1)?);
        let answer = self
            .client
            .copy_object()
            .copy_source(source)
            .bucket(self.bucket_name(to.0))
            .key(checked(to.1)?)
            .content_type(content_type_of_key(to.1))
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Err(StoreError::NotFound),
            Err(e) => Err(from_sdk("copy", e)),
        }
    }

    async fn put(&self, bucket: Bucket, key: &str, data: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .content_type(content_type_of_key(key))
            .body(ByteStream::from(data))
            .send()
            .await
            .map(drop)
            .map_err(|e| from_sdk("put", e))
    }

    async fn put_stream(&self, bucket: Bucket, key: &str, body: ObjectBody) -> Result<u64> {
        self.put_streamed(bucket, key, body).await
    }

    async fn get_stream(&self, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
        self.get_streamed(bucket, key, range).await
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
        _max_bytes: u64,
        expires_at: i64,
    ) -> Result<String> {
        self.presigned_part(bucket, key, upload_id, part, expires_at).await
    }

    async fn list_parts(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>> {
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
        self.drop_multipart(bucket, key, upload_id).await
    }

    async fn pending_multiparts(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>> {
        self.pending_of(bucket).await
    }
}

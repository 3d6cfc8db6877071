//! What [`S3Objects`](super::S3Objects) needs to reach a store.

use std::time::Duration;

/// Connection settings of the S3 backend.
#[derive(Clone)]
pub struct S3Options {
    /// The store's URL for MyVid's own calls, e.g. `http://10.0.0.5:7480`; `None` for
    /// AWS's own endpoints.
    pub endpoint: Option<String>,
    /// The URL browsers reach the store at, named in presigned URLs (a signature covers
    /// the host); `None`: the same as `endpoint`.
    pub public_endpoint: Option<String>,
    /// Region (Ceph and MinIO accept any; `us-east-1` is customary).
    pub region: String,
    /// Path-style addressing (`endpoint/bucket/key`), which Ceph RGW and MinIO want;
    /// otherwise virtual-host style (`bucket.endpoint/key`).
    pub path_style: bool,
    /// Buckets are named this plus the bucket's name (`staging`, `videos`, `previews`).
    pub bucket_prefix: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Longest wait for a TCP connection.
    pub connect_timeout: Duration,
    /// Longest one attempt of a call may take (a store without quorum hangs).
    pub attempt_timeout: Duration,
    /// Longest a call may take with its retries.
    pub operation_timeout: Duration,
    /// Attempts per call (1 = no retry); each abandoned attempt may leave a hung request
    /// inside the store, so keep it small.
    pub max_attempts: u32,
    /// Origins of MyVid's pages (e.g. `https://myvid.example`) whose browsers talk to the
    /// store itself: when not empty, every bucket gets a CORS configuration at start
    /// (staging: `PUT` with `ETag` readable; previews and videos: `GET`/`HEAD` with
    /// `Range`). Empty: CORS is left as the operator set it.
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("public_endpoint", &self.public_endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("bucket_prefix", &self.bucket_prefix)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

impl S3Options {
    /// Options for a store at `endpoint` with the defaults: region `us-east-1`,
    /// path-style, buckets `myvid-…`, connect 2 s, attempt 5 s, call 12 s, 2 attempts,
    /// no CORS origins.
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str) -> Self {
        S3Options {
            endpoint: Some(endpoint.to_owned()),
            public_endpoint: None,
            region: "us-east-1".to_owned(),
            path_style: true,
            bucket_prefix: "myvid-".to_owned(),
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(12),
            max_attempts: 2,
            cors_origins: Vec::new(),
        }
    }
}

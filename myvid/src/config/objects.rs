//! `[objects]`: which object store every role uses, and how to reach S3.

use std::time::Duration;

use anyhow::bail;
use myvid_store::S3Options;
use serde::{Deserialize, Serialize};

/// The object backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectsBackend {
    /// The embedded directory in `data_dir`, served by MyVid's own signed URLs.
    Local,
    /// An S3-compatible store (Ceph RGW, MinIO, AWS), which browsers reach directly.
    S3,
}

/// `[objects]`
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectsConfig {
    /// `local` (default) or `s3`.
    pub backend: ObjectsBackend,
    /// S3: the store's URL for MyVid's own calls, e.g. `http://10.0.0.5:7480`; empty for
    /// AWS's endpoints.
    pub endpoint: String,
    /// S3: the URL browsers reach the store at (named in presigned URLs); empty: `endpoint`.
    pub public_endpoint: String,
    /// S3: region.
    pub region: String,
    /// S3: path-style addressing (Ceph RGW, MinIO); `false` for virtual-host style.
    pub path_style: bool,
    /// S3: buckets are named this plus `staging`, `videos`, `previews`.
    pub bucket_prefix: String,
    /// S3: access key id; empty: `AWS_ACCESS_KEY_ID`.
    pub access_key: String,
    /// S3: secret key; empty: `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: Option<String>,
    /// S3: longest wait for a connection, in ms.
    pub connect_timeout_ms: u64,
    /// S3: longest one attempt of a call may take, in ms (a store without quorum hangs).
    pub attempt_timeout_ms: u64,
    /// S3: longest a call may take with its retries, in ms.
    pub operation_timeout_ms: u64,
    /// S3: attempts per call.
    pub max_attempts: u32,
    /// S3: origins of MyVid's pages (`https://myvid.example`; one `*` may stand for a
    /// part, as in `http://127.0.0.1:*`) whose browsers upload to and play from the store:
    /// when not empty, MyVid sets the buckets' CORS rules at start. Empty: left as set.
    pub cors_origins: Vec<String>,
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        ObjectsConfig {
            backend: ObjectsBackend::Local,
            endpoint: String::new(),
            public_endpoint: String::new(),
            region: "us-east-1".into(),
            path_style: true,
            bucket_prefix: "myvid-".into(),
            access_key: String::new(),
            secret_key: None,
            connect_timeout_ms: 2_000,
            attempt_timeout_ms: 5_000,
            operation_timeout_ms: 12_000,
            max_attempts: 2,
            cors_origins: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ObjectsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectsConfig")
            .field("backend", &self.backend)
            .field("endpoint", &self.endpoint)
            .field("public_endpoint", &self.public_endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("bucket_prefix", &self.bucket_prefix)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("attempt_timeout_ms", &self.attempt_timeout_ms)
            .field("operation_timeout_ms", &self.operation_timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

impl ObjectsConfig {
    /// Checks the fields the backend uses, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.backend == ObjectsBackend::Local {
            return Ok(());
        }
        for (field, url) in [("endpoint", &self.endpoint), ("public_endpoint", &self.public_endpoint)] {
            if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
                bail!("`objects.{field}` must be an http:// or https:// URL, got {url:?}");
            }
        }
        let prefix_ok = self.bucket_prefix.len() <= 40
            && self.bucket_prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !prefix_ok {
            bail!("`objects.bucket_prefix` must be at most 40 lowercase letters, digits or `-`");
        }
        for (field, ms) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("attempt_timeout_ms", self.attempt_timeout_ms),
            ("operation_timeout_ms", self.operation_timeout_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                bail!("`objects.{field}` must be between 100 and 600000, got {ms}");
            }
        }
        if !(1..=5).contains(&self.max_attempts) {
            bail!("`objects.max_attempts` must be between 1 and 5, got {}", self.max_attempts);
        }
        if self.cors_origins.len() > 20 {
            bail!("`objects.cors_origins` may name at most 20 origins");
        }
        for origin in &self.cors_origins {
            let (scheme_ok, rest) = match origin.split_once("://") {
                Some(("http" | "https", rest)) => (true, rest),
                _ => (origin == "*", ""),
            };
            let host_ok = rest.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]*".contains(&b));
            if !scheme_ok || !host_ok || origin.len() > 200 || origin.matches('*').count() > 1 {
                bail!("`objects.cors_origins`: {origin:?} is not an origin like https://myvid.example (no path)");
            }
        }
        Ok(())
    }

    /// The S3 settings, with credentials from the config or else from
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` in `env`.
    pub fn s3_options(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<S3Options> {
        let access_key = Some(self.access_key.clone()).filter(|k| !k.is_empty()).or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret_key = self.secret_key.clone().or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            bail!(
                "S3 credentials: set `objects.access_key` and `objects.secret_key`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            );
        };
        let non_empty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        let mut options = S3Options::new(&self.endpoint, &access_key, &secret_key);
        options.endpoint = non_empty(&self.endpoint);
        options.public_endpoint = non_empty(&self.public_endpoint);
        options.region = self.region.clone();
        options.path_style = self.path_style;
        options.bucket_prefix = self.bucket_prefix.clone();
        options.connect_timeout = Duration::from_millis(self.connect_timeout_ms);
        options.attempt_timeout = Duration::from_millis(self.attempt_timeout_ms);
        options.operation_timeout = Duration::from_millis(self.operation_timeout_ms);
        options.max_attempts = self.max_attempts;
        options.cors_origins = self.cors_origins.clone();
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_settings_and_credentials() {
        let config = ObjectsConfig {
            backend: ObjectsBackend::S3,
            endpoint: "http://127.0.0.1:7480".into(),
            ..ObjectsConfig::default()
        };
        config.validate().unwrap();
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKID".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("s3cret".to_owned()),
            _ => None,
        };
        let options = config.s3_options(env).unwrap();
        assert_eq!((options.access_key.as_str(), options.secret_key.as_str()), ("AKID", "s3cret"));
        assert_eq!(options.endpoint.as_deref(), Some("http://127.0.0.1:7480"));
        assert!(config.s3_options(|_| None).is_err(), "no credentials anywhere");
        let shown = ObjectsConfig { secret_key: Some("s3cret".into()), ..config.clone() };
        assert!(!format!("{shown:?}").contains("s3cret"));
        let bad = ObjectsConfig { endpoint: "ftp://x".into(), ..config.clone() };
        assert!(bad.validate().is_err());
        let bad = ObjectsConfig { bucket_prefix: "My_Bucket".into(), ..config.clone() };
        assert!(bad.validate().is_err());
        let origins = |list: &[&str]| ObjectsConfig {
            cors_origins: list.iter().map(|o| (*o).to_owned()).collect(),
            ..config.clone()
        };
        assert!(origins(&["https://myvid.example", "http://127.0.0.1:*", "*"]).validate().is_ok());
        for bad in ["myvid.example", "https://myvid.example/path", "javascript:x", "http://*.a.*"] {
            assert!(origins(&[bad]).validate().is_err(), "{bad} must be refused");
        }
    }
}

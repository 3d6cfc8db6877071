//! Bucket CORS, so that a browser on MyVid's pages may talk to the store itself: `PUT`
//! parts and whole uploads into staging and read the `ETag` of each answer (the
//! multipart completion needs it), and `GET`/`HEAD` (with `Range`) previews and videos.
//! Put on every bucket at start when origins are configured; buckets are left alone
//! otherwise (an operator may manage CORS by hand).

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};

use super::S3Objects;
use super::errors::from_sdk;
use crate::error::{Result, StoreError};
use crate::objects::Bucket;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: i32 = 3600;

/// The methods and exposed headers of `bucket`'s rule.
fn rule_of(bucket: Bucket) -> (&'static [&'static str], &'static [&'static str]) {
    match bucket {
        Bucket::Staging => (&["PUT"], &["ETag"]),
        Bucket::Previews | Bucket::Videos => {
            (&["GET", "HEAD"], &["Content-Length", "Content-Range", "Accept-Ranges", "ETag"])
        }
    }
}

/// The CORS configuration of `bucket` for pages on `origins`.
fn configuration(bucket: Bucket, origins: &[String]) -> Result<CorsConfiguration> {
    let (methods, exposed) = rule_of(bucket);
    let rule = CorsRule::builder()
        .set_allowed_origins(Some(origins.to_vec()))
        .set_allowed_methods(Some(methods.iter().map(|m| (*m).to_owned()).collect()))
        .allowed_headers("*")
        .set_expose_headers(Some(exposed.iter().map(|h| (*h).to_owned()).collect()))
        .max_age_seconds(PREFLIGHT_MAX_AGE)
        .build()
        .map_err(|e| StoreError::Internal(format!("CORS rule: {e}")))?;
    CorsConfiguration::builder().cors_rules(rule).build().map_err(|e| StoreError::Internal(format!("CORS: {e}")))
}

impl S3Objects {
    /// Puts the CORS configuration for `origins` on `bucket` (replacing any other).
    pub(super) async fn allow_origins(&self, bucket: Bucket, origins: &[String]) -> Result<()> {
        self.client
            .put_bucket_cors()
            .bucket(self.bucket_name(bucket))
            .cors_configuration(configuration(bucket, origins)?)
            .send()
            .await
            .map_err(|e| from_sdk("put bucket CORS", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_accepts_puts_and_shows_the_etag_and_served_buckets_allow_ranged_reads() {
        let origins = vec!["https://myvid.example".to_owned()];
        let staging = configuration(Bucket::Staging, &origins).unwrap();
        let rule = &staging.cors_rules()[0];
        assert_eq!(
            (rule.allowed_methods(), rule.expose_headers()),
            (&["PUT".to_owned()][..], &["ETag".to_owned()][..])
        );
        assert_eq!(rule.allowed_origins(), &origins[..]);
        let videos = configuration(Bucket::Videos, &origins).unwrap();
        let rule = &videos.cors_rules()[0];
        assert_eq!(rule.allowed_methods(), &["GET".to_owned(), "HEAD".to_owned()][..]);
        assert!(rule.expose_headers().iter().any(|h| h == "Content-Range"));
        assert_eq!(rule.allowed_headers(), &["*".to_owned()][..]);
    }
}

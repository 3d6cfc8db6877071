//! Turning `aws-sdk-s3` errors into the store's terms: a store that does not answer is
//! `Unavailable`, one that refuses writes (access denied, quota) is `ReadOnly`, a
//! missing object `NotFound`.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::StoreError;

/// Whether `e` says the bucket or object does not exist.
pub(super) fn is_not_found<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(service) => {
            matches!(service.err().code(), Some("NoSuchKey" | "NoSuchBucket" | "NotFound"))
                || service.raw().status().as_u16() == 404
        }
        _ => false,
    }
}

/// The store error for a failed `what` call.
pub(super) fn from_sdk<E: ProvideErrorMetadata>(what: &str, e: SdkError<E, HttpResponse>) -> StoreError {
    match &e {
        SdkError::TimeoutError(_) => StoreError::Unavailable(format!("object store {what}: no answer in time")),
        SdkError::DispatchFailure(failure) if failure.is_timeout() || failure.is_io() => {
            StoreError::Unavailable(format!("object store {what}: {failure:?}"))
        }
        SdkError::ResponseError(_) => StoreError::Unavailable(format!("object store {what}: bad response")),
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("").to_owned();
            let status = service.raw().status().as_u16();
            match (status, code.as_str()) {
                (_, "QuotaExceeded" | "AccessDenied") | (403, _) => {
                    StoreError::ReadOnly(format!("object store {what}: refused ({status} {code})"))
                }
                (500..=599, _) | (_, "SlowDown" | "ServiceUnavailable") => {
                    StoreError::Unavailable(format!("object store {what}: {status} {code}"))
                }
                _ => StoreError::Internal(format!("object store {what}: {status} {code}")),
            }
        }
        _ => StoreError::Internal(format!("object store {what}: {}", e.code().unwrap_or("unknown error"))),
    }
}

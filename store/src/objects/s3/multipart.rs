//! Multipart uploads on S3: browsers send parts straight to the store through presigned
//! `UploadPart` URLs; MyVid creates, lists, completes and aborts them.
//!
//! A presigned part URL cannot cap its size (S3 signs no length range), so size limits
//! hold at completion: the caller sums [`list_parts`](crate::objects::ObjectStore::list_parts)
//! before `complete_multipart` and checks [`head`](crate::objects::ObjectStore::head) after.
//! S3 keeps an upload that was neither completed nor aborted (and its parts) forever:
//! the caller reaps them from [`pending_multiparts`](crate::objects::ObjectStore::pending_multiparts).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::errors::{from_sdk, is_not_found};
use super::stream::part_number;
use super::{S3Objects, checked, presign_for};
use crate::error::{Result, StoreError};
use crate::objects::media_type::content_type_of_key;
use crate::objects::{Bucket, MAX_PARTS, ObjectInfo, ObjectStore, PendingMultipart, UploadedPart};

/// S3's answers to a completion whose parts are wrong: a part missing or with another
/// ETag, numbers out of order, a part but the last under 5 MiB, a malformed list.
const PART_ERRORS: [&str; 4] = ["InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"];

/// An ETag as a client sends it back: quoted (RGW lists parts' ETags without quotes,
/// while the `ETag` header of a part's PUT has them).
fn quoted(etag: &str) -> String {
    if etag.starts_with('"') { etag.to_owned() } else { format!("\"{etag}\"") }
}

impl S3Objects {
    /// See [`ObjectStore::create_multipart`](crate::objects::ObjectStore::create_multipart).
    pub(super) async fn start_multipart(&self, bucket: Bucket, key: &str) -> Result<String> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .content_type(content_type_of_key(key))
            .send()
            .await
            .map_err(|e| from_sdk("create multipart", e))?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Internal("object store create multipart: no upload id".into()))
    }

    /// See [`ObjectStore::presign_part`](crate::objects::ObjectStore::presign_part)
    /// (`max_bytes` cannot be enforced by S3: see the module docs).
    pub(super) async fn presigned_part(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        part: u32,
        expires_at: i64,
    ) -> Result<String> {
        if !(1..=MAX_PARTS).contains(&part) {
            return Err(StoreError::Internal(format!("no part URL for part {part}")));
        }
        let request = self
            .presigner
            .upload_part()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .upload_id(upload_id)
            .part_number(part_number(part))
            .presigned(presign_for(expires_at)?)
            .await
            .map_err(|e| from_sdk("presign part", e))?;
        Ok(request.uri().to_owned())
    }

    /// See [`ObjectStore::list_parts`](crate::objects::ObjectStore::list_parts): every
    /// page of `ListParts`.
    pub(super) async fn parts_of(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>> {
        let key = checked(key)?;
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(self.bucket_name(bucket))
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                // RGW 16 answers `NoSuchKey` for an aborted upload, S3 `NoSuchUpload`: both 404.
                Err(e) if is_not_found(&e) => return Err(StoreError::NotFound),
                Err(e) => return Err(from_sdk("list parts", e)),
            };
            for part in page.parts() {
                let (Some(number), Some(size)) = (part.part_number(), part.size()) else { continue };
                parts.push(UploadedPart {
                    number: u32::try_from(number).unwrap_or(0),
                    size: u64::try_from(size).unwrap_or(0),
                    etag: quoted(part.e_tag().unwrap_or_default()),
                });
            }
            marker = page.next_part_number_marker().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || marker.is_none() {
                break;
            }
        }
        parts.sort_by_key(|part| part.number);
        Ok(parts)
    }

    /// See [`ObjectStore::complete_multipart`](crate::objects::ObjectStore::complete_multipart):
    /// `CompleteMultipartUpload`, then `HeadObject` for the size (RGW 16 answers an
    /// empty ETag to the completion).
    pub(super) async fn join_parts(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<ObjectInfo> {
        let key = checked(key)?;
        // S3 refuses these too (MalformedXML, InvalidPartOrder); checked here so that
        // every store answers them alike.
        if parts.is_empty() || parts.windows(2).any(|pair| pair[0].number >= pair[1].number) {
            return Err(StoreError::Conflict("parts".into()));
        }
        let completed = parts
            .iter()
            .map(|part| CompletedPart::builder().part_number(part_number(part.number)).e_tag(&part.etag).build())
            .collect();
        let answer = self
            .client
            .complete_multipart_upload()
            .bucket(self.bucket_name(bucket))
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await;
        match answer {
            Ok(_) => {}
            Err(e) if e.code().is_some_and(|code| PART_ERRORS.contains(&code)) => {
                tracing::debug!(%key, code = e.code().unwrap_or_default(), "multipart completion refused");
                return Err(StoreError::Conflict("parts".into()));
            }
            Err(e) if is_not_found(&e) => return Err(StoreError::NotFound),
            Err(e) => {
                // RGW 16 answers 500 `InternalError` to completing an unknown upload:
                // ask whether the upload exists before calling it a failure.
                let failure = from_sdk("complete multipart", e);
                return match self.parts_of(bucket, key, upload_id).await {
                    Err(StoreError::NotFound) => Err(StoreError::NotFound),
                    _ => Err(failure),
                };
            }
        }
        ObjectStore::head(self, bucket, key)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("object store: {key} missing after its completion")))
    }

    /// See [`ObjectStore::abort_multipart`](crate::objects::ObjectStore::abort_multipart).
    pub(super) async fn drop_multipart(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<()> {
        let answer = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket_name(bucket))
            .key(checked(key)?)
            .upload_id(upload_id)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(from_sdk("abort multipart", e)),
        }
    }

    /// See [`ObjectStore::pending_multiparts`](crate::objects::ObjectStore::pending_multiparts):
    /// every page of `ListMultipartUploads`.
    pub(super) async fn pending_of(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>> {
        let mut pending = Vec::new();
        let (mut key_marker, mut upload_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(self.bucket_name(bucket))
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(upload_marker.take())
                .send()
                .await
                .map_err(|e| from_sdk("list multipart uploads", e))?;
            for upload in page.uploads() {
                let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) else { continue };
                pending.push(PendingMultipart {
                    key: key.to_owned(),
                    upload_id: upload_id.to_owned(),
                    initiated_at: upload.initiated().map_or(0, |t| t.secs()),
                });
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_marker = page.next_upload_id_marker().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || key_marker.is_none() {
                break;
            }
        }
        Ok(pending)
    }
}

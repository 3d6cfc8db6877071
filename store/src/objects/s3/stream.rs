//! Streaming objects into and out of S3: bodies of any length go up in
//! [`PART_BYTES`] parts (one `PutObject` when they fit in one), and downloads come back
//! as an `AsyncRead` that fails instead of hanging when the store stops sending.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::errors::{from_sdk, is_not_found};
use super::{S3Objects, checked};
use crate::error::{Result, StoreError};
use crate::objects::media_type::content_type_of_key;
use crate::objects::{Bucket, ByteRange, MAX_PARTS, ObjectBody};

/// Size of the parts a streamed body goes up in: above S3's 5 MiB minimum, small enough
/// that two buffers (the part being sent and the next) cost little memory, and that one
/// part goes up well within one attempt's timeout. With [`MAX_PARTS`] parts, bodies up
/// to 80 GiB fit.
pub(super) const PART_BYTES: usize = 8 * 1024 * 1024;

impl S3Objects {
    /// See [`ObjectStore::put_stream`](crate::objects::ObjectStore::put_stream).
    pub(super) async fn put_streamed(&self, bucket: Bucket, key: &str, mut body: ObjectBody) -> Result<u64> {
        let key = checked(key)?;
        let first = fill(&mut body, key).await?;
        if first.len() < PART_BYTES {
            return self.put_whole(bucket, key, first).await;
        }
        let second = fill(&mut body, key).await?;
        if second.is_empty() {
            return self.put_whole(bucket, key, first).await;
        }
        let upload_id = self.start_multipart(bucket, key).await?;
        match self.send_parts(bucket, key, &upload_id, [first, second], body).await {
            Ok(size) => Ok(size),
            Err(e) => {
                if let Err(abort) = self.drop_multipart(bucket, key, &upload_id).await {
                    tracing::warn!(%key, %upload_id, error = %abort, "could not abort a failed streamed upload");
                }
                Err(e)
            }
        }
    }

    /// One `PutObject` of a body that fits in memory; returns its length.
    async fn put_whole(&self, bucket: Bucket, key: &str, data: Vec<u8>) -> Result<u64> {
        let size = data.len() as u64;
        self.client
            .put_object()
            .bucket(self.bucket_name(bucket))
            .key(key)
            .content_type(content_type_of_key(key))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| from_sdk("put", e))?;
        Ok(size)
    }

    /// Sends `first` parts, then the rest of `body` part by part, and completes the
    /// upload; returns the object's size.
    async fn send_parts(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        first: [Vec<u8>; 2],
        mut body: ObjectBody,
    ) -> Result<u64> {
        let mut completed = Vec::new();
        let mut size = 0;
        let mut pending: Vec<Vec<u8>> = first.into_iter().rev().collect();
        let mut number: u32 = 0;
        loop {
            let data = match pending.pop() {
                Some(data) => data,
                None => fill(&mut body, key).await?,
            };
            if data.is_empty() {
                break;
            }
            number += 1;
            if number > MAX_PARTS {
                return Err(StoreError::Internal(format!("{key}: more than {MAX_PARTS} parts of {PART_BYTES} bytes")));
            }
            size += data.len() as u64;
            let last = data.len() < PART_BYTES;
            let sent = self
                .client
                .upload_part()
                .bucket(self.bucket_name(bucket))
                .key(key)
                .upload_id(upload_id)
                .part_number(part_number(number))
                .body(ByteStream::from(data))
                .send()
                .await
                .map_err(|e| from_sdk("upload part", e))?;
            let etag = sent.e_tag().unwrap_or_default().to_owned();
            completed.push(CompletedPart::builder().part_number(part_number(number)).e_tag(etag).build());
            if last {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket_name(bucket))
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(|e| from_sdk("complete multipart", e))?;
        Ok(size)
    }

    /// See [`ObjectStore::get_stream`](crate::objects::ObjectStore::get_stream).
    pub(super) async fn get_streamed(&self, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
        let mut request = self.client.get_object().bucket(self.bucket_name(bucket)).key(checked(key)?);
        if let Some(range) = range {
            if range.end.is_some_and(|end| end < range.start) {
                return Err(StoreError::Conflict("range".into()));
            }
            let end = range.end.map(|end| end.to_string()).unwrap_or_default();
            request = request.range(format!("bytes={}-{end}", range.start));
        }
        match request.send().await {
            Ok(object) => {
                let body: ObjectBody = Box::pin(object.body.into_async_read());
                Ok(Box::pin(StallGuard::new(body, self.stall_timeout)))
            }
            Err(e)
                if e.code() == Some("InvalidRange") || e.raw_response().is_some_and(|r| r.status().as_u16() == 416) =>
            {
                Err(StoreError::Conflict("range".into()))
            }
            Err(e) if is_not_found(&e) => Err(StoreError::NotFound),
            Err(e) => Err(from_sdk("get", e)),
        }
    }
}

/// A part number for the SDK (always within 1–[`MAX_PARTS`], so it fits).
pub(super) fn part_number(number: u32) -> i32 {
    i32::try_from(number).unwrap_or(i32::MAX)
}

/// Reads up to [`PART_BYTES`] from `body` (fewer only at its end).
async fn fill(body: &mut ObjectBody, key: &str) -> Result<Vec<u8>> {
    let mut data = Vec::with_capacity(PART_BYTES);
    let mut limited = body.take(PART_BYTES as u64);
    loop {
        let n = limited
            .read_buf(&mut data)
            .await
            .map_err(|e| StoreError::Internal(format!("reading the body of {key}: {e}")))?;
        if n == 0 {
            return Ok(data);
        }
    }
}

/// An object body from the store that fails with `TimedOut` when no byte arrives for
/// `limit`: the SDK's operation timeout ends when the answer's headers arrive, and a
/// store that loses quorum mid-body would otherwise leave the reader waiting forever.
struct StallGuard {
    inner: ObjectBody,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
}

impl StallGuard {
    fn new(inner: ObjectBody, limit: Duration) -> Self {
        StallGuard { inner, limit, timer: Box::pin(tokio::time::sleep(limit)) }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.timer.as_mut().reset(Instant::now() + this.limit);
                Poll::Ready(result)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the object store sent nothing for {:?}", this.limit),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_sending_fails_after_the_limit() {
        let (mut writer, reader) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"some").await.unwrap();
        let mut guarded = StallGuard::new(Box::pin(reader), Duration::from_secs(5));
        let mut buf = [0u8; 16];
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 4);
        let started = Instant::now();
        let err = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        drop(writer);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_sending_is_never_cut() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(Box::pin(reader), Duration::from_secs(5));
        let sender = tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                tokio::io::AsyncWriteExt::write_all(&mut writer, b"x").await.unwrap();
            }
        });
        let mut all = Vec::new();
        guarded.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, vec![b'x'; 10]);
        sender.await.unwrap();
    }
}

//! [`Watched`]: the object store as handlers see it — every call goes to the real store,
//! and a call that finds it unavailable or read-only tells [`ObjectHealth`], so that the
//! next writing call is refused at once and the prober checks again without waiting.
//! The prober itself probes the unwatched store (its results set the state directly).

use std::sync::Arc;

use async_trait::async_trait;
use myvid_store::StoreError;
use myvid_store::objects::{Bucket, ByteRange, ObjectBody, ObjectInfo, ObjectStore, PendingMultipart, UploadedPart};

use super::ObjectHealth;
use crate::clock::Clock;

/// An [`ObjectStore`] whose failures feed an [`ObjectHealth`].
pub struct Watched {
    inner: Arc<dyn ObjectStore>,
    health: Arc<ObjectHealth>,
    clock: Clock,
}

impl Watched {
    /// Watches `inner`, reporting its failures to `health`.
    pub fn new(inner: Arc<dyn ObjectStore>, health: Arc<ObjectHealth>, clock: Clock) -> Watched {
        Watched { inner, health, clock }
    }

    fn noted<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(err) = &result {
            self.health.note_failure(err, self.clock.now());
        }
        result
    }
}

#[async_trait]
impl ObjectStore for Watched {
    async fn presign_put(
        &self,
        bucket: Bucket,
        key: &str,
        max_bytes: u64,
        expires_at: i64,
    ) -> Result<String, StoreError> {
        self.noted(self.inner.presign_put(bucket, key, max_bytes, expires_at).await)
    }

    async fn presign_get(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String, StoreError> {
        self.noted(self.inner.presign_get(bucket, key, expires_at).await)
    }

    async fn head(&self, bucket: Bucket, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        self.noted(self.inner.head(bucket, key).await)
    }

    async fn probe_input(&self, bucket: Bucket, key: &str, expires_at: i64) -> Result<String, StoreError> {
        self.noted(self.inner.probe_input(bucket, key, expires_at).await)
    }

    async fn put_stream(&self, bucket: Bucket, key: &str, body: ObjectBody) -> Result<u64, StoreError> {
        self.noted(self.inner.put_stream(bucket, key, body).await)
    }

    async fn get_stream(&self, bucket: Bucket, key: &str, range: Option<ByteRange>) -> Result<ObjectBody, StoreError> {
        self.noted(self.inner.get_stream(bucket, key, range).await)
    }

    async fn create_multipart(&self, bucket: Bucket, key: &str) -> Result<String, StoreError> {
        self.noted(self.inner.create_multipart(bucket, key).await)
    }

    async fn presign_part(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        part: u32,
        max_bytes: u64,
        expires_at: i64,
    ) -> Result<String, StoreError> {
        self.noted(self.inner.presign_part(bucket, key, upload_id, part, max_bytes, expires_at).await)
    }

    async fn list_parts(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<Vec<UploadedPart>, StoreError> {
        self.noted(self.inner.list_parts(bucket, key, upload_id).await)
    }

    async fn complete_multipart(
        &self,
        bucket: Bucket,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<ObjectInfo, StoreError> {
        self.noted(self.inner.complete_multipart(bucket, key, upload_id, parts).await)
    }

    async fn abort_multipart(&self, bucket: Bucket, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.noted(self.inner.abort_multipart(bucket, key, upload_id).await)
    }

    async fn pending_multiparts(&self, bucket: Bucket) -> Result<Vec<PendingMultipart>, StoreError> {
        self.noted(self.inner.pending_multiparts(bucket).await)
    }

    async fn delete(&self, bucket: Bucket, key: &str) -> Result<(), StoreError> {
        self.noted(self.inner.delete(bucket, key).await)
    }

    async fn list_keys(
        &self,
        bucket: Bucket,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.noted(self.inner.list_keys(bucket, prefix, after, limit).await)
    }

    async fn copy(&self, from: (Bucket, &str), to: (Bucket, &str)) -> Result<(), StoreError> {
        self.noted(self.inner.copy(from, to).await)
    }

    async fn put(&self, bucket: Bucket, key: &str, data: Vec<u8>) -> Result<(), StoreError> {
        self.noted(self.inner.put(bucket, key, data).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object_health::StoreState;

    /// A store that answers every call with one error.
    struct Failing(fn() -> StoreError);

    #[async_trait]
    impl ObjectStore for Failing {
        async fn presign_put(&self, _: Bucket, _: &str, _: u64, _: i64) -> Result<String, StoreError> {
            Err((self.0)())
        }
        async fn presign_get(&self, _: Bucket, _: &str, _: i64) -> Result<String, StoreError> {
            Err((self.0)())
        }
        async fn head(&self, _: Bucket, _: &str) -> Result<Option<ObjectInfo>, StoreError> {
            Err((self.0)())
        }
        async fn probe_input(&self, _: Bucket, _: &str, _: i64) -> Result<String, StoreError> {
            Err((self.0)())
        }
        async fn put_stream(&self, _: Bucket, _: &str, _: ObjectBody) -> Result<u64, StoreError> {
            Err((self.0)())
        }
        async fn get_stream(&self, _: Bucket, _: &str, _: Option<ByteRange>) -> Result<ObjectBody, StoreError> {
            Err((self.0)())
        }
        async fn create_multipart(&self, _: Bucket, _: &str) -> Result<String, StoreError> {
            Err((self.0)())
        }
        async fn presign_part(
            &self,
            _: Bucket,
            _: &str,
            _: &str,
            _: u32,
            _: u64,
            _: i64,
        ) -> Result<String, StoreError> {
            Err((self.0)())
        }
        async fn list_parts(&self, _: Bucket, _: &str, _: &str) -> Result<Vec<UploadedPart>, StoreError> {
            Err((self.0)())
        }
        async fn complete_multipart(
            &self,
            _: Bucket,
            _: &str,
            _: &str,
            _: &[UploadedPart],
        ) -> Result<ObjectInfo, StoreError> {
            Err((self.0)())
        }
        async fn abort_multipart(&self, _: Bucket, _: &str, _: &str) -> Result<(), StoreError> {
            Err((self.0)())
        }
        async fn pending_multiparts(&self, _: Bucket) -> Result<Vec<PendingMultipart>, StoreError> {
            Err((self.0)())
        }
        async fn delete(&self, _: Bucket, _: &str) -> Result<(), StoreError> {
            Err((self.0)())
        }
        async fn list_keys(&self, _: Bucket, _: &str, _: Option<&str>, _: u32) -> Result<Vec<String>, StoreError> {
            Err((self.0)())
        }
        async fn copy(&self, _: (Bucket, &str), _: (Bucket, &str)) -> Result<(), StoreError> {
            Err((self.0)())
        }
        async fn put(&self, _: Bucket, _: &str, _: Vec<u8>) -> Result<(), StoreError> {
            Err((self.0)())
        }
    }

    fn watched(error: fn() -> StoreError) -> (Watched, Arc<ObjectHealth>) {
        let health = Arc::new(ObjectHealth::new());
        (Watched::new(Arc::new(Failing(error)), health.clone(), Clock::system()), health)
    }

    #[tokio::test]
    async fn failures_that_speak_of_the_store_reach_the_health() {
        let (store, health) = watched(|| StoreError::Unavailable("no answer".into()));
        assert!(store.head(Bucket::Staging, "a/b").await.is_err());
        assert_eq!(health.state(), StoreState::Unavailable);

        let (store, health) = watched(|| StoreError::ReadOnly("quota".into()));
        assert!(store.copy((Bucket::Staging, "a/b"), (Bucket::Videos, "a/c.mp4")).await.is_err());
        assert_eq!(health.state(), StoreState::ReadOnly);

        let (store, health) = watched(|| StoreError::NotFound);
        assert!(store.list_parts(Bucket::Staging, "a/b", "u").await.is_err());
        assert_eq!(health.state(), StoreState::Writable, "a missing object says nothing of the store");
    }
}

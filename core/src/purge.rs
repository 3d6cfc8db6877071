//! Deleting every object of a deleted video: the work of a purge job.
//!
//! A video's objects all sit under prefixes named by its id: `{id}/` in the videos
//! bucket (originals and HLS ladders), the previews bucket and the staging bucket
//! (upload files and multipart parts), and `recordings/{id}/` in staging (a live
//! stream's recording segments). A pass lists each prefix afresh and deletes what it
//! finds, so a pass run twice, or after more objects arrived, leaves nothing.

use std::sync::Arc;

use myvid_store::{Bucket, ObjectStore, StoreError};
use tokio::task::JoinSet;

/// Keys listed per page.
const PAGE: u32 = 1000;

/// Deletes in flight at once.
const CONCURRENT_DELETES: usize = 8;

/// Where video `id`'s objects are: `(bucket, prefix)`.
pub fn prefixes(id: &str) -> [(Bucket, String); 4] {
    [
        (Bucket::Videos, format!("{id}/")),
        (Bucket::Previews, format!("{id}/")),
        (Bucket::Staging, format!("{id}/")),
        (Bucket::Staging, format!("recordings/{id}/")),
    ]
}

/// Deletes every object of video `id` (and aborts its unfinished multipart uploads);
/// returns how many objects were deleted. An id that is not a plain name (so that its
/// prefix could reach another video's objects) is refused.
pub async fn purge_video(objects: &Arc<dyn ObjectStore>, id: &str) -> Result<u64, StoreError> {
    if id.is_empty() || id.contains('/') || id.contains("..") {
        return Err(StoreError::Internal(format!("refusing to purge objects for the id {id:?}")));
    }
    let mut deleted = 0;
    for (bucket, prefix) in prefixes(id) {
        deleted += delete_under(objects, bucket, &prefix).await?;
    }
    for pending in objects.pending_multiparts(Bucket::Staging).await? {
        if pending.key.starts_with(&format!("{id}/")) {
            objects.abort_multipart(Bucket::Staging, &pending.key, &pending.upload_id).await?;
        }
    }
    Ok(deleted)
}

/// Deletes every key under `prefix` in `bucket`, a page at a time.
async fn delete_under(objects: &Arc<dyn ObjectStore>, bucket: Bucket, prefix: &str) -> Result<u64, StoreError> {
    let mut deleted = 0;
    let mut after: Option<String> = None;
    loop {
        let keys = objects.list_keys(bucket, prefix, after.as_deref(), PAGE).await?;
        let Some(last) = keys.last().cloned() else { return Ok(deleted) };
        let mut running = JoinSet::new();
        for key in keys {
            if running.len() >= CONCURRENT_DELETES
                && let Some(done) = running.join_next().await
            {
                flatten(done)?;
            }
            let objects = Arc::clone(objects);
            running.spawn(async move { objects.delete(bucket, &key).await });
            deleted += 1;
        }
        while let Some(done) = running.join_next().await {
            flatten(done)?;
        }
        after = Some(last);
    }
}

fn flatten(done: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), StoreError> {
    done.map_err(|e| StoreError::Internal(format!("a delete task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_name_the_video_and_end_in_a_slash() {
        for (_, prefix) in prefixes("abc") {
            assert!(prefix.ends_with("abc/"), "{prefix}");
        }
    }
}

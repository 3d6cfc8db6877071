//! Abandoned multipart uploads: a browser that never comes back leaves parts in the
//! staging bucket. Every pass lists the pending uploads and aborts those started more
//! than `uploads.abandon_multipart_after_secs` ago (the API role runs a pass every few
//! minutes). The deadline is far longer than any part URL lives, so an upload that is
//! still going is never reaped: its client would have to have asked for URLs that
//! expired long ago.

use myvid_store::ObjectStore;
use myvid_store::objects::{Bucket, PendingMultipart};

/// The uploads of `pending` started more than `after_secs` before `now`.
pub fn abandoned(pending: &[PendingMultipart], now: i64, after_secs: i64) -> Vec<&PendingMultipart> {
    pending.iter().filter(|upload| now.saturating_sub(upload.initiated_at) > after_secs).collect()
}

/// One pass: aborts the abandoned multipart uploads of the staging bucket. Returns how
/// many it aborted; failures are logged and retried at the next pass.
pub async fn reap_abandoned(objects: &dyn ObjectStore, now: i64, after_secs: i64) -> usize {
    let pending = match objects.pending_multiparts(Bucket::Staging).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list pending multipart uploads; none aborted");
            return 0;
        }
    };
    let mut aborted = 0;
    for upload in abandoned(&pending, now, after_secs) {
        match objects.abort_multipart(Bucket::Staging, &upload.key, &upload.upload_id).await {
            Ok(()) => aborted += 1,
            Err(e) => tracing::warn!(key = %upload.key, error = %e, "cannot abort an abandoned multipart upload"),
        }
    }
    if aborted > 0 {
        tracing::info!(aborted, "aborted abandoned multipart uploads");
    }
    aborted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(key: &str, initiated_at: i64) -> PendingMultipart {
        PendingMultipart { key: key.into(), upload_id: format!("u-{key}"), initiated_at }
    }

    #[test]
    fn only_uploads_older_than_the_deadline_are_abandoned() {
        let day = 24 * 3600;
        let now = 10 * day;
        let list = [
            pending("old/video", now - day - 1),
            pending("exactly/video", now - day),
            pending("fresh/video", now - 60),
            pending("future/video", now + 60),
        ];
        let chosen: Vec<&str> = abandoned(&list, now, day).iter().map(|u| u.key.as_str()).collect();
        assert_eq!(chosen, ["old/video"]);
        assert!(abandoned(&[], now, day).is_empty());
        assert_eq!(abandoned(&[pending("ancient/video", i64::MIN)], now, day).len(), 1);
    }
}

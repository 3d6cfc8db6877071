//! Conformance checks of the job queue (`MetaStore::enqueue_transcode`, `claim_job`…).
//!
//! Claims take any due job of the store, so every check ends with [`drain`], which
//! dead-letters whatever it left claimable: on a store shared by all checks, one
//! check's jobs never reach the next.

use std::collections::HashSet;

use myvid_store::StoreError;
use myvid_store::meta::{
    FailOutcome, HlsMedia, Job, JobKind, JobState, MetaStore, NewJob, Rendition, TranscodeState, Video, VideoSource,
    Visibility,
};

use super::{NOW, external, stored, user};

/// The kinds the transcode checks claim.
pub const TRANSCODE: &[JobKind] = &[JobKind::Transcode];

/// Every kind: what [`drain`] claims.
pub const ALL_KINDS: &[JobKind] = &[JobKind::Transcode, JobKind::Purge];

/// A time after every other check's: [`drain`] claims there.
pub const FAR: i64 = NOW + 100_000_000;

/// A public stored video `id` with its transcode enqueued (created at `at`, allowed
/// `max_attempts`).
async fn video_with_job(store: &dyn MetaStore, id: &str, at: i64, max_attempts: u32) -> (Video, Job) {
    let video = store.create_video(stored(id, None, id, "", Visibility::Public)).await.expect("create video");
    let job = store.enqueue_transcode(new_job(&video, at, max_attempts)).await.expect("enqueue");
    (video, job)
}

/// The transcode job of a stored video.
pub fn new_job(video: &Video, at: i64, max_attempts: u32) -> NewJob {
    let VideoSource::Stored { video_key, .. } = &video.source else { panic!("{} is not stored", video.id) };
    NewJob {
        id: token(&format!("job-{}-{at}", video.id)),
        video_id: video.id.clone(),
        input_key: video_key.clone(),
        max_attempts,
        created_at: at,
    }
}

/// A 32-hex-digit id or token derived from `seed` (distinct seeds, distinct values).
pub fn token(seed: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in seed.bytes() {
        hash = (hash ^ u128::from(byte)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("{hash:032x}")
}

/// A ladder stored under `prefix`.
fn ladder(prefix: &str) -> HlsMedia {
    HlsMedia {
        prefix: prefix.to_owned(),
        renditions: vec![
            Rendition { name: "480p".into(), width: 640, height: 480, bandwidth: 1_400_000 },
            Rendition { name: "360p".into(), width: 480, height: 360, bandwidth: 950_000 },
        ],
    }
}

/// Dead-letters every job still claimable (see the module docs).
pub async fn drain(store: &dyn MetaStore) {
    for round in 0.. {
        let token = token(&format!("drain-{round}"));
        let Some(job) = store.claim_job(ALL_KINDS, "drain", &token, FAR, FAR + 60).await.unwrap() else { return };
        store.fail_job(&job.id, &token, "drained", FAR, FAR).await.unwrap();
        assert!(round < 10_000, "drain never ends");
    }
}

/// The stored video's transcode state, read back.
async fn transcode_state(store: &dyn MetaStore, id: &str) -> Option<TranscodeState> {
    store.video(id).await.unwrap().expect("video").transcode.map(|t| t.state)
}

/// Enqueueing marks a published stored video processing and is idempotent (one job per
/// video); staged, live, external and unknown videos, or a key that is not the
/// video's, are `NotFound`. `videos_without_transcode` lists stored videos until they
/// have a job.
pub async fn enqueueing_a_transcode_marks_the_video_processing_once(store: &dyn MetaStore) {
    let video = store.create_video(stored("tq-enq-1", None, "t", "", Visibility::Public)).await.unwrap();
    assert_eq!(video.transcode, None, "no job yet");
    let waiting = store.videos_without_transcode(10_000).await.unwrap();
    assert!(waiting.contains(&("tq-enq-1".to_owned(), "tq-enq-1/v1.webm".to_owned())), "{waiting:?}");

    let job = store.enqueue_transcode(new_job(&video, NOW, 3)).await.unwrap();
    assert_eq!((job.state, job.attempts, job.max_attempts), (JobState::Queued, 0, 3));
    assert_eq!((job.video_id.as_str(), job.input_key.as_str()), ("tq-enq-1", "tq-enq-1/v1.webm"));
    assert_eq!((job.run_after, job.lease_until, job.finished_at), (NOW, None, None));
    assert_eq!(transcode_state(store, "tq-enq-1").await, Some(TranscodeState::Processing));
    let again = NewJob { id: token("another id"), ..new_job(&video, NOW + 5, 5) };
    assert_eq!(store.enqueue_transcode(again).await.unwrap(), job, "one job per video");
    assert_eq!(store.transcode_job("tq-enq-1").await.unwrap(), Some(job));
    let waiting = store.videos_without_transcode(10_000).await.unwrap();
    assert!(!waiting.iter().any(|(id, _)| id == "tq-enq-1"), "it has a job now");

    let staged = store.create_video(stored("tq-enq-2", None, "t", "", Visibility::Private)).await.unwrap();
    let staged_job = NewJob {
        id: token("staged"),
        video_id: staged.id.clone(),
        input_key: "tq-enq-2/video".into(),
        max_attempts: 3,
        created_at: NOW,
    };
    assert!(matches!(store.enqueue_transcode(staged_job).await, Err(StoreError::NotFound)), "staged");
    store.create_video(external("tq-enq-3", "t")).await.unwrap();
    for (id, key) in [("tq-enq-3", "x"), ("tq-enq-absent", "x"), ("tq-enq-1", "tq-enq-1/other.mp4")] {
        let job =
            NewJob { id: token(id), video_id: id.into(), input_key: key.into(), max_attempts: 3, created_at: NOW };
        assert!(matches!(store.enqueue_transcode(job).await, Err(StoreError::NotFound)), "{id} {key}");
    }
    let owner = user(store, "tq-streamer").await;
    let mut live = stored("tq-enq-4", Some(owner.id), "t", "", Visibility::Private);
    live.source = VideoSource::Live { state: myvid_store::meta::LiveState::Pending, record: true };
    store.create_video(live).await.unwrap();
    for id in ["tq-enq-2", "tq-enq-3", "tq-enq-4"] {
        assert_eq!(transcode_state(store, id).await, None, "{id} has no transcode");
    }
    drain(store).await;
}

/// A claim takes due jobs oldest first, counts an attempt and records the worker and
/// its lease; a job is never handed to two claims; repeating a claim with the same
/// token returns the job it already holds.
pub async fn claims_take_due_jobs_oldest_first(store: &dyn MetaStore) {
    let t = NOW + 1_000;
    let (_, first) = video_with_job(store, "tq-order-1", t + 10, 3).await;
    let (_, second) = video_with_job(store, "tq-order-2", t + 11, 3).await;
    assert_eq!(store.claim_job(TRANSCODE, "w1", &token("o-a"), t + 5, t + 35).await.unwrap(), None, "not due yet");

    let claimed = store.claim_job(TRANSCODE, "w1", &token("o-a"), t + 20, t + 50).await.unwrap().expect("a due job");
    assert_eq!(claimed.id, first.id, "oldest first");
    assert_eq!((claimed.state, claimed.attempts), (JobState::Running, 1));
    assert_eq!((claimed.claimed_by.as_deref(), claimed.lease_until), (Some("w1"), Some(t + 50)));
    assert_eq!(claimed.progress_permille, Some(0));
    let repeated = store.claim_job(TRANSCODE, "w1", &token("o-a"), t + 21, t + 51).await.unwrap();
    assert_eq!(repeated, Some(claimed), "the same token gets its own job back, no second attempt");

    let next = store.claim_job(TRANSCODE, "w2", &token("o-b"), t + 20, t + 50).await.unwrap().expect("the next job");
    assert_eq!(next.id, second.id);
    assert_eq!(store.claim_job(TRANSCODE, "w3", &token("o-c"), t + 20, t + 50).await.unwrap(), None, "both are held");
    drain(store).await;
}

/// Claimers racing over many jobs never get the same job: every job is claimed once.
pub async fn racing_claimers_never_share_a_job(store: &dyn MetaStore) {
    let t = NOW + 2_000;
    let mut expected = HashSet::new();
    for i in 0..20 {
        expected.insert(video_with_job(store, &format!("tq-race-{i}"), t, 3).await.1.id);
    }
    let claimers = (0..8).map(|w| async move {
        let mut mine = Vec::new();
        for round in 0.. {
            let token = token(&format!("race-{w}-{round}"));
            match store.claim_job(TRANSCODE, &format!("w{w}"), &token, t + 1, t + 600).await.unwrap() {
                Some(job) => mine.push(job.id),
                None => return mine,
            }
        }
        mine
    });
    let claims: Vec<String> = futures_util::future::join_all(claimers).await.into_iter().flatten().collect();
    let distinct: HashSet<String> = claims.iter().cloned().collect();
    assert_eq!(claims.len(), distinct.len(), "a job was claimed twice: {claims:?}");
    assert_eq!(distinct, expected, "every job claimed once");
    drain(store).await;
}

/// Only the holder renews a lease, and only until another worker takes the job over
/// after it ran out; then the old holder can change nothing.
pub async fn a_lease_is_renewed_only_by_its_holder_and_expires(store: &dyn MetaStore) {
    let t = NOW + 3_000;
    let (_, job) = video_with_job(store, "tq-lease-1", t, 3).await;
    let (one, two) = (token("lease-1"), token("lease-2"));
    store.claim_job(TRANSCODE, "w1", &one, t, t + 30).await.unwrap().expect("claimed");
    assert!(!store.renew_job(&job.id, &two, t + 5, t + 35, 100).await.unwrap(), "not the holder");
    assert!(store.renew_job(&job.id, &one, t + 10, t + 40, 500).await.unwrap());
    assert!(store.renew_job(&job.id, &one, t + 10, t + 40, 500).await.unwrap(), "the same renewal twice");
    let renewed = store.transcode_job("tq-lease-1").await.unwrap().unwrap();
    assert_eq!((renewed.lease_until, renewed.progress_permille), (Some(t + 40), Some(500)));
    assert_eq!(store.claim_job(TRANSCODE, "w2", &two, t + 39, t + 69).await.unwrap(), None, "the lease still holds");

    let taken =
        store.claim_job(TRANSCODE, "w2", &two, t + 40, t + 70).await.unwrap().expect("an expired lease is taken over");
    assert_eq!((taken.id.as_str(), taken.attempts), (job.id.as_str(), 2));
    assert_eq!(taken.claimed_by.as_deref(), Some("w2"));
    assert!(!store.renew_job(&job.id, &one, t + 41, t + 71, 600).await.unwrap(), "lost its lease");
    assert_eq!(store.fail_job(&job.id, &one, "late", t + 50, t + 41).await.unwrap(), FailOutcome::LeaseLost);
    assert!(!store.complete_transcode(&job.id, &one, &ladder("tq-lease-1/hls/a1"), t + 41).await.unwrap());
    assert!(!store.release_job(&job.id, &one, t + 41, t + 41).await.unwrap());
    assert_eq!(transcode_state(store, "tq-lease-1").await, Some(TranscodeState::Processing));
    let still = store.transcode_job("tq-lease-1").await.unwrap().unwrap();
    assert_eq!((still.state, still.claimed_by.as_deref()), (JobState::Running, Some("w2")));
    drain(store).await;
}

/// A failed attempt queues the job again after its backoff with the reason; the last
/// one dead-letters it with the reason kept and marks the video failed.
pub async fn failures_back_off_then_dead_letter_with_the_reason(store: &dyn MetaStore) {
    let t = NOW + 4_000;
    let (_, job) = video_with_job(store, "tq-fail-1", t, 2).await;
    let (one, two) = (token("fail-1"), token("fail-2"));
    store.claim_job(TRANSCODE, "w1", &one, t, t + 30).await.unwrap().expect("claimed");
    let outcome = store.fail_job(&job.id, &one, "ffmpeg said: moov atom not found", t + 100, t + 5).await.unwrap();
    assert_eq!(outcome, FailOutcome::Retried);
    let queued = store.transcode_job("tq-fail-1").await.unwrap().unwrap();
    assert_eq!((queued.state, queued.attempts, queued.run_after), (JobState::Queued, 1, t + 100));
    assert_eq!(queued.last_error.as_deref(), Some("ffmpeg said: moov atom not found"));
    assert_eq!(store.claim_job(TRANSCODE, "w2", &two, t + 99, t + 130).await.unwrap(), None, "backing off");

    let again = store.claim_job(TRANSCODE, "w2", &two, t + 100, t + 130).await.unwrap().expect("due again");
    assert_eq!(again.attempts, 2);
    let long = "x".repeat(5_000);
    assert_eq!(store.fail_job(&job.id, &two, &long, t + 500, t + 110).await.unwrap(), FailOutcome::Dead);
    let dead = store.transcode_job("tq-fail-1").await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempts, dead.finished_at), (JobState::Dead, 2, Some(t + 110)));
    assert_eq!(dead.last_error.as_deref().map(str::len), Some(1_000), "the reason is kept, cut to 1,000");
    assert_eq!(transcode_state(store, "tq-fail-1").await, Some(TranscodeState::Failed));
    assert_eq!(
        store.claim_job(TRANSCODE, "w3", &token("fail-3"), FAR, FAR + 30).await.unwrap(),
        None,
        "dead stays dead"
    );
}

/// A worker that dies on the last attempt leaves a lease that runs out: the job is then
/// dead-lettered with a reason and its video marked failed.
pub async fn an_expired_lease_on_the_last_attempt_is_dead_lettered(store: &dyn MetaStore) {
    let t = NOW + 5_000;
    let (_, job) = video_with_job(store, "tq-expire-1", t, 1).await;
    store.claim_job(TRANSCODE, "w1", &token("expire-1"), t, t + 30).await.unwrap().expect("claimed");
    assert_eq!(store.expire_jobs(t + 29).await.unwrap(), 0, "the lease holds");
    assert_eq!(
        store.claim_job(TRANSCODE, "w2", &token("expire-2"), t + 30, t + 60).await.unwrap(),
        None,
        "no attempts left"
    );
    assert_eq!(store.expire_jobs(t + 30).await.unwrap(), 1);
    let dead = store.transcode_job("tq-expire-1").await.unwrap().unwrap();
    assert_eq!((dead.id.as_str(), dead.state), (job.id.as_str(), JobState::Dead));
    assert!(dead.last_error.is_some_and(|e| !e.is_empty()));
    assert_eq!(transcode_state(store, "tq-expire-1").await, Some(TranscodeState::Failed));
    assert_eq!(store.expire_jobs(t + 31).await.unwrap(), 0, "once");
}

/// Completing a transcode makes the job done and switches the video to its ladder in
/// one step; repeating it is fine, and a stale holder changes nothing.
pub async fn completing_a_transcode_switches_the_video_once(store: &dyn MetaStore) {
    let t = NOW + 6_000;
    let (_, job) = video_with_job(store, "tq-done-1", t, 3).await;
    let (one, two) = (token("done-1"), token("done-2"));
    store.claim_job(TRANSCODE, "w1", &one, t, t + 30).await.unwrap().expect("claimed");
    let hls = ladder("tq-done-1/hls/0123/a1");
    assert!(store.complete_transcode(&job.id, &one, &hls, t + 20).await.unwrap());
    assert!(store.complete_transcode(&job.id, &one, &hls, t + 21).await.unwrap(), "repeated: still ours");
    assert!(!store.complete_transcode(&job.id, &two, &ladder("tq-done-1/hls/0123/a2"), t + 21).await.unwrap());
    assert!(!store.complete_transcode(&job.id, &one, &ladder("tq-done-1/hls/other"), t + 21).await.unwrap());

    let video = store.video("tq-done-1").await.unwrap().unwrap();
    let transcode = video.transcode.expect("a transcode");
    assert_eq!((transcode.state, transcode.hls), (TranscodeState::Ready, Some(hls)));
    let done = store.transcode_job("tq-done-1").await.unwrap().unwrap();
    assert_eq!((done.state, done.progress_permille, done.finished_at), (JobState::Done, Some(1000), Some(t + 20)));
    assert_eq!(done.lease_until, None);
    assert_eq!(store.claim_job(TRANSCODE, "w2", &two, FAR, FAR + 30).await.unwrap(), None, "done is not claimed again");
    assert_eq!(store.fail_job(&job.id, &one, "late", t + 50, t + 30).await.unwrap(), FailOutcome::LeaseLost);
    let listed = store.list_public(1_000, None).await.unwrap().items;
    let listed = listed.iter().find(|v| v.id == "tq-done-1").expect("listed");
    assert_eq!(listed.transcode.as_ref().map(|t| t.state), Some(TranscodeState::Ready), "lists carry it too");
}

/// A worker that shuts down gives its job back without using up an attempt.
pub async fn release_does_not_count_an_attempt(store: &dyn MetaStore) {
    let t = NOW + 7_000;
    let (_, job) = video_with_job(store, "tq-release-1", t, 1).await;
    let (one, two) = (token("release-1"), token("release-2"));
    store.claim_job(TRANSCODE, "w1", &one, t, t + 30).await.unwrap().expect("claimed");
    assert!(!store.release_job(&job.id, &two, t + 1, t + 1).await.unwrap(), "not the holder");
    assert!(store.release_job(&job.id, &one, t + 1, t + 1).await.unwrap());
    let released = store.transcode_job("tq-release-1").await.unwrap().unwrap();
    assert_eq!((released.state, released.attempts, released.lease_until), (JobState::Queued, 0, None));
    let again = store.claim_job(TRANSCODE, "w2", &two, t + 1, t + 31).await.unwrap().expect("claimable at once");
    assert_eq!((again.id.as_str(), again.attempts), (job.id.as_str(), 1));
    drain(store).await;
}

//! The worker against real stores (SQLite, the local object directory) and the real
//! ffmpeg: a published video becomes READY with two renditions that ffprobe reads;
//! inputs that are not videos, or are cut short, are dead-lettered with their reason
//! after their attempts while the worker goes on; two workers on one queue never run
//! the same job; a stopping worker gives its job back without using up an attempt;
//! what an earlier attempt left in the store is deleted once the job is done.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use myvid_core::live::StreamTokens;
use myvid_core::metrics::Metrics;
use myvid_core::{Clock, Services, Settings};
use myvid_store::meta::{Job, JobState, NewJob, NewVideo, TranscodeState, VideoSource, Visibility};
use myvid_store::{Bucket, LocalObjects, MetaStore, SqliteMeta};
use myvid_worker::transcode::Preset;
use myvid_worker::{Backoff, Worker, WorkerSettings};
use support::{make_clip, streams};
use tokio_util::sync::CancellationToken;

/// Stores in a temporary directory, and the services over them.
struct Stores {
    services: Services,
    local: Arc<LocalObjects>,
    dir: tempfile::TempDir,
}

async fn stores() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let local =
        Arc::new(LocalObjects::open(dir.path().join("objects"), "http://127.0.0.1:9".into(), b"k").await.unwrap());
    let services = Services {
        meta: Arc::new(SqliteMeta::open(&dir.path().join("meta.db")).await.unwrap()),
        objects: local.clone(),
        objects_health: Default::default(),
        clock: Clock::system(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::new(Metrics::default()),
        stream_tokens: StreamTokens::new(b"tokens"),
        limits: Arc::new(myvid_core::abuse::Limiters::disabled()),
        views: Arc::new(myvid_core::views::Views::new(myvid_core::views::ViewSettings::default())),
    };
    Stores { services, local, dir }
}

/// Fast settings: ultrafast, one thread, short lease and polls, retries at once.
fn settings(id: &str, work: &Path) -> WorkerSettings {
    WorkerSettings {
        id: id.to_owned(),
        concurrency: 1,
        lease_secs: 30,
        renew_every: Duration::from_secs(1),
        poll_every: Duration::from_millis(100),
        housekeeping_every: Duration::from_secs(1),
        backoff: Backoff { base_secs: 0, max_secs: 0 },
        work_dir: work.to_owned(),
        transcode: myvid_worker::transcode::Settings {
            preset: Preset::Ultrafast,
            threads: 1,
            nice: 0,
            ..myvid_worker::transcode::Settings::default()
        },
    }
}

/// A published stored video `id` whose original is the file `original`, with its job.
async fn published(stores: &Stores, id: &str, original: &Path, duration_ms: i64, max_attempts: u32) -> Job {
    let ext = original.extension().and_then(|e| e.to_str()).unwrap_or("mp4");
    let key = format!("{id}/original.{ext}");
    let body = tokio::fs::File::open(original).await.unwrap();
    stores.services.objects.put_stream(Bucket::Videos, &key, Box::pin(body)).await.unwrap();
    let video = NewVideo {
        id: id.to_owned(),
        owner_id: None,
        title: id.to_owned(),
        description: String::new(),
        source: VideoSource::Stored { video_key: key.clone(), preview_key: format!("{id}/p.jpg") },
        visibility: Visibility::Public,
        duration_ms: Some(duration_ms),
        created_at: 1,
    };
    stores.services.meta.create_video(video).await.unwrap();
    let job = NewJob {
        id: format!("{:032x}", rand_id(id)),
        video_id: id.into(),
        input_key: key,
        max_attempts,
        created_at: 1,
    };
    stores.services.meta.enqueue_transcode(job).await.unwrap()
}

fn rand_id(seed: &str) -> u128 {
    seed.bytes().fold(0x9e37_79b9_u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b)))
}

/// Waits until every job of `videos` is done or dead (at most `within`).
async fn settled(meta: &dyn MetaStore, videos: &[&str], within: Duration) -> Vec<Job> {
    let deadline = Instant::now() + within;
    loop {
        let mut jobs = Vec::new();
        for id in videos {
            jobs.push(meta.transcode_job(id).await.unwrap().expect("a job"));
        }
        if jobs.iter().all(|j| matches!(j.state, JobState::Done | JobState::Dead)) {
            return jobs;
        }
        assert!(Instant::now() < deadline, "jobs not settled within {within:?}: {jobs:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn clip(dir: &Path, name: &str, seconds: u32, codec: &[&str]) -> PathBuf {
    let path = dir.join(name);
    make_clip(&path, seconds, codec);
    path
}

const H264: [&str; 6] = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_video_becomes_ready_with_two_renditions_ffprobe_reads() {
    let stores = stores().await;
    let original = clip(stores.dir.path(), "clip.mp4", 6, &H264);
    let job = published(&stores, "ready1", &original, 6_000, 3).await;
    // What an earlier attempt, killed while uploading, would have left behind.
    let leftover = format!("ready1/hls/{}/a7/480p/s00000.m4s", job.id);
    stores.services.objects.put(Bucket::Videos, &leftover, b"half an attempt".to_vec()).await.unwrap();
    let stop = CancellationToken::new();
    let worker = Worker::start(stores.services.clone(), settings("w1", &stores.dir.path().join("work")), stop.clone());
    let [done] = settled(&*stores.services.meta, &["ready1"], Duration::from_secs(90)).await.try_into().unwrap();
    stop.cancel();
    worker.drain(Duration::from_secs(5)).await;

    assert_eq!((done.state, done.attempts, done.progress_permille), (JobState::Done, 1, Some(1000)), "{done:?}");
    let video = stores.services.meta.video("ready1").await.unwrap().unwrap();
    let transcode = video.transcode.expect("a transcode");
    assert_eq!(transcode.state, TranscodeState::Ready);
    let hls = transcode.hls.expect("a ladder");
    assert_eq!(hls.prefix, format!("ready1/hls/{}/a1", job.id), "the first attempt's own prefix");
    let sizes: Vec<(String, u32, u32)> = hls.renditions.iter().map(|r| (r.name.clone(), r.width, r.height)).collect();
    assert_eq!(sizes, [("480p".into(), 640, 480), ("360p".into(), 480, 360)]);
    assert!(stores.local.path_of(Bucket::Videos, &hls.master_key()).unwrap().is_file(), "master stored");
    assert!(!stores.local.path_of(Bucket::Videos, &leftover).unwrap().exists(), "earlier attempts' objects deleted");
    for rendition in &hls.renditions {
        let playlist = stores.local.path_of(Bucket::Videos, &format!("{}/{}/index.m3u8", hls.prefix, rendition.name));
        let found = streams(&playlist.unwrap());
        let video = ("video".to_owned(), "h264".to_owned(), u64::from(rendition.width), u64::from(rendition.height));
        assert!(found.contains(&video), "{}: {found:?}", rendition.name);
        assert!(found.iter().any(|s| s.0 == "audio" && s.1 == "aac"), "{}: {found:?}", rendition.name);
    }
    let original_key = match video.source {
        VideoSource::Stored { video_key, .. } => video_key,
        other => panic!("{other:?}"),
    };
    assert!(stores.local.path_of(Bucket::Videos, &original_key).unwrap().is_file(), "the original is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_inputs_are_dead_lettered_with_their_reason_and_the_worker_goes_on() {
    let stores = stores().await;
    let dir = stores.dir.path();
    let text = dir.join("notes.mp4");
    std::fs::write(&text, "these are meeting notes, not a video\n".repeat(50)).unwrap();
    // An MP4 whose index (`moov`, at the end without faststart) is cut off.
    let mp4 = clip(dir, "whole.mp4", 6, &H264);
    let bytes = std::fs::read(&mp4).unwrap();
    let cut_mp4 = dir.join("cut.mp4");
    std::fs::write(&cut_mp4, &bytes[..bytes.len() / 2]).unwrap();
    // A WebM cut in half: ffmpeg decodes it "successfully" up to where it stops.
    let webm =
        clip(dir, "whole.webm", 6, &["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "500k", "-c:a", "libopus"]);
    let bytes = std::fs::read(&webm).unwrap();
    let cut_webm = dir.join("cut.webm");
    std::fs::write(&cut_webm, &bytes[..bytes.len() / 2]).unwrap();
    for (id, file) in [("poison-text", &text), ("poison-mp4", &cut_mp4), ("poison-webm", &cut_webm)] {
        published(&stores, id, file, 6_000, 3).await;
    }
    let good = clip(dir, "good.mp4", 4, &H264);
    published(&stores, "after-poison", &good, 4_000, 3).await;

    let stop = CancellationToken::new();
    let worker = Worker::start(stores.services.clone(), settings("w1", &dir.join("work")), stop.clone());
    let ids = ["poison-text", "poison-mp4", "poison-webm", "after-poison"];
    let jobs = settled(&*stores.services.meta, &ids, Duration::from_secs(120)).await;
    stop.cancel();
    worker.drain(Duration::from_secs(5)).await;

    for job in &jobs[..3] {
        assert_eq!((job.state, job.attempts), (JobState::Dead, 3), "{job:?}");
        let reason = job.last_error.as_deref().unwrap_or_default();
        assert!(!reason.is_empty() && !reason.contains(dir.to_str().unwrap()), "{}: {reason:?}", job.video_id);
        let video = stores.services.meta.video(&job.video_id).await.unwrap().unwrap();
        assert_eq!(video.transcode.map(|t| t.state), Some(TranscodeState::Failed), "{}", job.video_id);
        println!("{}: {reason}", job.video_id);
    }
    assert!(jobs[2].last_error.as_deref().unwrap().contains("covers"), "the cut WebM: {:?}", jobs[2].last_error);
    assert_eq!(jobs[3].state, JobState::Done, "the worker went on to the next job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_queue_never_run_the_same_job() {
    let stores = stores().await;
    let original = clip(stores.dir.path(), "clip.mp4", 3, &H264);
    let ids: Vec<String> = (0..6).map(|i| format!("pair{i}")).collect();
    for id in &ids {
        published(&stores, id, &original, 3_000, 3).await;
    }
    let stop = CancellationToken::new();
    let work = stores.dir.path().join("work");
    let one = Worker::start(stores.services.clone(), settings("w-one", &work), stop.clone());
    let two = Worker::start(stores.services.clone(), settings("w-two", &work), stop.clone());
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let jobs = settled(&*stores.services.meta, &refs, Duration::from_secs(120)).await;
    stop.cancel();
    one.drain(Duration::from_secs(5)).await;
    two.drain(Duration::from_secs(5)).await;
    for job in &jobs {
        assert_eq!((job.state, job.attempts), (JobState::Done, 1), "each job ran once: {job:?}");
    }
    let by: Vec<&str> = jobs.iter().filter_map(|j| j.claimed_by.as_deref()).collect();
    println!("claimed by: {by:?}");
    assert!(by.contains(&"w-one") && by.contains(&"w-two"), "both workers took jobs: {by:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_gives_its_job_back_without_using_an_attempt() {
    let stores = stores().await;
    let original = clip(stores.dir.path(), "clip.mp4", 20, &H264);
    published(&stores, "drained", &original, 20_000, 1).await;
    let mut slow = settings("w-slow", &stores.dir.path().join("work"));
    slow.transcode.realtime_input = true;
    let stop = CancellationToken::new();
    let worker = Worker::start(stores.services.clone(), slow, stop.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while stores.services.meta.transcode_job("drained").await.unwrap().unwrap().state != JobState::Running {
        assert!(Instant::now() < deadline, "never claimed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    let started = Instant::now();
    worker.drain(Duration::from_millis(500)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "the drain is bounded: {:?}", started.elapsed());
    let job = stores.services.meta.transcode_job("drained").await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts, job.lease_until), (JobState::Queued, 0, None), "{job:?}");
    let work: Vec<_> = std::fs::read_dir(stores.dir.path().join("work")).unwrap().collect();
    assert!(work.is_empty(), "the attempt's files are gone: {work:?}");
}

//! A transcode worker killed mid-job (`kill -9`): its lease runs out and another
//! `myvid worker` process takes the job over and finishes it, under a prefix of its
//! own attempt; the dead worker's ffmpeg dies with it (parent-death signal).
//!
//! The clip is transcoded at its own speed (`worker.simulated_realtime_input`), so
//! "mid-job" is a wide, known window that costs little CPU.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use myvid_store::meta::{JobState, NewJob, NewVideo, TranscodeState, VideoSource, Visibility};
use myvid_store::{Bucket, LocalObjects, MetaStore, ObjectStore, SqliteMeta};
use support::role::Role;

/// Seconds a claim holds without renewal in this test.
const LEASE_SECS: u64 = 3;

const WORKER_ENV: [(&str, &str); 7] = [
    ("MYVID_WORKER__LEASE_SECS", "3"),
    ("MYVID_WORKER__POLL_MS", "200"),
    ("MYVID_WORKER__PRESET", "ultrafast"),
    ("MYVID_WORKER__THREADS", "1"),
    ("MYVID_WORKER__NICE", "0"),
    ("MYVID_WORKER__SIMULATED_REALTIME_INPUT", "true"),
    ("MYVID_WORKER__BACKOFF_BASE_SECS", "0"),
];

/// A 12 s 640×480 H.264/AAC clip.
fn make_clip(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "12", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-c:a", "aac"])
        .arg(path)
        .status()
        .expect("ffmpeg is needed by this test (scripts/install-deps.sh)");
    assert!(status.success());
}

/// The PIDs of processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_leaves_it_to_another_that_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let meta = SqliteMeta::open(&data.join("meta.sqlite3")).await.unwrap();
    let objects = LocalObjects::open(data.join("objects"), "http://127.0.0.1:9".into(), b"test").await.unwrap();
    let clip = dir.path().join("clip.mp4");
    make_clip(&clip);
    let key = "crash1/original.mp4";
    objects.put_stream(Bucket::Videos, key, Box::pin(tokio::fs::File::open(&clip).await.unwrap())).await.unwrap();
    let video = NewVideo {
        id: "crash1".into(),
        owner_id: None,
        title: "crash".into(),
        description: String::new(),
        source: VideoSource::Stored { video_key: key.into(), preview_key: "crash1/p.jpg".into() },
        visibility: Visibility::Public,
        duration_ms: Some(12_000),
        created_at: 1,
    };
    meta.create_video(video).await.unwrap();
    let job =
        NewJob { id: "c".repeat(32), video_id: "crash1".into(), input_key: key.into(), max_attempts: 3, created_at: 1 };
    meta.enqueue_transcode(job).await.unwrap();

    let mut first = Role::start_named("worker", "worker-a", &data, &WORKER_ENV);
    // Mid-job: claimed, and ffmpeg has made progress.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = meta.transcode_job("crash1").await.unwrap().unwrap();
        if job.state == JobState::Running && job.progress_permille.unwrap_or(0) >= 150 {
            break;
        }
        assert!(Instant::now() < deadline, "the first worker never got going: {job:?}\n{}", first.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut second = Role::start_named("worker", "worker-b", &data, &WORKER_ENV);
    let killed_at = Instant::now();
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // The job is taken over once the lease runs out, not much later.
    let taken = loop {
        let job = meta.transcode_job("crash1").await.unwrap().unwrap();
        if job.attempts == 2 {
            break job;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(20), "never taken over: {job:?}\n{}", second.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let takeover = killed_at.elapsed();
    println!("taken over {takeover:?} after the kill (lease {LEASE_SECS} s)");
    assert!(takeover < Duration::from_secs(LEASE_SECS + 4), "slow take-over: {takeover:?}");
    assert_eq!(taken.state, JobState::Running);
    assert_ne!(taken.claimed_by, None);

    // The dead worker's ffmpeg went with it.
    let orphans_gone = support::role::eventually(Duration::from_secs(5), || async {
        processes_mentioning(&format!("job-{}-", "c".repeat(32))).len() <= 1
    })
    .await;
    assert!(orphans_gone, "ffmpeg processes of the job: {:?}", processes_mentioning("job-cccc"));

    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let job = meta.transcode_job("crash1").await.unwrap().unwrap();
        if job.state != JobState::Running && job.state != JobState::Queued {
            break job;
        }
        assert!(Instant::now() < deadline, "never finished: {job:?}\n{}", second.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((done.state, done.attempts), (JobState::Done, 2), "{done:?}\n{}", second.log_text());
    let video = meta.video("crash1").await.unwrap().unwrap();
    let transcode = video.transcode.unwrap();
    assert_eq!(transcode.state, TranscodeState::Ready);
    assert!(transcode.hls.unwrap().prefix.ends_with("/a2"), "the second attempt's ladder is the video's");
    assert!(second.stop(Duration::from_secs(10)), "the second worker stops cleanly");
}

//! The ladder made by the real ffmpeg: a generated 640×480 clip becomes two HLS
//! renditions that ffprobe reads back with the planned sizes, H.264 video, AAC audio
//! and a keyframe every 2 s; inputs that are not videos, or are cut short, fail with
//! a reason a person can read.
//!
//! These tests need `ffmpeg` and `ffprobe` on `PATH` and fail (not skip) without
//! them: a CI machine that lost ffmpeg must not pass silently.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

mod support;

use myvid_worker::transcode::{Ladder, Preset, Progress, Rendition, Settings, SourceInfo, TranscodeError, transcode};
use support::{make_clip, streams, tool};
use tokio_util::sync::CancellationToken;

fn ci_clip_source() -> SourceInfo {
    SourceInfo { width: 640, height: 480, rotation: 0, has_audio: true, duration_ms: 6_000, fps: Some(15.0) }
}

fn test_settings() -> Settings {
    Settings { preset: Preset::Ultrafast, threads: 1, nice: 0, ..Settings::default() }
}

async fn run_transcode(
    input: &Path,
    out: &Path,
    source: &SourceInfo,
) -> (Result<Ladder, TranscodeError>, Vec<Progress>) {
    let reports = Mutex::new(Vec::new());
    let result =
        transcode(input, out, source, &test_settings(), |p| reports.lock().unwrap().push(p), &CancellationToken::new())
            .await;
    (result, reports.into_inner().unwrap())
}

/// The times of the video keyframes in `playlist`, in seconds.
fn keyframe_times(playlist: &Path) -> Vec<f64> {
    let csv = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            playlist.to_str().unwrap(),
        ],
    );
    csv.lines()
        .filter_map(|line| line.split_once(','))
        .filter(|(_, flags)| flags.contains('K'))
        .map(|(time, _)| time.parse::<f64>().expect("pts_time"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_becomes_two_renditions_that_ffprobe_reads_with_keyframes_every_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    make_clip(
        &input,
        6,
        &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
    );
    let out = dir.path().join("out");

    let (result, reports) = run_transcode(&input, &out, &ci_clip_source()).await;
    let ladder = result.unwrap_or_else(|e| panic!("transcode failed: {e}"));

    assert_eq!(
        ladder.renditions.iter().map(|r| (r.name.as_str(), r.width, r.height)).collect::<Vec<_>>(),
        [("480p", 640, 480), ("360p", 480, 360)]
    );
    assert!(ladder.renditions.iter().all(|r: &Rendition| r.bandwidth > 0));
    assert_eq!(ladder.files.last().map(String::as_str), Some("master.m3u8"));
    for file in &ladder.files {
        assert!(out.join(file).is_file(), "{file} is listed but missing");
    }
    let last = reports.last().expect("progress was reported");
    assert!(last.ended && last.permille == 1000, "{last:?}");
    assert!(reports.windows(2).all(|w| w[0].permille <= w[1].permille), "{reports:?}");

    for rendition in &ladder.renditions {
        let playlist: PathBuf = out.join(&rendition.name).join("index.m3u8");
        let found = streams(&playlist);
        let size = (u64::from(rendition.width), u64::from(rendition.height));
        assert!(
            found.iter().any(|s| s.0 == "video" && s.1 == "h264" && (s.2, s.3) == size),
            "{}: no {size:?} h264 video in {found:?}",
            rendition.name
        );
        assert!(found.iter().any(|s| s.0 == "audio" && s.1 == "aac"), "{}: no AAC in {found:?}", rendition.name);

        let keyframes = keyframe_times(&playlist);
        assert_eq!(keyframes.len(), 3, "{}: keyframes at {keyframes:?}", rendition.name);
        for pair in keyframes.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((gap - 2.0).abs() < 0.01, "{}: keyframes at {keyframes:?}", rendition.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_file_and_a_truncated_webm_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("notes.webm");
    std::fs::write(&text, "this is not a video, only some words\n".repeat(100)).unwrap();
    let (result, _) = run_transcode(&text, &dir.path().join("out-text"), &ci_clip_source()).await;
    match result {
        Err(TranscodeError::Run(myvid_worker::transcode::RunError::Failed { reason })) => {
            eprintln!("text file: {reason}");
            assert!(!reason.trim().is_empty());
            assert!(!reason.contains(dir.path().to_str().unwrap()), "the reason shows a path: {reason}");
        }
        other => panic!("a text file gave {other:?}"),
    }

    let webm = dir.path().join("whole.webm");
    make_clip(
        &webm,
        6,
        &["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", "-c:a", "libopus", "-shortest"],
    );
    let bytes = std::fs::read(&webm).unwrap();
    let truncated = dir.path().join("truncated.webm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let (result, _) = run_transcode(&truncated, &dir.path().join("out-webm"), &ci_clip_source()).await;
    match result {
        Err(error @ TranscodeError::Output { .. }) => {
            let reason = error.to_string();
            eprintln!("truncated WebM: {reason}");
            assert!(reason.contains("the output covers"), "{reason}");
            assert!(!reason.contains(dir.path().to_str().unwrap()), "the reason shows a path: {reason}");
        }
        other => panic!("a truncated WebM gave {other:?}"),
    }
}

#[tokio::test]
async fn cancelling_stops_a_realtime_transcode() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    make_clip(
        &input,
        6,
        &["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
    );
    let settings = Settings { realtime_input: true, ..test_settings() };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    // With `-re` the clip takes 6 s: cancel at the first report past 1 s.
    let result = transcode(
        &input,
        &dir.path().join("out"),
        &ci_clip_source(),
        &settings,
        move |p| {
            if p.out_time >= Duration::from_secs(1) {
                trigger.cancel();
            }
        },
        &cancel,
    )
    .await;
    assert!(matches!(result, Err(TranscodeError::Run(myvid_worker::transcode::RunError::Cancelled))), "{result:?}");
}

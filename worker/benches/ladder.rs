//! Transcode speed on this machine (`cargo bench -p myvid-worker --bench ladder`; run by
//! hand, figures in docs/BENCHMARKS.md):
//!
//! 1. **One pass versus one run per rendition.** A 60 s 1080p30 clip (a test pattern
//!    with moving noise, so the encoder has real work, and a tone) made into the full
//!    ladder (1080p/720p/480p/360p) by the one ffmpeg pass the worker runs (A), and by
//!    four ffmpeg runs, one per rung, each decoding the source again (B). Same preset and
//!    threads. Rounds in ABBA order; medians of wall time, × realtime, and CPU time
//!    (user + system of the ffmpeg children, from `/proc/self/stat`, which the noise of
//!    this shared machine disturbs less than wall time).
//! 2. **Jobs per hour** through the real queue: `JOBS` 20 s 720p clips enqueued on one
//!    SQLite store and local object directory, run by one worker, then by two (in this
//!    process: the work is ffmpeg's either way), from start to the last job done.
//!
//! `LADDER_BENCH_ROUNDS` (default 2: ABBA twice) and `LADDER_BENCH_PRESET` (default
//! `veryfast`, the worker's default) adjust it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use myvid_core::live::StreamTokens;
use myvid_core::metrics::Metrics;
use myvid_core::{Clock, Services, Settings};
use myvid_store::meta::{JobState, NewJob, NewVideo, VideoSource, Visibility};
use myvid_store::{Bucket, LocalObjects, SqliteMeta};
use myvid_worker::transcode::command::LadderCommand;
use myvid_worker::transcode::ladder::plan;
use myvid_worker::transcode::{Preset, Rung};
use myvid_worker::{Backoff, Worker, WorkerSettings};
use tokio_util::sync::CancellationToken;

/// Clips per jobs-per-hour run.
const JOBS: usize = 6;

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg").args(["-nostdin", "-v", "error", "-y"]).args(args).status().expect("ffmpeg");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// A `seconds` long test clip of `size` with moving noise and a tone, H.264 CRF 18.
fn make_clip(path: &Path, size: &str, seconds: u32) {
    let video = format!("testsrc2=size={size}:rate=30,noise=alls=12:allf=t");
    let duration = seconds.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &video,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        &duration,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
}

/// CPU seconds (user + system) of this process's waited-for children so far.
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the whole line (13 and 14 here).
    let ticks: f64 = fields[13].parse::<f64>().unwrap() + fields[14].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(100.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| if e.path().is_dir() { dir_bytes(&e.path()) } else { e.metadata().unwrap().len() })
        .sum()
}

/// One ffmpeg run writing `rungs` into a fresh `out`; (wall s, CPU s, output bytes).
fn run_ladder(input: &Path, rungs: &[Rung], out: &Path, preset: Preset) -> (f64, f64, u64) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let args = LadderCommand {
        input,
        rungs,
        has_audio: true,
        source_fps: Some(30.0),
        preset,
        threads: 0,
        realtime_input: false,
    }
    .args();
    let (cpu, started) = (children_cpu(), Instant::now());
    let status =
        Command::new("ffmpeg").args(&args).current_dir(out).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(status.success());
    (started.elapsed().as_secs_f64(), children_cpu() - cpu, dir_bytes(out))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

fn one_pass_versus_per_rendition(dir: &Path, preset: Preset, rounds: usize) {
    let input = dir.join("source-1080p.mp4");
    make_clip(&input, "1920x1080", 60);
    let rungs = plan(1920, 1080, 0);
    let names: Vec<&str> = rungs.iter().map(|r| r.name.as_str()).collect();
    println!("ladder: {names:?}, preset {}, 60 s 1080p30 source", preset.as_str());
    let (mut a_wall, mut a_cpu, mut b_wall, mut b_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut a_bytes, mut b_bytes) = (0, 0);
    for round in 0..rounds {
        for which in ['A', 'B', 'B', 'A'] {
            if which == 'A' {
                let (wall, cpu, bytes) = run_ladder(&input, &rungs, &dir.join("a"), preset);
                println!("round {round} A one pass: {wall:.1} s wall, {cpu:.1} s CPU, {bytes} bytes");
                a_wall.push(wall);
                a_cpu.push(cpu);
                a_bytes = bytes;
            } else {
                let (mut wall, mut cpu, mut bytes) = (0.0, 0.0, 0);
                for rung in &rungs {
                    let (w, c, b) = run_ladder(&input, std::slice::from_ref(rung), &dir.join("b"), preset);
                    wall += w;
                    cpu += c;
                    bytes += b;
                }
                println!("round {round} B per rendition: {wall:.1} s wall, {cpu:.1} s CPU, {bytes} bytes");
                b_wall.push(wall);
                b_cpu.push(cpu);
                b_bytes = bytes;
            }
        }
    }
    let (aw, ac, bw, bc) = (median(&mut a_wall), median(&mut a_cpu), median(&mut b_wall), median(&mut b_cpu));
    println!("RESULT one pass: median {aw:.1} s wall = {:.2}× realtime, {ac:.1} s CPU, {a_bytes} bytes", 60.0 / aw);
    println!(
        "RESULT per rendition: median {bw:.1} s wall = {:.2}× realtime, {bc:.1} s CPU, {b_bytes} bytes",
        60.0 / bw
    );
    println!("RESULT one pass / per rendition: wall {:.2}, CPU {:.2}", aw / bw, ac / bc);
}

async fn jobs_per_hour(dir: &Path, preset: Preset, workers: usize) -> f64 {
    let root = dir.join(format!("queue-{workers}"));
    let _ = std::fs::remove_dir_all(&root);
    let local = Arc::new(LocalObjects::open(root.join("objects"), "http://127.0.0.1:9".into(), b"k").await.unwrap());
    let services = Services {
        meta: Arc::new(SqliteMeta::open(&root.join("meta.db")).await.unwrap()),
        objects: local,
        objects_health: Default::default(),
        clock: Clock::system(),
        settings: Arc::new(Settings::default()),
        metrics: Arc::new(Metrics::default()),
        stream_tokens: StreamTokens::new(b"bench"),
        limits: Arc::new(myvid_core::abuse::Limiters::disabled()),
        views: Arc::new(myvid_core::views::Views::new(myvid_core::views::ViewSettings::default())),
    };
    let clip = dir.join("source-720p.mp4");
    if !clip.exists() {
        make_clip(&clip, "1280x720", 20);
    }
    for i in 0..JOBS {
        let id = format!("bench{i}");
        let key = format!("{id}/original.mp4");
        let body = tokio::fs::File::open(&clip).await.unwrap();
        services.objects.put_stream(Bucket::Videos, &key, Box::pin(body)).await.unwrap();
        let video = NewVideo {
            id: id.clone(),
            owner_id: None,
            title: id.clone(),
            description: String::new(),
            source: VideoSource::Stored { video_key: key.clone(), preview_key: format!("{id}/p.jpg") },
            visibility: Visibility::Public,
            duration_ms: Some(20_000),
            created_at: 1,
        };
        services.meta.create_video(video).await.unwrap();
        let job =
            NewJob { id: format!("{:032x}", i + 1), video_id: id, input_key: key, max_attempts: 1, created_at: 1 };
        services.meta.enqueue_transcode(job).await.unwrap();
    }
    let stop = CancellationToken::new();
    let started = Instant::now();
    let pool: Vec<Worker> = (0..workers)
        .map(|w| {
            let settings = WorkerSettings {
                id: format!("bench-{w}"),
                concurrency: 1,
                lease_secs: 600,
                renew_every: Duration::from_secs(5),
                poll_every: Duration::from_millis(100),
                housekeeping_every: Duration::from_secs(60),
                backoff: Backoff::default(),
                work_dir: root.join("work"),
                transcode: myvid_worker::transcode::Settings { preset, nice: 0, ..Default::default() },
            };
            Worker::start(services.clone(), settings, stop.clone())
        })
        .collect();
    loop {
        let mut done = 0;
        for i in 0..JOBS {
            let job = services.meta.transcode_job(&format!("bench{i}")).await.unwrap().unwrap();
            assert_ne!(job.state, JobState::Dead, "{job:?}");
            done += usize::from(job.state == JobState::Done);
        }
        if done == JOBS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.cancel();
    for worker in pool {
        worker.drain(Duration::from_secs(5)).await;
    }
    let per_hour = JOBS as f64 * 3600.0 / elapsed;
    println!("RESULT {workers} worker(s): {JOBS} jobs of 20 s 720p in {elapsed:.1} s = {per_hour:.0} jobs/hour");
    per_hour
}

fn main() {
    let dir: PathBuf = tempfile::tempdir().unwrap().keep();
    let rounds = std::env::var("LADDER_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2);
    let preset = std::env::var("LADDER_BENCH_PRESET").ok().and_then(|p| p.parse().ok()).unwrap_or(Preset::Veryfast);
    one_pass_versus_per_rendition(&dir, preset, rounds);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let one = runtime.block_on(jobs_per_hour(&dir, preset, 1));
    let two = runtime.block_on(jobs_per_hour(&dir, preset, 2));
    println!("RESULT jobs/hour, 2 workers / 1 worker: {:.2}", two / one);
    let _ = std::fs::remove_dir_all(&dir);
}

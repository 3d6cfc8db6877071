//! Joining a run's segments into one file: they are streamed from the store, in order,
//! into `ffmpeg -c copy`, which writes the duration and cues a player needs to seek.
//! Nothing is decoded or re-encoded; the input never touches the disk.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use myvid_store::objects::media_type::MediaType;
use myvid_store::{Bucket, ObjectStore, StoreError};
use tokio::process::Command;

use super::{SegmentFormat, segment_key};
use crate::media::MediaTools;

/// Why a run could not be joined.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The store failed (other than a missing segment, which is a gap).
    #[error("the object store failed: {0}")]
    Store(#[from] StoreError),
    /// ffmpeg could not run or refused the media.
    #[error("ffmpeg could not join the segments: {0}")]
    Ffmpeg(String),
    /// It took longer than allowed.
    #[error("joining the segments took longer than {0:?}")]
    Timeout(Duration),
}

/// How long a join may take: the tools' usual limit plus a second per 20 segments
/// (about 160 s of media), since the whole recording passes through.
pub fn join_timeout(tools: &MediaTools, segments: u32) -> Duration {
    tools.timeout + Duration::from_secs(u64::from(segments / 20))
}

/// ffmpeg's output options for a joined file of type `joined`: WebM, or MP4 with its
/// index at the front so that playback starts before the whole file is fetched.
fn output_args(joined: MediaType) -> &'static [&'static str] {
    match joined {
        MediaType::Mp4 => &["-f", "mp4", "-movflags", "+faststart"],
        _ => &["-f", "webm"],
    }
}

/// A run to join: which, in what format, and its last segment's index.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The stream.
    pub stream: &'a str,
    /// The run's number.
    pub run: u32,
    /// Its segments' container.
    pub format: SegmentFormat,
    /// The highest segment index noted for the stream.
    pub last: u32,
}

/// Joins segments `0..=last` of a run (missing ones are skipped) into `out`, a file of
/// the format's joined type. Returns the number of segments found.
pub async fn join_run(
    objects: &dyn ObjectStore,
    tools: &MediaTools,
    run: Run<'_>,
    out: &Path,
) -> Result<u32, JoinError> {
    let Run { stream, run, format, last } = run;
    let limit = join_timeout(tools, last + 1);
    let mut child = Command::new(&tools.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "matroska", "-i", "pipe:0", "-c", "copy"])
        .args(output_args(format.joined()))
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| JoinError::Ffmpeg(format!("cannot start {}: {e}", tools.ffmpeg)))?;
    let mut stdin = child.stdin.take().ok_or_else(|| JoinError::Ffmpeg("no stdin".into()))?;
    let feed = async {
        let mut found = 0;
        for index in 0..=last {
            let key = segment_key(stream, run, index, format.extension());
            let mut body = match objects.get_stream(Bucket::Staging, &key, None).await {
                Ok(body) => body,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(JoinError::Store(e)),
            };
            found += 1;
            if let Err(e) = tokio::io::copy(&mut body, &mut stdin).await {
                return Err(JoinError::Ffmpeg(format!("ffmpeg stopped reading: {e}")));
            }
        }
        drop(stdin);
        Ok(found)
    };
    let work = async {
        let found = feed.await?;
        let output = child.wait_with_output().await.map_err(|e| JoinError::Ffmpeg(e.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last_line = stderr.lines().last().unwrap_or("no reason given").to_owned();
            return Err(JoinError::Ffmpeg(last_line));
        }
        Ok(found)
    };
    tokio::time::timeout(limit, work).await.map_err(|_| JoinError::Timeout(limit))?
}

/// Joins several runs' files, all of type `joined`, into `out` (ffmpeg's concat demuxer,
/// `-c copy`).
pub async fn join_runs(
    tools: &MediaTools,
    runs: &[std::path::PathBuf],
    joined: MediaType,
    out: &Path,
) -> Result<(), JoinError> {
    let dir = out.parent().unwrap_or(Path::new("."));
    let list = dir.join("runs.txt");
    let lines: String = runs.iter().map(|p| format!("file '{}'\n", p.display())).collect();
    tokio::fs::write(&list, lines).await.map_err(|e| JoinError::Ffmpeg(e.to_string()))?;
    let run = Command::new(&tools.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-c", "copy"])
        .args(output_args(joined))
        .arg(out)
        .kill_on_drop(true)
        .output();
    let limit = tools.timeout * 3;
    let output = tokio::time::timeout(limit, run)
        .await
        .map_err(|_| JoinError::Timeout(limit))?
        .map_err(|e| JoinError::Ffmpeg(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(JoinError::Ffmpeg(String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("").to_owned()))
    }
}

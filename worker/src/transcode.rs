//! One ffmpeg pass from an original to a multi-rung HLS (fMP4) ladder.
//!
//! ```text
//!  SourceInfo ──► ladder::plan ──► command::LadderCommand ──► run::run (ffmpeg) ──► output::validate
//!   (probed)       which rungs       the arguments             progress, limits       files to upload
//! ```
//!
//! [`transcode`] ties them together for one job: it writes into a directory the caller
//! owns (a fresh temporary one) and returns the files to upload, in order, and the
//! renditions to record. Uploading is the caller's business.

pub mod command;
pub mod ladder;
pub mod output;
pub mod progress;
pub mod run;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use self::command::Preset;
pub use self::ladder::Rung;
pub use self::output::{Ladder, OutputError, Rendition};
pub use self::progress::Progress;
pub use self::run::RunError;

/// What the publish-time probe learnt about the original.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Coded width of the first video stream, pixels.
    pub width: u32,
    /// Coded height of the first video stream, pixels.
    pub height: u32,
    /// Display rotation in degrees (a quarter turn swaps width and height).
    pub rotation: i32,
    /// Whether there is an audio stream to carry into every rung.
    pub has_audio: bool,
    /// Decoded duration in milliseconds; 0 when unknown (then neither the progress
    /// share nor the output's coverage can be checked).
    pub duration_ms: u64,
    /// Frame rate, if known (above 60 it is reduced to 60).
    pub fps: Option<f64>,
}

/// How transcodes run on this worker (the `[worker]` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The ffmpeg program: a name on `PATH` or a path.
    pub ffmpeg: PathBuf,
    /// libx264 preset.
    pub preset: Preset,
    /// Threads per encoder; 0 lets libx264 decide.
    pub threads: u32,
    /// `nice` increment for ffmpeg, 0–19 (0: not niced).
    pub nice: u8,
    /// Testing only: read the input at its own pace (`-re`), so that a clip takes as
    /// long as it plays.
    pub realtime_input: bool,
    /// The absolute limit of one run. The limit used is the smaller of this and
    /// [`run_timeout`]'s allowance for the source's duration.
    pub timeout: Duration,
    /// A run whose output does not grow for this long is killed.
    pub stall: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ffmpeg: PathBuf::from("ffmpeg"),
            preset: Preset::Veryfast,
            threads: 0,
            nice: 10,
            realtime_input: false,
            timeout: Duration::from_secs(4 * 3600),
            stall: Duration::from_secs(120),
        }
    }
}

/// Why a transcode did not give a ladder. The `Display` text is the reason kept with
/// the job (no paths of this machine).
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// ffmpeg did not finish (see [`RunError`]).
    #[error(transparent)]
    Run(#[from] RunError),
    /// ffmpeg finished but its output is not a usable ladder.
    #[error("{reason}")]
    Output {
        /// What is wrong, with ffmpeg's last complaint appended when it made one
        /// (`the output covers 3.0 s of the expected 6.0 s (File ended prematurely)`).
        reason: String,
        /// The check that failed.
        source: OutputError,
    },
    /// The output directory could not be prepared or read.
    #[error("output directory: {0}")]
    Io(#[source] io::Error),
}

/// The run's time limit for a source of `duration_ms`: 60 s plus four times the
/// duration (a slow preset on a busy 2-core machine stays well within this), never
/// more than `cap`. An unknown duration (0) gets `cap`.
pub fn run_timeout(duration_ms: u64, cap: Duration) -> Duration {
    if duration_ms == 0 {
        return cap;
    }
    let allowance = Duration::from_secs(60).saturating_add(Duration::from_millis(duration_ms).saturating_mul(4));
    allowance.min(cap)
}

/// The largest playlist read back (a 4-hour video has ~7 200 segments, ~300 KB).
const MAX_PLAYLIST_BYTES: u64 = 4 * 1024 * 1024;

/// Transcodes `input` into `out_dir` (created if missing; should be empty) and checks
/// the result. `on_progress` gets every progress block (0–1000 ‰ of the encode);
/// cancelling `cancel` kills ffmpeg. On success the files listed in [`Ladder::files`]
/// are ready to upload.
pub async fn transcode(
    input: &Path,
    out_dir: &Path,
    source: &SourceInfo,
    settings: &Settings,
    on_progress: impl FnMut(Progress),
    cancel: &CancellationToken,
) -> Result<Ladder, TranscodeError> {
    let rungs = ladder::plan(source.width, source.height, source.rotation);
    tokio::fs::create_dir_all(out_dir).await.map_err(TranscodeError::Io)?;
    // ffmpeg runs in `out_dir`, so a relative input must be made absolute first.
    let input = std::path::absolute(input).map_err(TranscodeError::Io)?;
    let args = command::LadderCommand {
        input: &input,
        rungs: &rungs,
        has_audio: source.has_audio,
        source_fps: source.fps,
        preset: settings.preset,
        threads: settings.threads,
        realtime_input: settings.realtime_input,
    }
    .args();
    let expected = Duration::from_millis(source.duration_ms);
    let job = run::FfmpegRun {
        program: &settings.ffmpeg,
        args: &args,
        current_dir: out_dir,
        nice: settings.nice,
        expected_duration: expected,
        timeout: run_timeout(source.duration_ms, settings.timeout),
        stall: settings.stall,
    };
    let finished = run::run(&job, on_progress, cancel).await?;

    let dir = out_dir.to_owned();
    let checked = tokio::task::spawn_blocking(move || {
        output::validate(&rungs, expected, |file| read_capped(&dir.join(file)), |file| file_size(&dir.join(file)))
    })
    .await
    .map_err(|e| TranscodeError::Io(io::Error::other(e)))?;
    checked.map_err(|source| {
        let reason = match &finished.warning {
            Some(warning) => format!("{source} ({warning})"),
            None => source.to_string(),
        };
        TranscodeError::Output { reason, source }
    })
}

/// A playlist's text, refusing files larger than [`MAX_PLAYLIST_BYTES`].
fn read_capped(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_PLAYLIST_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_PLAYLIST_BYTES {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "playlist too large"));
    }
    Ok(text)
}

/// The length of a regular file; symbolic links and directories are refused (ffmpeg
/// writes neither, and an upload must not follow a link out of the directory).
fn file_size(path: &Path) -> io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(meta.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_limit_follows_the_duration_under_the_cap() {
        let cap = Duration::from_secs(4 * 3600);
        assert_eq!(run_timeout(6_000, cap), Duration::from_secs(84));
        assert_eq!(run_timeout(0, cap), cap);
        assert_eq!(run_timeout(10 * 3600 * 1000, cap), cap);
        assert_eq!(run_timeout(u64::MAX, cap), cap);
    }

    #[test]
    fn only_regular_files_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"abc").unwrap();
        assert_eq!(file_size(&dir.path().join("a")).unwrap(), 3);
        assert!(file_size(dir.path()).is_err());
        std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("link")).unwrap();
        assert!(file_size(&dir.path().join("link")).is_err());
        assert_eq!(read_capped(&dir.path().join("a")).unwrap(), "abc");
    }
}

//! Running `ffprobe` and `ffmpeg` on an uploaded object: arguments that keep them to
//! the accepted demuxers and protocols, a timeout, and a cap on what they print.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::DEMUXERS;

/// The programs and the time each run may take.
#[derive(Debug, Clone)]
pub struct MediaTools {
    /// `ffprobe` (a name on `PATH` or a path).
    pub ffprobe: String,
    /// `ffmpeg` (a name on `PATH` or a path).
    pub ffmpeg: String,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
}

impl Default for MediaTools {
    fn default() -> Self {
        MediaTools { ffprobe: "ffprobe".into(), ffmpeg: "ffmpeg".into(), timeout: Duration::from_secs(20) }
    }
}

/// Why a tool could not give an answer at all (as opposed to "this is not media").
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The program is not installed or could not start.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program tried.
        program: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// It did not finish in time (and was killed).
    #[error("{program} took longer than {timeout:?}")]
    Timeout {
        /// The program.
        program: String,
        /// The limit.
        timeout: Duration,
    },
    /// It printed more than we read, or something we cannot parse.
    #[error("{0}")]
    Output(String),
}

/// What a finished run left.
#[derive(Debug)]
pub(super) struct Finished {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Standard output (at most the cap).
    pub stdout: Vec<u8>,
    /// Standard error (at most 16 KiB).
    pub stderr: String,
}

impl Finished {
    /// The last line of standard error without ffmpeg's `[demuxer @ 0x…]` or
    /// `path:` prefix: a reason to show a person, or `fallback`.
    pub fn reason(&self, fallback: &str) -> String {
        let line = self.stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or(fallback);
        let line = line.rsplit_once("] ").map_or(line, |(_, r)| r);
        let line = line.rsplit_once(": ").map_or(line, |(_, r)| r);
        line.chars().take(200).collect()
    }
}

/// Longest standard error kept.
const MAX_STDERR: u64 = 16 * 1024;

/// The input options every run gets: accepted demuxers only, and only the protocol
/// the input needs (a local file, or HTTP(S) for a presigned URL).
pub(super) fn input_args(input: &str) -> Vec<String> {
    let protocols = if input.starts_with("https://") || input.starts_with("http://") {
        "http,https,tcp,tls,crypto"
    } else {
        "file"
    };
    ["-format_whitelist", DEMUXERS, "-protocol_whitelist", protocols].map(str::to_owned).to_vec()
}

/// Runs `program args…`, reading at most `max_stdout` bytes of its output; killed
/// after `timeout` or when it prints more.
pub(super) async fn run(
    program: &str,
    args: &[String],
    timeout: Duration,
    max_stdout: u64,
) -> Result<Finished, ToolError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ToolError::Spawn { program: program.to_owned(), source })?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ToolError::Output(format!("{program} has no output pipes")));
    };
    let finished = async {
        let (out, err) = tokio::try_join!(read_capped(stdout, max_stdout), read_capped(stderr, MAX_STDERR))?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out, err))
    };
    let (status, stdout, stderr) = tokio::time::timeout(timeout, finished)
        .await
        .map_err(|_| ToolError::Timeout { program: program.to_owned(), timeout })?
        .map_err(|e| ToolError::Output(format!("reading {program}'s output: {e}")))?;
    if stdout.len() as u64 > max_stdout {
        return Err(ToolError::Output(format!("{program} printed more than {max_stdout} bytes")));
    }
    Ok(Finished { success: status.success(), stdout, stderr: String::from_utf8_lossy(&stderr).into_owned() })
}

/// Reads up to `cap + 1` bytes (so that "more than the cap" shows), then drains the
/// rest so the child never blocks on a full pipe.
async fn read_capped(mut pipe: impl AsyncRead + Unpin, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    (&mut pipe).take(cap + 1).read_to_end(&mut kept).await?;
    tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok(kept)
}

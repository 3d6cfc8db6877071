//! Media checks with `ffprobe`: is an uploaded file a playable video, is a preview an
//! image. Runs the real tool on the object (a local path or a presigned URL), bounded
//! by a timeout and killed if it overruns.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

/// What the probe found.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// At least one video stream and a positive duration.
    Video {
        /// Length in milliseconds.
        duration_ms: i64,
    },
    /// A single picture (a video stream with no duration, e.g. PNG, JPEG, WebP).
    Image,
    /// Not media ffprobe understands, or media without pictures; the reason says why.
    Unrecognised(String),
}

/// Why a probe could not be made at all (as opposed to "this is not a video").
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// `ffprobe` is not installed or could not start.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program tried.
        program: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// It did not finish in time.
    #[error("ffprobe took longer than {0:?}")]
    Timeout(Duration),
    /// Its output was not the JSON we asked for.
    #[error("ffprobe printed unreadable output: {0}")]
    Output(String),
}

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
}

#[derive(Deserialize)]
struct Format {
    duration: Option<String>,
    format_name: Option<String>,
}

/// Probes `input` with `program` (normally `ffprobe`).
pub async fn probe(program: &str, input: &str, timeout: Duration) -> Result<Probe, ProbeError> {
    let child = Command::new(program)
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", input])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ProbeError::Spawn { program: program.to_owned(), source })?;
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| ProbeError::Timeout(timeout))?
        .map_err(|e| ProbeError::Output(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().last().unwrap_or("ffprobe could not read the file").trim();
        // ffprobe prefixes errors with the input path; keep only what follows it.
        let reason = reason.rsplit_once(": ").map_or(reason, |(_, r)| r);
        return Ok(Probe::Unrecognised(format!("the file could not be read as media ({reason})")));
    }
    classify(&output.stdout)
}

fn classify(json: &[u8]) -> Result<Probe, ProbeError> {
    let report: Report = serde_json::from_slice(json).map_err(|e| ProbeError::Output(e.to_string()))?;
    let picture = report.streams.iter().find(|s| s.codec_type.as_deref() == Some("video"));
    let Some(picture) = picture else {
        return Ok(Probe::Unrecognised("the file has no video stream".into()));
    };
    let format = report.format.as_ref();
    let seconds = format.and_then(|f| f.duration.as_deref()).and_then(|d| d.parse::<f64>().ok());
    let is_image_format =
        format.and_then(|f| f.format_name.as_deref()).is_some_and(|name| name.ends_with("_pipe") || name == "image2");
    match seconds {
        Some(s) if s > 0.0 && s.is_finite() && !is_image_format => {
            // Rounded to whole milliseconds; any real video length fits an i64.
            #[allow(clippy::cast_possible_truncation)]
            let duration_ms = (s * 1000.0).round() as i64;
            Ok(Probe::Video { duration_ms })
        }
        _ if picture.codec_name.is_some() => Ok(Probe::Image),
        _ => Ok(Probe::Unrecognised("the file has no playable duration".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_ffprobe_reports() {
        let webm = br#"{"streams":[{"codec_type":"video","codec_name":"vp8"}],"format":{"format_name":"matroska,webm","duration":"4.000000"}}"#;
        assert_eq!(classify(webm).unwrap(), Probe::Video { duration_ms: 4000 });
        let png = br#"{"streams":[{"codec_type":"video","codec_name":"png"}],"format":{"format_name":"png_pipe"}}"#;
        assert_eq!(classify(png).unwrap(), Probe::Image);
        let audio = br#"{"streams":[{"codec_type":"audio","codec_name":"opus"}],"format":{"duration":"3.0"}}"#;
        assert!(matches!(classify(audio).unwrap(), Probe::Unrecognised(_)));
        assert!(matches!(classify(b"{}").unwrap(), Probe::Unrecognised(_)));
        assert!(classify(b"not json").is_err());
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let err = probe("/nonexistent/ffprobe", "x", Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, ProbeError::Spawn { .. }));
    }
}

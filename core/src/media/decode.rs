//! Proof that a video plays: decode its first seconds and its last seconds without a
//! single error, and measure its length from the frames decoded, not from what the
//! container claims (a file truncated to 2 % keeps its full duration in the header).

use super::tool::{MediaTools, ToolError, input_args, run};

/// How much of the start is decoded, in seconds.
const START_WINDOW: f64 = 2.0;
/// The end window starts this long before the claimed end, in seconds.
const END_LEAD: f64 = 5.0;
/// And decodes up to this long after where it starts, in seconds (a header that claims
/// less than the file holds cannot make the check decode the whole file). The end is
/// absolute: the seek lands on the keyframe before the start, which may be a whole GOP
/// earlier (recordings have one keyframe in 8–10 s), and a window counted from there
/// would stop short of the end.
const END_WINDOW: f64 = 10.0;
/// One line of frame output is about 20 bytes; 1 MiB holds tens of thousands of
/// frames, far more than the windows hold at any real frame rate.
const MAX_FRAME_LIST: u64 = 1 << 20;

/// What decoding found.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeCheck {
    /// Both ends decode cleanly.
    Plays {
        /// Length in milliseconds, from the first to the end of the last decoded frame.
        duration_ms: i64,
    },
    /// It does not; the reason is for the uploader.
    Broken(String),
}

/// Decodes the start and the end of `input`'s first video stream. `claimed_seconds`
/// (the container's own claim, if any) only says where to look for the end.
pub async fn decode_check(
    tools: &MediaTools,
    input: &str,
    claimed_seconds: Option<f64>,
) -> Result<DecodeCheck, ToolError> {
    let start = match frames(tools, input, &format!("%+{START_WINDOW}")).await? {
        Ok(times) => times,
        Err(why) => return Ok(DecodeCheck::Broken(format!("its beginning does not decode ({why})"))),
    };
    let from = claimed_seconds.map_or(0.0, |s| (s - END_LEAD).max(0.0));
    let until = from + END_WINDOW;
    let end = match frames(tools, input, &format!("{from:.3}%{until:.3}")).await? {
        Ok(times) => times,
        Err(why) => return Ok(DecodeCheck::Broken(format!("its end does not decode ({why})"))),
    };
    let first = start.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(match length(first, &end) {
        Some(seconds) => {
            // Whole milliseconds; any real video length fits an i64.
            #[allow(clippy::cast_possible_truncation)]
            let duration_ms = (seconds * 1000.0).round() as i64;
            DecodeCheck::Plays { duration_ms }
        }
        None => DecodeCheck::Broken("its frames have no usable timestamps".into()),
    })
}

/// From the first frame's time to the end of the last frame (whose length is taken as
/// the gap before it), if that is positive.
fn length(first: f64, end: &[f64]) -> Option<f64> {
    let mut sorted = end.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = *sorted.last()?;
    let frame = match sorted.len() {
        1 => 0.0,
        n => last - sorted[n - 2],
    };
    let seconds = last + frame - first;
    (seconds.is_finite() && seconds > 0.0).then_some(seconds)
}

/// Presentation times of the video frames decoded in `interval` (ffprobe's
/// `-read_intervals` syntax), or why decoding failed: any error message, or no frame.
async fn frames(tools: &MediaTools, input: &str, interval: &str) -> Result<Result<Vec<f64>, String>, ToolError> {
    let mut args = vec!["-v".to_owned(), "error".to_owned()];
    args.extend(input_args(input));
    args.extend(
        [
            "-select_streams",
            "v:0",
            "-read_intervals",
            interval,
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
            "--",
            input,
        ]
        .map(str::to_owned),
    );
    let run = run(&tools.ffprobe, &args, tools.timeout, MAX_FRAME_LIST).await?;
    if !run.success || !run.stderr.trim().is_empty() {
        return Ok(Err(run.reason("the decoder failed")));
    }
    let times: Vec<f64> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|line| line.trim().trim_end_matches(',').parse::<f64>().ok())
        .filter(|t| t.is_finite())
        .collect();
    if times.is_empty() {
        return Ok(Err("no picture could be decoded there".into()));
    }
    Ok(Ok(times))
}

#[cfg(test)]
mod tests {
    use super::length;
    use super::{DecodeCheck, MediaTools, decode_check};

    #[tokio::test]
    async fn a_clip_with_keyframes_far_apart_is_measured_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("long-gop.webm");
        // 22 s with a keyframe every 10 s: the end window's seek lands 2 s before its start.
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", "testsrc=duration=22:size=160x120:rate=20"])
            .args(["-c:v", "libvpx", "-g", "200", "-b:v", "100k"])
            .arg(&clip)
            .status()
            .expect("ffmpeg runs (apt-get install ffmpeg)");
        assert!(made.success());
        let input = clip.to_string_lossy();
        let checked = decode_check(&MediaTools::default(), &input, Some(22.0)).await.unwrap();
        let DecodeCheck::Plays { duration_ms } = checked else { panic!("{checked:?}") };
        assert!((21_900..=22_100).contains(&duration_ms), "measured {duration_ms} ms of 22 s");
    }

    #[test]
    fn length_runs_from_the_first_frame_to_the_end_of_the_last() {
        let end: Vec<f64> = (0..25).map(|i| 9.0 + f64::from(i) * 0.04).collect();
        let seconds = length(0.0, &end).unwrap();
        assert!((seconds - 10.0).abs() < 1e-9, "{seconds}");
        assert!((length(1.0, &[3.0]).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(length(0.0, &[]), None);
        assert_eq!(length(5.0, &[1.0]), None, "an end before the start is not a length");
    }
}

//! Real media for the recorder's tests: a test pattern and a tone encoded by ffmpeg
//! (VP8 or H.264, with Opus, in Matroska), read back frame by frame with webm-iterable.

use std::path::Path;
use std::process::Command;

use webm_iterable::WebmIterator;
use webm_iterable::matroska_spec::{MatroskaSpec as M, SimpleBlock};

/// One encoded frame of the clip.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// Video (track 1) or audio (track 2).
    pub video: bool,
    /// Milliseconds from the start.
    pub ms: u64,
    /// The codec's frame.
    pub data: Vec<u8>,
}

/// `seconds` of 320×240 VP8 at 25 fps with a keyframe every `gop` frames, and 48 kHz
/// stereo Opus in 20 ms frames, in decoding order.
pub fn clip(dir: &Path, seconds: u32, gop: u32) -> Vec<ClipFrame> {
    let gop = gop.to_string();
    encode(dir.join("clip.webm"), seconds, &["-c:v", "libvpx", "-g", &gop, "-b:v", "300k", "-auto-alt-ref", "0"])
}

/// Like [`clip`] in H.264 (constrained baseline, as browsers send it), each frame as
/// length-prefixed NAL units, keyframes carrying their SPS and PPS (after the first,
/// which may open with an SEI).
pub fn h264_clip(dir: &Path, seconds: u32, gop: u32) -> Vec<ClipFrame> {
    let gop = gop.to_string();
    let x264 = ["-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", &gop];
    encode(dir.join("clip.mkv"), seconds, &[&x264[..], &["-x264-params", "repeat-headers=1"]].concat())
}

/// Encodes the test pattern and tone with `video_args` into `file` and reads its frames.
fn encode(file: std::path::PathBuf, seconds: u32, video_args: &[&str]) -> Vec<ClipFrame> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=duration={seconds}:size=320x240:rate=25"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={seconds}:sample_rate=48000"))
        .args(video_args)
        .args(["-c:a", "libopus", "-ac", "2", "-frame_duration", "20"])
        .arg(&file)
        .status()
        .expect("ffmpeg runs (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg made the clip");
    let bytes = std::fs::read(&file).unwrap();
    let mut cluster_ms = 0u64;
    let mut frames = Vec::new();
    for tag in WebmIterator::new(bytes.as_slice(), &[]) {
        match tag.unwrap() {
            M::Timestamp(ms) => cluster_ms = ms,
            M::SimpleBlock(data) => {
                let block: SimpleBlock = (&data).try_into().unwrap();
                let ms = cluster_ms.saturating_add_signed(i64::from(block.timestamp));
                let video = block.track == 1;
                frames.push(ClipFrame { video, ms, data: block.raw_frame_data().to_vec() });
            }
            _ => {}
        }
    }
    frames
}

/// What ffmpeg says decoding `file` (nothing when it decodes cleanly), and the number
/// of video and audio frames it read.
pub fn decode(file: &Path) -> (String, u64, u64) {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(file).args(["-f", "null", "-"]).output().unwrap();
    let count = |stream: &str| {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", stream])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(file)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse::<u64>().unwrap_or(0)
    };
    (String::from_utf8_lossy(&out.stderr).into_owned(), count("v:0"), count("a:0"))
}

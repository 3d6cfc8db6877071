//! The ffmpeg arguments of one pass that encodes every rung (docs/plans/transcoding.md
//! §3a): the source is decoded once, `split` into one branch per rung, each branch
//! scaled and encoded by its own libx264, and the HLS muxer writes one directory per
//! rung plus `master.m3u8`. The list is handed to the program directly, never to a
//! shell, and every path ffmpeg writes is relative to its working directory (the
//! job's output directory).
//!
//! ```text
//! out/master.m3u8
//! out/480p/index.m3u8  out/480p/init_0.mp4  out/480p/s00000.m4s …
//! out/360p/index.m3u8  out/360p/init_1.mp4  out/360p/s00000.m4s …
//! ```
//!
//! # Verified with ffmpeg 5.1.9 (Debian 12, libx264 164), 2026-12-02
//!
//! On a 6 s 640×480 15 fps `testsrc2` + `sine` clip, and a 1920×1080 30 fps one:
//!
//! - **Init segment.** `-hls_fmp4_init_filename init.mp4` is written *in each rung's
//!   directory* (next to its `index.m3u8`), named `init_0.mp4`, `init_1.mp4`, … (the
//!   variant *index*, not its name) when there are two or more variants and `init.mp4`
//!   when there is one; `#EXT-X-MAP:URI` is that bare name, relative to the playlist.
//!   `init_%v.mp4` gives `init_480p.mp4` with several variants but a literal
//!   `init_%v.mp4` with one; `%v/init.mp4` fails ("Failed to open segment"). So we pass
//!   `init.mp4` and read the real name from each playlist's `EXT-X-MAP`.
//! - **Master playlist.** `#EXT-X-STREAM-INF:BANDWIDTH=1460800,RESOLUTION=640x480,
//!   CODECS="avc1.42c016,mp4a.40.2"` then `480p/index.m3u8`. `BANDWIDTH` is not
//!   measured: it is (video `-b:v` + audio `-b:a`) × 1.1. Without `-b:v` (and without
//!   audio) a variant's bandwidth is 0 and ffmpeg silently leaves it *out of the
//!   master* — so every rung must have a bitrate, which it does here. (With `ultrafast`
//!   x264 reports Constrained Baseline, `avc1.42…`: `-profile:v` is only a ceiling.)
//! - **Keyframes.** `-force_key_frames expr:gte(t,n_forced*2) -sc_threshold 0` gives
//!   keyframes at 0, 2, 4 s in every rung (ffprobe packet flags `K` at
//!   0.021/2.021/4.021 s: the AAC priming delay shifts every stream by 21 ms), and
//!   every `#EXTINF` is `2.000000` in every rung.
//! - **Single variant.** `-var_stream_map "v:0,a:0,name:360p"` with `%v` in the paths
//!   works (`360p/index.m3u8`, `360p/init.mp4`, a one-variant master). `split=1` is
//!   accepted, so the graph needs no special case.
//! - **No audio.** `v:0,name:480p v:1,name:360p` works; `CODECS="avc1.42c016"`.
//! - **Muxing queue.** Four rungs with four `-map 0:a:0` from the 1080p clip run with
//!   no "Too many packets buffered" at `-v warning`: `-max_muxing_queue_size` is not
//!   needed (audio packets are far below the 50 MB threshold that arms that limit).
//! - **Rotation.** A 640×480 stream tagged `rotate=90` reaches the filter graph as
//!   480×640 (autorotation happens before it), so [`super::ladder::plan`]'s swap is right.
//! - **Frame rate.** `fps=60` at the head of the graph turns a 90 fps source into 60.
//! - **Progress.** `-progress pipe:1 -stats_period 1 -nostats` prints a block of
//!   `key=value` lines (`frame`, `fps`, `stream_0_0_q`, `bitrate=N/A`, `total_size=N/A`,
//!   `out_time_us`, `out_time_ms`, `out_time`, `dup_frames`, `drop_frames`, `speed`)
//!   closed by `progress=continue`, and a last one with `progress=end`
//!   (`out_time_us=6016000` for the 6 s clip). With `-re` a block comes every second
//!   and the 6 s clip takes 6.2 s of wall time and 0.5 s of CPU.
//! - **Bad inputs.** A text file: exit 1, last stderr line
//!   `…: Invalid data found when processing input`. An MP4 cut in half: exit 1 after
//!   `moov atom not found`. A WebM cut in half: **exit 0** after
//!   `File ended prematurely`, with playlists covering about half of the clip — only
//!   the duration check of the output catches it.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::ladder::Rung;

/// The demuxers an original may be read with (the containers uploads accept; no image
/// or playlist demuxers, which could make ffmpeg open other files).
pub const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg";

/// The master playlist's name, in the output directory.
pub const MASTER_PLAYLIST: &str = "master.m3u8";

/// Each rung's media playlist, in the rung's directory.
pub const MEDIA_PLAYLIST: &str = "index.m3u8";

/// Segment length in seconds, and the keyframe interval: a player can switch rungs
/// at every segment boundary because every segment starts with a keyframe.
pub const SEGMENT_SECONDS: u32 = 2;

/// Frame rates above this are reduced to it (more costs bits and CPU for little gain,
/// and some players drop frames above 60).
pub const MAX_FPS: u32 = 60;

/// Audio bitrate of every rung, kbit/s (stereo AAC-LC).
pub const AUDIO_KBPS: u32 = 128;

/// A libx264 preset: the speed/compression trade-off of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Fastest, biggest output (tests).
    Ultrafast,
    /// Very fast.
    Superfast,
    /// The default: a good trade-off on a small server.
    #[default]
    Veryfast,
    /// Faster than `fast`.
    Faster,
    /// Fast.
    Fast,
    /// libx264's own default.
    Medium,
    /// Slow.
    Slow,
    /// Slower.
    Slower,
    /// Slowest that makes sense.
    Veryslow,
}

impl Preset {
    /// Every preset, fastest first.
    pub const ALL: [Preset; 9] = [
        Preset::Ultrafast,
        Preset::Superfast,
        Preset::Veryfast,
        Preset::Faster,
        Preset::Fast,
        Preset::Medium,
        Preset::Slow,
        Preset::Slower,
        Preset::Veryslow,
    ];

    /// The name libx264 knows it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
            Preset::Slow => "slow",
            Preset::Slower => "slower",
            Preset::Veryslow => "veryslow",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a libx264 preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown x264 preset {0:?} (expected one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow)"
)]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

/// Everything the ladder command depends on.
#[derive(Debug, Clone)]
pub struct LadderCommand<'a> {
    /// The original, as an absolute path (ffmpeg runs in the output directory).
    pub input: &'a Path,
    /// The rungs to write, largest first; at least one.
    pub rungs: &'a [Rung],
    /// Whether the source has an audio stream (each rung then carries AAC audio).
    pub has_audio: bool,
    /// The source's frame rate, if known: above [`MAX_FPS`] it is reduced.
    pub source_fps: Option<f64>,
    /// libx264's preset.
    pub preset: Preset,
    /// Threads per encoder; 0 lets libx264 decide.
    pub threads: u32,
    /// Read the input at its own pace (`-re`): a clip takes as long as it plays and
    /// little CPU. For tests that need a transcode to last; never in production.
    pub realtime_input: bool,
}

impl LadderCommand<'_> {
    /// The arguments after the program name.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::with_capacity(96);
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["-nostdin", "-hide_banner", "-v", "error", "-y"]);
        push(&["-format_whitelist", DEMUXERS, "-protocol_whitelist", "file"]);
        if self.realtime_input {
            push(&["-re"]);
        }
        push(&["-i"]);
        // `file:` so that no name (`pipe:…`, `http:…`, `-…`) is read as anything else.
        let mut input = OsString::from("file:");
        input.push(self.input.as_os_str());
        args.push(input);

        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&["-filter_complex", &self.filter_graph()]);
        for i in 0..self.rungs.len() {
            push(&["-map", &format!("[v{i}]")]);
        }
        if self.has_audio {
            for _ in self.rungs {
                push(&["-map", "0:a:0"]);
            }
        }
        let threads = self.threads.to_string();
        push(&["-c:v", "libx264", "-preset", self.preset.as_str(), "-threads", &threads]);
        push(&["-profile:v", "high", "-pix_fmt", "yuv420p"]);
        for (i, rung) in self.rungs.iter().enumerate() {
            push(&[&format!("-b:v:{i}"), &format!("{}k", rung.video_bitrate_kbps)]);
            push(&[&format!("-maxrate:v:{i}"), &format!("{}k", rung.maxrate_kbps)]);
            push(&[&format!("-bufsize:v:{i}"), &format!("{}k", rung.bufsize_kbps)]);
        }
        let keyframes = format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})");
        push(&["-force_key_frames", &keyframes, "-sc_threshold", "0", "-flags", "+cgop"]);
        if self.has_audio {
            push(&["-c:a", "aac", "-b:a", &format!("{AUDIO_KBPS}k"), "-ac", "2", "-ar", "48000"]);
        }
        let hls_time = SEGMENT_SECONDS.to_string();
        push(&["-f", "hls", "-hls_time", &hls_time, "-hls_playlist_type", "vod"]);
        push(&["-hls_segment_type", "fmp4", "-hls_flags", "independent_segments"]);
        push(&["-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", "%v/s%05d.m4s"]);
        push(&["-master_pl_name", MASTER_PLAYLIST, "-var_stream_map", &self.var_stream_map()]);
        push(&["-progress", "pipe:1", "-stats_period", "1", "-nostats"]);
        push(&[&format!("%v/{MEDIA_PLAYLIST}")]);
        args
    }

    /// `[0:v:0]format=yuv420p,split=N[s0]…;[s0]scale=w=W:h=H,setsar=1[v0];…`, with
    /// `fps=60,` first when the source is faster. Sizes are explicit (the ladder already
    /// rounded them) so the playlists' `RESOLUTION` is exactly what was planned;
    /// `setsar=1` makes players show the pixels as they are.
    fn filter_graph(&self) -> String {
        let mut graph = String::from("[0:v:0]");
        if self.source_fps.is_some_and(|fps| fps > f64::from(MAX_FPS)) {
            graph.push_str(&format!("fps={MAX_FPS},"));
        }
        graph.push_str(&format!("format=yuv420p,split={}", self.rungs.len()));
        for i in 0..self.rungs.len() {
            graph.push_str(&format!("[s{i}]"));
        }
        for (i, rung) in self.rungs.iter().enumerate() {
            graph.push_str(&format!(";[s{i}]scale=w={}:h={},setsar=1[v{i}]", rung.width, rung.height));
        }
        graph
    }

    /// `v:0,a:0,name:480p v:1,a:1,name:360p` (without the `a:` parts when silent):
    /// each rung's video and audio go to one variant, named after the rung, which is
    /// also its directory.
    fn var_stream_map(&self) -> String {
        let variants: Vec<String> = self
            .rungs
            .iter()
            .enumerate()
            .map(|(i, rung)| {
                if self.has_audio {
                    format!("v:{i},a:{i},name:{}", rung.name)
                } else {
                    format!("v:{i},name:{}", rung.name)
                }
            })
            .collect();
        variants.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::ladder::plan;

    fn command(rungs: &[Rung], has_audio: bool) -> Vec<String> {
        LadderCommand {
            input: Path::new("/work/job/in"),
            rungs,
            has_audio,
            source_fps: Some(30.0),
            preset: Preset::Veryfast,
            threads: 0,
            realtime_input: false,
        }
        .args()
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
    }

    /// The value after `flag` (the first occurrence).
    fn value<'a>(args: &'a [String], flag: &str) -> &'a str {
        let at = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag} in {args:?}"));
        &args[at + 1]
    }

    #[test]
    fn four_rungs_with_audio_match_the_plan() {
        let args = command(&plan(1920, 1080, 0), true);
        assert_eq!(
            value(&args, "-filter_complex"),
            "[0:v:0]format=yuv420p,split=4[s0][s1][s2][s3];[s0]scale=w=1920:h=1080,setsar=1[v0];\
             [s1]scale=w=1280:h=720,setsar=1[v1];[s2]scale=w=854:h=480,setsar=1[v2];\
             [s3]scale=w=640:h=360,setsar=1[v3]"
        );
        assert_eq!(
            value(&args, "-var_stream_map"),
            "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p"
        );
        let maps: Vec<&str> = args.windows(2).filter(|w| w[0] == "-map").map(|w| w[1].as_str()).collect();
        assert_eq!(maps, ["[v0]", "[v1]", "[v2]", "[v3]", "0:a:0", "0:a:0", "0:a:0", "0:a:0"]);
        assert_eq!(value(&args, "-b:v:0"), "4800k");
        assert_eq!(value(&args, "-maxrate:v:3"), "856k");
        assert_eq!(value(&args, "-bufsize:v:2"), "2400k");
        assert_eq!(value(&args, "-force_key_frames"), "expr:gte(t,n_forced*2)");
        assert_eq!(value(&args, "-sc_threshold"), "0");
        assert_eq!(value(&args, "-c:a"), "aac");
        assert_eq!(value(&args, "-b:a"), "128k");
        assert_eq!(value(&args, "-preset"), "veryfast");
        assert_eq!(value(&args, "-threads"), "0");
        assert_eq!(value(&args, "-f"), "hls");
        assert_eq!(value(&args, "-hls_segment_type"), "fmp4");
        assert_eq!(value(&args, "-hls_time"), "2");
        assert_eq!(value(&args, "-hls_playlist_type"), "vod");
        assert_eq!(value(&args, "-master_pl_name"), "master.m3u8");
        assert_eq!(value(&args, "-progress"), "pipe:1");
        assert_eq!(args.last().unwrap(), "%v/index.m3u8");
    }

    #[test]
    fn input_is_whitelisted_and_prefixed() {
        let args = command(&plan(640, 480, 0), true);
        assert_eq!(value(&args, "-format_whitelist"), DEMUXERS);
        assert_eq!(value(&args, "-protocol_whitelist"), "file");
        assert_eq!(value(&args, "-i"), "file:/work/job/in");
        let at = |flag: &str| args.iter().position(|a| a == flag).unwrap();
        assert!(at("-format_whitelist") < at("-i") && at("-protocol_whitelist") < at("-i"));
        assert!(!args.iter().any(|a| a == "-re"));
    }

    #[test]
    fn a_single_rung_still_splits_and_maps_one_variant() {
        let args = command(&plan(400, 300, 0), true);
        assert_eq!(
            value(&args, "-filter_complex"),
            "[0:v:0]format=yuv420p,split=1[s0];[s0]scale=w=400:h=300,setsar=1[v0]"
        );
        assert_eq!(value(&args, "-var_stream_map"), "v:0,a:0,name:300p");
    }

    #[test]
    fn a_silent_source_gets_no_audio_options() {
        let args = command(&plan(640, 480, 0), false);
        assert!(!args.iter().any(|a| a == "0:a:0" || a == "-c:a" || a == "-b:a"), "{args:?}");
        assert_eq!(value(&args, "-var_stream_map"), "v:0,name:480p v:1,name:360p");
    }

    #[test]
    fn portrait_rungs_scale_to_portrait_sizes() {
        let args = command(&plan(640, 480, 90), true);
        assert_eq!(
            value(&args, "-filter_complex"),
            "[0:v:0]format=yuv420p,split=2[s0][s1];[s0]scale=w=480:h=640,setsar=1[v0];[s1]scale=w=360:h=480,setsar=1[v1]"
        );
    }

    #[test]
    fn options_realtime_threads_preset_and_frame_rate_cap() {
        let rungs = plan(640, 480, 0);
        let fast = LadderCommand {
            input: Path::new("/in"),
            rungs: &rungs,
            has_audio: false,
            source_fps: Some(90.0),
            preset: Preset::Ultrafast,
            threads: 1,
            realtime_input: true,
        };
        let args: Vec<String> = fast.args().into_iter().map(|a| a.into_string().unwrap()).collect();
        assert!(value(&args, "-filter_complex").starts_with("[0:v:0]fps=60,format=yuv420p,split=2"));
        assert_eq!(value(&args, "-preset"), "ultrafast");
        assert_eq!(value(&args, "-threads"), "1");
        let re = args.iter().position(|a| a == "-re").unwrap();
        assert!(re < args.iter().position(|a| a == "-i").unwrap(), "-re is an input option");
        // 60 fps exactly, or unknown, is left alone.
        let at_60 = LadderCommand { source_fps: Some(60.0), ..fast.clone() };
        let unknown = LadderCommand { source_fps: None, ..fast };
        assert!(!unknown.filter_graph().contains("fps="));
        assert!(!at_60.filter_graph().contains("fps="));
    }

    #[test]
    fn presets_parse_from_their_names_only() {
        for preset in Preset::ALL {
            assert_eq!(preset.as_str().parse::<Preset>(), Ok(preset));
        }
        assert!("placebo; rm -rf /".parse::<Preset>().is_err());
        assert_eq!(Preset::default(), Preset::Veryfast);
        let parsed: Preset = serde_json::from_str("\"ultrafast\"").unwrap();
        assert_eq!(parsed, Preset::Ultrafast);
    }
}

//! [`MatroskaSegments`]: frames into Matroska as an init object plus clusters, each of
//! which can be stored as it is cut. VP8 and VP9 with Opus make WebM (Matroska's subset
//! every browser plays); H.264 makes plain Matroska, which the join turns into MP4.
//!
//! The recording is one Matroska stream of unknown length: the init bytes (EBML header,
//! Segment start, Info, Tracks) and then clusters, each starting at a video keyframe.
//! Concatenated in order they are a playable file; joining them (and adding duration and
//! cues) is done once at the end with `ffmpeg -c copy`.
//!
//! ```text
//!  init ─ cluster(t=0 s, keyframe…) ─ cluster(t=8 s, keyframe…) ─ …
//! ```
//!
//! Block timestamps are signed 16-bit milliseconds relative to their cluster, so a cluster
//! is cut at the latest after [`MAX_CLUSTER_MS`] even without a keyframe.

use webm_iterable::WebmWriter;
use webm_iterable::WriteOptions;
use webm_iterable::matroska_spec::{Master, MatroskaSpec as M, SimpleBlock};

/// The longest a cluster may span (block times are `i16` milliseconds).
pub const MAX_CLUSTER_MS: u64 = 30_000;

/// Video codecs a recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8 (WebM).
    Vp8,
    /// VP9 (WebM).
    Vp9,
    /// H.264, frames as length-prefixed NAL units (Matroska).
    H264,
}

impl VideoCodec {
    /// Whether WebM carries it (else the file is plain Matroska).
    pub fn in_webm(self) -> bool {
        matches!(self, VideoCodec::Vp8 | VideoCodec::Vp9)
    }
}

/// The video track of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTrack {
    /// Its codec.
    pub codec: VideoCodec,
    /// Its nominal width and height (decoders follow the stream's own headers).
    pub size: (u32, u32),
    /// The codec's setup (H.264: the `AVCDecoderConfigurationRecord`).
    pub private: Option<Vec<u8>>,
}

/// The tracks of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracks {
    /// The video track.
    pub video: Option<VideoTrack>,
    /// Opus audio with this many channels.
    pub opus_channels: Option<u8>,
}

impl Tracks {
    /// Whether the file is WebM (else plain Matroska).
    pub fn is_webm(&self) -> bool {
        self.video.as_ref().is_none_or(|v| v.codec.in_webm())
    }
}

/// The `DefaultDuration` written for video, in nanoseconds: 2 ms, finer than any real
/// frame interval. WebRTC video is variable-rate (capture times jitter by a few ms), and
/// without it ffmpeg guesses a nominal rate from the first frames (say 20.08 fps) and,
/// decoding, rounds two frames 48 ms apart onto one tick of that rate ("non monotonically
/// increasing dts"). With it ffmpeg keeps the frames' own millisecond times; players time
/// frames by their timestamps, so the nominal duration changes nothing else.
const VIDEO_DEFAULT_DURATION_NS: u64 = 2_000_000;

/// The Matroska track number of video and of audio.
const VIDEO_TRACK: u64 = 1;
const AUDIO_TRACK: u64 = 2;

/// One frame to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Video or audio.
    pub video: bool,
    /// Milliseconds since the recording started.
    pub ms: u64,
    /// A video keyframe (audio frames are always "key").
    pub keyframe: bool,
    /// The codec's frame, as depacketized.
    pub data: &'a [u8],
}

/// Writes a recording's frames as WebM init bytes and clusters.
pub struct MatroskaSegments {
    writer: WebmWriter<Vec<u8>>,
    /// Start of the open cluster (`None`: no cluster open).
    cluster_ms: Option<u64>,
}

/// The 19-byte `OpusHead` of Opus in Matroska (RFC 7845), with no pre-skip.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(channels);
    head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family
    head
}

fn codec_id(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::Vp8 => "V_VP8",
        VideoCodec::Vp9 => "V_VP9",
        VideoCodec::H264 => "V_MPEG4/ISO/AVC",
    }
}

impl MatroskaSegments {
    /// Starts a recording of `tracks`; returns the writer and the init bytes.
    pub fn start(tracks: &Tracks) -> std::io::Result<(MatroskaSegments, Vec<u8>)> {
        let mut writer = WebmWriter::new(Vec::new());
        let write = |w: &mut WebmWriter<Vec<u8>>, tag: &M| w.write(tag).map_err(std::io::Error::other);
        write(
            &mut writer,
            &M::Ebml(Master::Full(vec![
                M::EbmlVersion(1),
                M::EbmlReadVersion(1),
                M::EbmlMaxIdLength(4),
                M::EbmlMaxSizeLength(8),
                M::DocType(if tracks.is_webm() { "webm" } else { "matroska" }.into()),
                M::DocTypeVersion(4),
                M::DocTypeReadVersion(2),
            ])),
        )?;
        writer
            .write_advanced(&M::Segment(Master::Start), WriteOptions::is_unknown_sized_element())
            .map_err(std::io::Error::other)?;
        write(
            &mut writer,
            &M::Info(Master::Full(vec![
                M::TimestampScale(1_000_000),
                M::MuxingApp("myvid".into()),
                M::WritingApp("myvid".into()),
            ])),
        )?;
        let mut entries = Vec::new();
        if let Some(video) = &tracks.video {
            let (width, height) = video.size;
            let mut entry = vec![
                M::TrackNumber(VIDEO_TRACK),
                M::TrackUID(VIDEO_TRACK),
                M::TrackType(1),
                M::CodecID(codec_id(video.codec).into()),
            ];
            entry.extend(video.private.clone().map(M::CodecPrivate));
            entry.extend([
                M::DefaultDuration(VIDEO_DEFAULT_DURATION_NS),
                M::Video(Master::Full(vec![M::PixelWidth(width.into()), M::PixelHeight(height.into())])),
            ]);
            entries.push(M::TrackEntry(Master::Full(entry)));
        }
        if let Some(channels) = tracks.opus_channels {
            entries.push(M::TrackEntry(Master::Full(vec![
                M::TrackNumber(AUDIO_TRACK),
                M::TrackUID(AUDIO_TRACK),
                M::TrackType(2),
                M::CodecID("A_OPUS".into()),
                M::CodecPrivate(opus_head(channels)),
                M::CodecDelay(0),
                M::SeekPreRoll(80_000_000),
                M::Audio(Master::Full(vec![M::SamplingFrequency(48_000.0), M::Channels(channels.into())])),
            ])));
        }
        write(&mut writer, &M::Tracks(Master::Full(entries)))?;
        // No `flush`: it would end the Segment. With no known-size element open, every
        // write has already reached the buffer.
        let init = std::mem::take(writer.get_mut());
        Ok((MatroskaSegments { writer, cluster_ms: None }, init))
    }

    /// Adds a frame (frames in time order). Returns the bytes of the cluster it closed, if
    /// it started a new one: at a video keyframe once `cut_after_ms` passed, or when the
    /// cluster would span more than [`MAX_CLUSTER_MS`].
    pub fn push(&mut self, frame: &Frame<'_>, cut_after_ms: u64) -> std::io::Result<Option<Vec<u8>>> {
        let mut closed = None;
        let span = self.cluster_ms.map(|start| frame.ms.saturating_sub(start));
        let cut = match span {
            None => true,
            Some(span) => (frame.video && frame.keyframe && span >= cut_after_ms) || span >= MAX_CLUSTER_MS,
        };
        if cut {
            closed = self.close()?;
            self.writer.write(&M::Cluster(Master::Start)).map_err(std::io::Error::other)?;
            self.writer.write(&M::Timestamp(frame.ms)).map_err(std::io::Error::other)?;
            self.cluster_ms = Some(frame.ms);
        }
        let start = self.cluster_ms.unwrap_or(frame.ms);
        let relative = i16::try_from(frame.ms.saturating_sub(start)).unwrap_or(i16::MAX);
        let track = if frame.video { VIDEO_TRACK } else { AUDIO_TRACK };
        let keyframe = !frame.video || frame.keyframe;
        let block = SimpleBlock::new_uncheked(frame.data, track, relative, false, None, false, keyframe);
        self.writer.write(&M::from(block)).map_err(std::io::Error::other)?;
        Ok(closed)
    }

    /// Closes the open cluster and returns its bytes (`None` if none was open).
    pub fn close(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.cluster_ms.take().is_none() {
            return Ok(None);
        }
        self.writer.write(&M::Cluster(Master::End)).map_err(std::io::Error::other)?;
        Ok(Some(std::mem::take(self.writer.get_mut())))
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// VP8 frames of a 3 s, 25 fps test pattern with a keyframe every second, made by
    /// ffmpeg as IVF: `(ms, keyframe, data)`.
    fn vp8_frames(dir: &std::path::Path) -> Vec<(u64, bool, Vec<u8>)> {
        let ivf = dir.join("clip.ivf");
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25"])
            .args(["-c:v", "libvpx", "-g", "25", "-b:v", "300k"])
            .arg(&ivf)
            .status()
            .expect("ffmpeg runs (apt-get install ffmpeg)");
        assert!(status.success());
        let bytes = std::fs::read(&ivf).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
        let rate = u64::from(u32::from_le_bytes(bytes[16..20].try_into().unwrap()));
        let scale = u64::from(u32::from_le_bytes(bytes[20..24].try_into().unwrap()));
        let mut frames = Vec::new();
        let mut at = header_len;
        while at + 12 <= bytes.len() {
            let size = usize::try_from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())).unwrap();
            let pts = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap());
            let data = bytes[at + 12..at + 12 + size].to_vec();
            // VP8: bit 0 of the first byte is 0 on a keyframe
            frames.push((pts * scale * 1000 / rate, data[0] & 1 == 0, data));
            at += 12 + size;
        }
        frames
    }

    #[test]
    fn vp8_frames_make_clusters_that_join_into_a_file_ffmpeg_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let frames = vp8_frames(dir.path());
        assert_eq!(frames.len(), 75);
        let video = VideoTrack { codec: VideoCodec::Vp8, size: (320, 240), private: None };
        let tracks = Tracks { video: Some(video), opus_channels: None };
        let (mut webm, init) = MatroskaSegments::start(&tracks).unwrap();
        let mut pieces = vec![init];
        for (ms, keyframe, data) in &frames {
            let frame = Frame { video: true, ms: *ms, keyframe: *keyframe, data };
            pieces.extend(webm.push(&frame, 1_000).unwrap());
        }
        pieces.extend(webm.close().unwrap());
        assert_eq!(pieces.len(), 4, "init and one cluster per keyframe second");

        let file = dir.path().join("joined.webm");
        std::fs::write(&file, pieces.concat()).unwrap();
        let decoded =
            Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&file).args(["-f", "null", "-"]).output().unwrap();
        assert!(decoded.status.success());
        assert_eq!(String::from_utf8_lossy(&decoded.stderr), "", "ffmpeg decodes it without a word");
        let counted = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=nb_read_frames,codec_name",
            ])
            .args(["-of", "csv=p=0"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&counted.stdout).trim(), "vp8,75");
    }
}

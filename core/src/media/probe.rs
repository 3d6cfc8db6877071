//! `ffprobe` on an object: its container and first video stream, and the two
//! verdicts publish needs — which served type a video is, and whether a preview is a
//! still image of a format we decode.

use myvid_store::objects::media_type::MediaType;
use serde::Deserialize;

use super::MAX_PIXELS;
use super::tool::{MediaTools, ToolError, input_args, run};

/// What `ffprobe` found in a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// It opened as media.
    Media {
        /// ffprobe's container name, e.g. `matroska,webm` or `png_pipe`.
        format: String,
        /// The first video (picture) stream, if any.
        video: Option<VideoStream>,
        /// The length the container claims, in seconds (never trusted on its own).
        claimed_seconds: Option<f64>,
        /// Whether it has an audio stream.
        has_audio: bool,
    },
    /// It is not media ffprobe opens with the accepted demuxers; the reason says why.
    Unreadable(String),
}

/// A picture stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStream {
    /// Codec, e.g. `vp8`, `h264`, `png`, `mjpeg`.
    pub codec: String,
    /// Width in pixels (0 if unknown).
    pub width: u64,
    /// Height in pixels (0 if unknown).
    pub height: u64,
    /// Degrees the picture is turned by when shown (a phone's display matrix, or the
    /// old `rotate` tag): a multiple of 90, normalised to 0, 90, 180 or 270.
    pub rotation: u32,
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
    width: Option<u64>,
    height: Option<u64>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
    #[serde(default)]
    tags: Tags,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

#[derive(Deserialize, Default)]
struct Tags {
    rotate: Option<String>,
}

impl Stream {
    /// The turn the display matrix (or the `rotate` tag) asks for, normalised.
    fn rotation(&self) -> u32 {
        let degrees = self
            .side_data_list
            .iter()
            .find_map(|d| d.rotation)
            .or_else(|| self.tags.rotate.as_deref().and_then(|r| r.trim().parse::<f64>().ok()))
            .filter(|d| d.is_finite())
            .unwrap_or(0.0);
        let quarter_turns = (degrees / 90.0).round().rem_euclid(4.0);
        // 0..4 after rem_euclid: the cast cannot truncate.
        (quarter_turns as u32) * 90
    }
}

#[derive(Deserialize)]
struct Format {
    duration: Option<String>,
    format_name: Option<String>,
}

/// ffprobe's JSON for a few streams is a few KiB; a file with thousands of streams is
/// not something we accept anyway.
const MAX_REPORT: u64 = 256 * 1024;

/// Probes `input` (a local path or a presigned URL).
pub async fn probe(tools: &MediaTools, input: &str) -> Result<Probe, ToolError> {
    let mut args = vec!["-v".to_owned(), "error".to_owned()];
    args.extend(input_args(input));
    args.extend(["-print_format", "json", "-show_format", "-show_streams", "--", input].map(str::to_owned));
    let run = run(&tools.ffprobe, &args, tools.timeout, MAX_REPORT).await?;
    if !run.success {
        return Ok(Probe::Unreadable(format!(
            "the file could not be read as media ({})",
            run.reason("unknown format")
        )));
    }
    parse(&run.stdout)
}

fn parse(json: &[u8]) -> Result<Probe, ToolError> {
    let report: Report =
        serde_json::from_slice(json).map_err(|e| ToolError::Output(format!("ffprobe printed unreadable JSON: {e}")))?;
    let video = report.streams.iter().find(|s| s.codec_type.as_deref() == Some("video")).map(|s| VideoStream {
        codec: s.codec_name.clone().unwrap_or_default(),
        width: s.width.unwrap_or(0),
        height: s.height.unwrap_or(0),
        rotation: s.rotation(),
    });
    let has_audio = report.streams.iter().any(|s| s.codec_type.as_deref() == Some("audio"));
    let format = report.format.as_ref();
    Ok(Probe::Media {
        format: format.and_then(|f| f.format_name.clone()).unwrap_or_default(),
        video,
        claimed_seconds: format
            .and_then(|f| f.duration.as_deref())
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0),
        has_audio,
    })
}

/// Still-image containers (GIF, which may move, is checked apart).
const IMAGE_FORMATS: [&str; 4] = ["png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe"];

/// Picture codecs accepted in a preview: raster formats only (no SVG: it is a
/// document that can carry script, not a picture).
const IMAGE_CODECS: [&str; 5] = ["png", "mjpeg", "webp", "gif", "bmp"];

fn picture_size(video: &VideoStream) -> Result<(), String> {
    if video.width == 0 || video.height == 0 {
        return Err("the picture has no size".into());
    }
    if video.width.saturating_mul(video.height) > MAX_PIXELS {
        return Err(format!(
            "the picture is {}×{} pixels; the limit is {MAX_PIXELS} pixels",
            video.width, video.height
        ));
    }
    Ok(())
}

/// The container name and video stream of a file that opened, or why it did not.
fn opened(probe: &Probe) -> Result<(&str, Option<&VideoStream>), String> {
    match probe {
        Probe::Media { format, video, .. } => Ok((format, video.as_ref())),
        Probe::Unreadable(why) => Err(why.clone()),
    }
}

/// The type a video is served as, from the container and codec the probe found, or
/// why it is not a video MyVid accepts (in words for the uploader).
pub fn video_type(probe: &Probe) -> Result<MediaType, String> {
    let (format, video) = opened(probe)?;
    let Some(video) = video else {
        return Err("the file has no video stream".into());
    };
    let kind = match format {
        "mov,mp4,m4a,3gp,3g2,mj2" => MediaType::Mp4,
        "matroska,webm" if ["vp8", "vp9", "av1"].contains(&video.codec.as_str()) => MediaType::WebM,
        "matroska,webm" => MediaType::Matroska,
        "ogg" => MediaType::Ogg,
        f if IMAGE_FORMATS.contains(&f) || f == "gif" => return Err("the file is a still image, not a video".into()),
        other => return Err(format!("MyVid accepts MP4, WebM, Matroska and Ogg video; this file is {other:?}")),
    };
    picture_size(video)?;
    Ok(kind)
}

/// Whether a probed preview is a still image MyVid decodes (PNG, JPEG, WebP, GIF or
/// BMP), or what it is instead.
pub fn image_check(probe: &Probe) -> Result<(), String> {
    let (format, video) = opened(probe)?;
    let image_format = IMAGE_FORMATS.contains(&format) || format == "gif";
    match video {
        Some(v) if image_format && IMAGE_CODECS.contains(&v.codec.as_str()) => picture_size(v),
        Some(v) => Err(format!("it is {format} with {} pictures", v.codec)),
        None => Err(format!("it is {format} without pictures")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probed(json: &str) -> Probe {
        parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn videos_are_typed_by_container_and_codec() {
        let webm = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"vp8","width":320,"height":240}],"format":{"format_name":"matroska,webm","duration":"4.0"}}"#,
        );
        assert_eq!(video_type(&webm), Ok(MediaType::WebM));
        let mkv = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":320,"height":240}],"format":{"format_name":"matroska,webm"}}"#,
        );
        assert_eq!(video_type(&mkv), Ok(MediaType::Matroska));
        let mp4 = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1920,"height":1080}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}"#,
        );
        assert_eq!(video_type(&mp4), Ok(MediaType::Mp4));
    }

    #[test]
    fn stills_audio_odd_containers_and_huge_pictures_are_not_videos() {
        let png = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":1,"height":1}],"format":{"format_name":"png_pipe"}}"#,
        );
        assert!(video_type(&png).unwrap_err().contains("still image"));
        let audio =
            probed(r#"{"streams":[{"codec_type":"audio","codec_name":"opus"}],"format":{"format_name":"ogg"}}"#);
        assert!(video_type(&audio).unwrap_err().contains("no video stream"));
        let avi = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"mpeg4","width":2,"height":2}],"format":{"format_name":"avi"}}"#,
        );
        assert!(video_type(&avi).unwrap_err().contains("avi"));
        let huge = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"vp9","width":100000,"height":100000}],"format":{"format_name":"matroska,webm"}}"#,
        );
        assert!(video_type(&huge).unwrap_err().contains("limit"));
        assert!(video_type(&Probe::Unreadable("nope".into())).is_err());
    }

    #[test]
    fn previews_must_be_raster_stills() {
        let png = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"png","width":640,"height":480}],"format":{"format_name":"png_pipe"}}"#,
        );
        assert_eq!(image_check(&png), Ok(()));
        let svg = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"svg","width":10,"height":10}],"format":{"format_name":"svg_pipe"}}"#,
        );
        assert!(image_check(&svg).is_err(), "SVG is a document, not a picture");
        let webm = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"vp8","width":10,"height":10}],"format":{"format_name":"matroska,webm"}}"#,
        );
        assert!(image_check(&webm).is_err(), "a video is not a preview image");
    }

    #[test]
    fn rotation_and_audio_are_read() {
        let phone = probed(
            r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},{"codec_type":"audio"}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}"#,
        );
        let Probe::Media { video: Some(video), has_audio, .. } = phone else { panic!("{phone:?}") };
        assert_eq!((video.rotation, has_audio), (270, true));
        let tagged = probed(r#"{"streams":[{"codec_type":"video","tags":{"rotate":"180"}}]}"#);
        let Probe::Media { video: Some(video), has_audio, .. } = tagged else { panic!("{tagged:?}") };
        assert_eq!((video.rotation, has_audio), (180, false));
    }

    #[test]
    fn unreadable_json_is_an_output_error() {
        assert!(parse(b"not json").is_err());
        assert_eq!(
            probed("{}"),
            Probe::Media { format: String::new(), video: None, claimed_seconds: None, has_audio: false }
        );
    }

    #[tokio::test]
    async fn missing_program_is_a_spawn_error() {
        let tools = MediaTools { ffprobe: "/nonexistent/ffprobe".into(), ..MediaTools::default() };
        assert!(matches!(probe(&tools, "x").await.unwrap_err(), ToolError::Spawn { .. }));
    }
}

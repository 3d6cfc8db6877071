//! Previews are never served as uploaded: the server decodes the picture and encodes
//! a new JPEG of bounded size from its pixels. Whatever the upload carried besides
//! pixels (script in an SVG, an HTML polyglot, metadata) does not survive.

use super::MAX_PIXELS;
use super::tool::{MediaTools, ToolError, input_args, run};

/// Widest thumbnail, in pixels (larger pictures are scaled down, keeping the aspect).
pub const THUMBNAIL_WIDTH: u32 = 1280;
/// Tallest thumbnail, in pixels.
pub const THUMBNAIL_HEIGHT: u32 = 720;
/// A 1280×720 JPEG at quality 4 is about 100–300 KiB; anything past this is not one.
pub const MAX_THUMBNAIL_BYTES: u64 = 2 << 20;

/// Decodes the first picture of `input` and encodes it as a JPEG no larger than
/// [`THUMBNAIL_WIDTH`] × [`THUMBNAIL_HEIGHT`]. `Ok(Err(reason))` when the picture does
/// not decode cleanly (a truncated PNG, say).
pub async fn thumbnail(tools: &MediaTools, input: &str) -> Result<Result<Vec<u8>, String>, ToolError> {
    let scale = format!(
        "scale=w='min({THUMBNAIL_WIDTH},iw)':h='min({THUMBNAIL_HEIGHT},ih)':force_original_aspect_ratio=decrease,\
         format=yuvj420p"
    );
    let mut args: Vec<String> =
        ["-nostdin", "-v", "error", "-xerror", "-max_pixels", &MAX_PIXELS.to_string()].map(str::to_owned).to_vec();
    args.extend(input_args(input));
    args.extend(
        [
            "-i",
            input,
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-vf",
            &scale,
            "-map_metadata",
            "-1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "-f",
            "image2pipe",
            "pipe:1",
        ]
        .map(str::to_owned),
    );
    let run = run(&tools.ffmpeg, &args, tools.timeout, MAX_THUMBNAIL_BYTES).await?;
    if !run.success || !run.stderr.trim().is_empty() {
        return Ok(Err(run.reason("the picture does not decode")));
    }
    // Every JPEG starts with SOI (FF D8) and ends with EOI (FF D9).
    if !(run.stdout.starts_with(&[0xFF, 0xD8]) && run.stdout.ends_with(&[0xFF, 0xD9])) {
        return Ok(Err("no picture could be decoded".into()));
    }
    Ok(Ok(run.stdout))
}

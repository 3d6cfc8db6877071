//! What the server learns from uploaded media by running the real tools on it, and
//! what it makes of it. Every run is bounded by a timeout, killed when it overruns,
//! limited in what it may print, and restricted to the demuxers MyVid accepts and to
//! local files (or, for an object store reached over HTTP, that protocol), so a
//! hostile file cannot make ffmpeg follow a playlist to other files or hosts.
//!
//! ```text
//! staging object ──probe──▶ container + first video stream   (probe.rs)
//!                ──decode start and end──▶ duration          (decode.rs)
//!                ──decode one frame, re-encode──▶ JPEG       (thumbnail.rs)
//! ```

mod decode;
mod probe;
mod thumbnail;
mod tool;

pub use decode::{DecodeCheck, decode_check};
pub use probe::{Probe, VideoStream, image_check, probe, video_type};
pub use thumbnail::{MAX_THUMBNAIL_BYTES, THUMBNAIL_HEIGHT, THUMBNAIL_WIDTH, thumbnail};
pub use tool::{MediaTools, ToolError};

/// The demuxers ffmpeg may use on uploaded files: the containers MyVid serves and the
/// still-image formats it accepts as previews, each recognised by its content (staged
/// objects have no extension). Anything else — playlists, concat lists, raw streams,
/// SVG, image sequences by file-name pattern — fails to open.
const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,png_pipe,jpeg_pipe,webp_pipe,gif,bmp_pipe";

/// The largest picture (width × height) accepted from a preview or a video: 8K UHD
/// (7680 × 4320 ≈ 33 M pixels) with room to spare. Bounds what one decode allocates.
pub const MAX_PIXELS: u64 = 40_000_000;

//! Recordings of live streams: where their segments are kept, and how an ended stream's
//! segments become the stored video at the stream's own id.
//!
//! The SFU that hosts a stream records it (`myvid_sfu::record`) into segments — segment
//! 0 holds the Matroska header, the others about 8 s of media each — stored as they are
//! cut under `recordings/{stream}/r{run}/` in the staging bucket, which nothing serves.
//! A run is one publication of the stream: a publisher that comes back on another SFU
//! after its first one died starts run 2. VP8 and VP9 runs are WebM (`.webm`) and stay
//! WebM; H.264 runs are Matroska (`.mkv`) and become MP4, which every browser plays.
//!
//! ```text
//!  stream ends (or its SFU died: the sweeper finds it)
//!    ─▶ claim (one finalizer at a time, with a lease)
//!    ─▶ each run: segments in order ─▶ ffmpeg -c copy (duration, cues) ─▶ runs joined
//!    ─▶ probe, decode both ends, thumbnail ─▶ Videos + Previews buckets
//!    ─▶ MetaStore::publish_recording: the ended stream is now a public stored video
//!    ─▶ segments deleted
//! ```
//!
//! A recording that cannot be made into a video (nothing decodes) is dropped, and the
//! stream stays an ended stream.

mod finalize;
mod join;

pub use finalize::{CLAIM_SECS, FinalizeError, Finalized, finalize};
use myvid_store::objects::media_type::MediaType;
use myvid_store::{Bucket, ObjectStore, StoreError};

/// Most runs one stream may have (publications after its SFU died).
pub const MAX_RUNS: u32 = 16;

/// The staging key of segment `index` of run `run` of `stream`'s recording.
pub fn segment_key(stream: &str, run: u32, index: u32, extension: &str) -> String {
    format!("recordings/{stream}/r{run}/{index:06}.{extension}")
}

/// The containers a run's segments are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFormat {
    /// WebM (VP8 or VP9 with Opus): joined into WebM.
    Webm,
    /// Matroska (H.264 with Opus): joined into MP4.
    Matroska,
}

impl SegmentFormat {
    /// Every format, in the order a run's header is looked for.
    pub const ALL: [SegmentFormat; 2] = [SegmentFormat::Webm, SegmentFormat::Matroska];

    /// The extension of its segments' keys (the SFU's `Container::extension`).
    pub fn extension(self) -> &'static str {
        match self {
            SegmentFormat::Webm => "webm",
            SegmentFormat::Matroska => "mkv",
        }
    }

    /// What the joined file is.
    pub fn joined(self) -> MediaType {
        match self {
            SegmentFormat::Webm => MediaType::WebM,
            SegmentFormat::Matroska => MediaType::Mp4,
        }
    }
}

/// The format of run `run` of `stream`'s recording, or `None` if it has no header stored.
pub async fn run_format(
    objects: &dyn ObjectStore,
    stream: &str,
    run: u32,
) -> Result<Option<SegmentFormat>, StoreError> {
    for format in SegmentFormat::ALL {
        if objects.head(Bucket::Staging, &segment_key(stream, run, 0, format.extension())).await?.is_some() {
            return Ok(Some(format));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_keys_sort_in_order_and_name_their_run() {
        assert_eq!(segment_key("abc", 1, 0, "webm"), "recordings/abc/r1/000000.webm");
        assert!(segment_key("abc", 1, 9, "webm") < segment_key("abc", 1, 10, "webm"));
    }
}

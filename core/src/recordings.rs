//! Recordings of live streams: where their segments are kept, and how an ended stream's
//! segments become the stored video at the stream's own id.
//!
//! The SFU that hosts a stream records it (`myvid_sfu::record`) into segments — segment
//! 0 holds the WebM header, the others about 8 s of media each — stored as they are cut
//! under `recordings/{stream}/r{run}/` in the staging bucket, which nothing serves. A
//! run is one publication of the stream: a publisher that comes back on another SFU after
//! its first one died starts run 2.
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

/// Most runs one stream may have (publications after its SFU died).
pub const MAX_RUNS: u32 = 16;

/// The staging key of segment `index` of run `run` of `stream`'s recording.
pub fn segment_key(stream: &str, run: u32, index: u32, extension: &str) -> String {
    format!("recordings/{stream}/r{run}/{index:06}.{extension}")
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

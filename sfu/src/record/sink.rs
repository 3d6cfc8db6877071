//! [`RecordingSink`]: where a recording's segments go. The SFU knows nothing of object
//! stores; the binary gives it a sink (which queues segments to its uploader) and the
//! recorder hands it each segment as it is cut.
//!
//! ```text
//!  recorder task ──segment(0 = init, 1, 2, …)──▶ sink (bounded queue) ──▶ uploader ──▶ store
//!                └─finished(summary)──────────▶ sink ──▶ join the segments into one video
//! ```

use std::sync::Arc;

/// The container a recording is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// WebM (Matroska): VP8 or VP9 video, Opus audio.
    Webm,
    /// Matroska: H.264 video, Opus audio.
    Matroska,
}

impl Container {
    /// The file extension of its segments.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Webm => "webm",
            Container::Matroska => "mkv",
        }
    }
}

/// One piece of a recording. Segment 0 holds the container's header; the others hold
/// media, each starting at a keyframe when the publisher sent one in time. Their bytes
/// concatenated in index order are a playable file (a missing one leaves a gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// 0 for the header, then 1, 2, … in order.
    pub index: u32,
    /// The container.
    pub container: Container,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Where its media starts and ends, in milliseconds of the recording (0 for the header).
    pub start_ms: u64,
    /// See `start_ms`.
    pub end_ms: u64,
}

/// The sink's queue was full: the segment was not taken (the recorder counts a gap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the recording sink is full")]
pub struct SinkFull;

/// How a recording went, given once at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordingSummary {
    /// The container, if anything was written (`None`: nothing was recorded).
    pub container: Option<Container>,
    /// Segments handed to the sink, the header included.
    pub segments: u32,
    /// Segments the sink refused (full).
    pub segments_dropped: u32,
    /// Packets the tap dropped because the recorder fell behind.
    pub packets_dropped: u64,
    /// Frames lost or given up (network loss, or waiting for a keyframe after one).
    pub frames_dropped: u64,
    /// Length of the recording in milliseconds (last frame's time).
    pub duration_ms: u64,
}

/// Takes a recording's segments. Methods must not block: queue the work.
pub trait RecordingSink: Send + Sync + 'static {
    /// A new segment of `stream_id`'s recording.
    fn segment(&self, stream_id: &str, segment: Segment) -> Result<(), SinkFull>;
    /// The recording of `stream_id` ended (the stream ended, or the SFU is stopping);
    /// no segment follows.
    fn finished(&self, stream_id: &str, summary: RecordingSummary);
}

/// A shared sink.
pub type SharedSink = Arc<dyn RecordingSink>;

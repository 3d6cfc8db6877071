//! The SFU's recordings: segments from its recorders into the object store, and ended
//! recordings into stored videos (see `myvid_core::recordings` for the layout).
//!
//! ```text
//!  recorder ──segment──▶ SegmentUploader (bounded queue; full: the segment is dropped, a gap)
//!                          └─▶ put (timeout, retries) ─▶ MetaStore::note_recording_segment
//!  recorder ──finished──▶ queue ─▶ finalize (after the stream is marked ended)
//!  Sweeper (every SFU) ──every SWEEP_EVERY──▶ ended streams with segments and no finalizer
//!                                           (their SFU died) ─▶ finalize
//! ```

mod sweeper;
mod uploader;

pub use sweeper::{SWEEP_EVERY, Sweeper};
pub use uploader::{SEGMENT_QUEUE, SegmentUploader};

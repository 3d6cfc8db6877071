//! Recording a live stream as it is forwarded, without decoding or re-encoding it
//! (see docs/plans/recording.md for the design). Built so far:
//!
//! - [`reorder`]: puts one RTP stream's packets back in sequence order, declaring lost
//!   what does not come in time.
//! - [`frames`]: in-order packets of one track into whole frames (rtc's depacketizers),
//!   dropping what a loss broke until the next keyframe.
//! - [`timeline`]: one track's RTP timestamps as milliseconds of the recording, never
//!   going back, with a publisher's resume taken as a discontinuity.
//! - [`matroska`]: frames into Matroska (WebM for VP8/VP9) as init bytes plus clusters
//!   that start at keyframes, which join into one file (webm-iterable writes the
//!   elements); [`h264`]: what H.264 needs for it (AVC form, the decoder's setup).
//! - [`interleave`]: the two tracks' frames merged in time order.
//! - [`recorder`]: all of the above for one stream, from tap packets to segments.
//! - [`tap`]: the bounded queue from the media task; [`task`]: the recorder's task;
//!   [`sink`]: where segments go (the binary's object store).
//!
//! ```text
//!  media task: Stream::record ─▶ RecordTap (bounded, drops when full)
//!        ─▶ recorder task: Recorder ─▶ segments ─▶ RecordingSink ─▶ store
//! ```

pub mod frames;
pub mod h264;
pub mod interleave;
pub mod matroska;
pub mod recorder;
pub mod reorder;
pub mod sink;
pub mod tap;
pub mod task;
#[cfg(test)]
mod test_clip;
pub mod timeline;

pub use recorder::Recorder;
pub use sink::{Container, RecordingSink, RecordingSummary, Segment, SharedSink, SinkFull};
pub use tap::{RecordTap, TAP_QUEUE, TapItem, TapPacket, TapReceiver, TapTracks, tap};
pub use task::spawn_recorder;

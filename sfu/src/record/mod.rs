//! Recording a live stream as it is forwarded, without decoding or re-encoding it
//! (see docs/plans/recording.md for the design). Built so far:
//!
//! - [`reorder`]: puts one RTP stream's packets back in sequence order, declaring lost
//!   what does not come in time.
//! - [`frames`]: in-order packets of one track into whole frames (rtc's depacketizers),
//!   dropping what a loss broke until the next keyframe.
//! - [`timeline`]: one track's RTP timestamps as milliseconds of the recording, never
//!   going back, with a publisher's resume taken as a discontinuity.

//! - [`webm`]: frames into WebM as init bytes plus clusters that start at keyframes,
//!   which join into one file (webm-iterable writes the elements).

pub mod frames;
pub mod reorder;
pub mod timeline;
pub mod webm;

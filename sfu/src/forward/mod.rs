//! The forwarding core: what to send to whom, with no I/O and no clock.
//!
//! The WebRTC layer parses packets, calls [`Stream`]'s `handle_*` methods with the
//! current time, sends what comes back, and wakes at [`Stream::poll_timeout`].
//! Tests drive the same methods on virtual time.

mod cache;
pub mod instant_start;
mod keyframe_throttle;
mod layers;
mod packet;
mod rewrite;
pub(crate) mod seq;
mod stream;

pub use keyframe_throttle::MIN_INTERVAL as KEYFRAME_MIN_INTERVAL;
pub use layers::choose_layer;
pub use packet::{Forward, InPacket, Layer, MAX_LAYERS, MediaKind};
pub use stream::{Output, REVIEW_INTERVAL, Stream, StreamConfig, ViewerId};

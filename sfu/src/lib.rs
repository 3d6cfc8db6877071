//! # myvid-sfu — the live media plane
//!
//! One publisher per stream, any number of viewers; RTP is forwarded as received,
//! never decoded.
//!
//! ```text
//!            ┌────────────── forward/ (no I/O, no clock) ──────────────┐
//!  publisher │ packet in ─▶ cache (NACK) ─▶ per-viewer rewrite (SSRC,  │ ─▶ viewers
//!   RTP/RTCP │ seq, timestamp) ─▶ layer choice (simulcast) ─▶ packets  │    RTP
//!            │ viewer RTCP ─▶ keyframe requests (throttled), NACK      │
//!            └───────────── driven by link/ and the WebRTC layer ──────┘
//! ```
//!
//! - [`forward`]: the forwarding core, a plain state machine taking `now` as an
//!   argument, unit-tested on virtual time.
//! - `link`: the SFU's control connection to endpoints (registration, attach).

pub mod codec;
pub mod forward;
pub mod link;
pub mod media;
pub mod session;

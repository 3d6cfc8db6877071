//! # myvid-sfu — the live media plane
//!
//! One publisher per stream, any number of viewers; RTP is forwarded as received,
//! never decoded or re-encoded.
//!
//! ```text
//!  endpoint ──attach──▶ link ──ClientLink──▶ session (signalling: publish/join/answer/…)
//!                                                 │ Command (mpsc)        ▲ SessionEvent
//!                                                 ▼                       │
//!  browsers ◀══ SRTP/UDP, one socket ══▶ media task: MediaPlane ── forward::Stream per stream
//!                                         (every peer connection,   (rewrite, layers,
//!                                          no locks on the path)     keyframe throttle)
//! ```
//!
//! - [`forward`]: the forwarding core, a plain state machine taking `now` as an
//!   argument, unit-tested on virtual time.
//! - [`chat`]: live chat's rooms, a plain state machine like [`forward`], and the
//!   rooms by stream that sessions join (`chat_join`).
//! - [`codec`]: codec names and keyframe detection from RTP payloads.
//! - [`media`]: WebRTC sessions (webrtc-rs's sans-I/O `rtc`) on one UDP socket, run by
//!   one task.
//! - [`session`]: the signalling protocol (`myvid-proto`) on top of the media plane.
//! - [`drain`]: shutting down on purpose: no new sessions, live streams go on until
//!   they end or a deadline passes.
//! - [`link`]: the SFU's control connection to endpoints (registration, attach).
//! - [`record`]: recording streams as forwarded (in progress: the reorder buffer).

pub mod chat;
pub mod codec;
pub mod drain;
pub mod forward;
pub mod link;
pub mod media;
pub mod record;
pub mod session;

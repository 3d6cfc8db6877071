//! # The media plane: WebRTC sessions on one UDP socket, run by one task
//!
//! Publishers and viewers each get a peer connection (webrtc-rs's sans-I/O `rtc` core,
//! ICE-lite, the server's one host candidate in every SDP, so the server never trickles).
//! One tokio task owns every peer connection and every forwarding [`crate::forward::Stream`];
//! nothing on the packet path takes a lock. Other tasks talk to it through
//! [`MediaHandle`] (an mpsc channel of [`Command`]s with oneshot replies) and hear back on
//! each session's [`EventReceiver`].
//!
//! ```text
//!   signalling tasks ──Command──▶ ┌───────────── media task (run) ─────────────┐
//!   (crate::session)              │ select: socket readable │ command │ timer  │
//!        ▲                        │            │                               │
//!        │ SessionEvent           │      MediaPlane (no I/O, `now` passed in)  │
//!        └────────────────────────│  demux ─▶ publisher pc ─▶ RTP ─▶ Stream     │
//!                                 │            ▲ PLI             │ per viewer  │
//!                                 │  viewer pc ─┴─ PLI/REMB ◀── viewer pcs ◀──┘ │
//!                                 └──────────── datagrams out ─────────────────┘
//!                                                  ▲▼ one UDP socket
//!                                   browsers (publishers and viewers)
//! ```
//!
//! - [`run`] / [`spawn`] / [`spawn_with_shutdown`]: the I/O loop; the only code that
//!   reads the clock.
//! - [`MediaPlane`]: sessions, streams and forwarding as a state machine (no channel,
//!   no socket, no clock); `dispatch` serves commands against it and delivers its events.
//! - `demux`: which session a datagram belongs to (STUN USERNAME, then source address).
//! - `peer`: codecs, interceptors and ICE settings of each leg; `feedback`: the interceptor
//!   that lets viewers' PLI/FIR/REMB/NACK reach the SFU; `retransmit`: NACK answers as RTX.
//! - `publisher` / `viewer`: per-leg state (SSRCs and simulcast layers; payload type
//!   mapping and packet building).
//!
//! Starting it (the binary's job):
//!
//! ```no_run
//! # async fn start() -> std::io::Result<()> {
//! use myvid_sfu::media::{self, MediaConfig};
//! use tokio_util::sync::CancellationToken;
//! let shutdown = CancellationToken::new();
//! let config = MediaConfig { bind: "0.0.0.0:3478".parse().unwrap(), announce_ip: Some("203.0.113.7".parse().unwrap()), ..Default::default() };
//! let server = media::spawn_with_shutdown(config, shutdown.clone()).await?;
//! let offer = server.handle.view("stream-id").await;
//! # Ok(()) }
//! ```

mod codecs;
mod command;
mod config;
mod demux;
mod dispatch;
mod error;
mod event;
pub mod feedback;
mod peer;
mod plane;
mod publisher;
mod retransmit;
mod run;
pub mod srtp;
mod udp;
mod viewer;

pub use command::{
    COMMAND_QUEUE, Command, CommandReceiver, MediaHandle, MediaStats, Publication, Reply, ViewAnswer, ViewOffer,
};
pub use config::{ConfigError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_SESSIONS, MAX_CANDIDATES_PER_SESSION, MediaConfig};
pub use demux::stun_local_ufrag;
pub use error::MediaError;
pub use event::{EventReceiver, PlaneEvent, SessionEvent, SessionId};
pub use plane::{JOIN_DELAY, MediaPlane, Negotiated, Transmit};
pub use publisher::layer_of_rid;
pub use run::{MediaServer, RECV_BATCH, run, spawn, spawn_with_shutdown};
pub use udp::{SEND_BATCH, SOCKET_BUFFER_BYTES};

//! # myvid-loadgen — the pure parts of the SFU load tool
//!
//! The binary (`src/main.rs`) drives a real `myvid dev` child process with one synthetic
//! WHIP publisher and N WHEP viewers; this library holds what can be tested without a
//! network: the synthetic VP8 source ([`vp8`]), the statistics ([`stats`]) and the
//! `/proc/<pid>/stat` reader ([`procstat`]).

pub mod procstat;
pub mod stats;
pub mod vp8;

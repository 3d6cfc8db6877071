//! # myvid — the one binary
//!
//! `main` parses flags and calls into this library, so tests start exactly what users
//! start. Roles:
//!
//! ```text
//! myvid dev       API + endpoint + SFU + embedded stores on one port  (roles/dev.rs)
//! myvid api       the API alone                                       (roles/api.rs)
//! myvid endpoint  the endpoint alone (relay, WHIP/WHEP, uploads, TURN) (roles/endpoint.rs)
//! myvid sfu       the SFU alone, plus /healthz and /metrics           (roles/sfu.rs)
//! myvid import    load a catalogue of external videos                 (import.rs)
//! ```
//!
//! The roles share one data directory (or, later, MariaDB Galera and S3) and find each
//! other through the server registry in it.

pub mod config;
pub mod http_server;
pub mod import;
pub mod multipart_reaper;
pub mod openapi;
pub mod orphans;
pub mod recordings;
pub mod roles;
pub mod secret;
pub mod shutdown;
pub mod stream_states;

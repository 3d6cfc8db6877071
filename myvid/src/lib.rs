//! # myvid — the one binary
//!
//! `main` parses flags and calls into this library, so tests start exactly what users
//! start. Roles:
//!
//! ```text
//! myvid dev     API + endpoint + embedded stores on one port   (dev.rs)
//! myvid import  load a catalogue of external videos            (import.rs)
//! ```
//!
//! The production roles (`api`, `endpoint`, `sfu`, `worker`) are split out as their
//! backends (MariaDB Galera, S3, the SFU) arrive.

pub mod config;
pub mod dev;
pub mod endpoint_role;
pub mod http_server;
pub mod import;
pub mod openapi;
pub mod secret;
pub mod sfu_role;
pub mod shutdown;
pub mod stream_states;

//! The roles, each started by `run(config, listener, clock, shutdown)`: `myvid api`,
//! `myvid endpoint`, `myvid sfu` and `myvid worker` run one each; `myvid dev` composes
//! them all in one process. No role module uses another except `dev`; what they wire alike
//! (stores, [`myvid_core::Services`], the public URL, serving, leaving the registry)
//! is in [`common`].
//!
//! ```text
//!  api ─────┐
//!  endpoint ├─▶ common: open_services, public_url, serve (+ deregistration)
//!  sfu ─────┤
//!  worker ──┘
//!  dev ─▶ api + endpoint + sfu + worker in one process, on one port
//! ```

pub mod api;
pub mod common;
pub mod dev;
pub mod endpoint;
pub mod sfu;
pub mod worker;

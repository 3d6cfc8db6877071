//! # myvid-core — what the API and the endpoint share
//!
//! The HTTP roles (`myvid-api`, `myvid-endpoint`) are thin routers over the
//! operations here. Each request runs:
//!
//! ```text
//! axum handler ──▶ extractors (JsonBody, AuthUser) ──▶ accounts / uploads / publish
//!                                                         │
//!                          Services { meta, objects, clock, settings, metrics }
//!                                                         │
//!                       MetaStore (SQLite | Galera)   ObjectStore (local | S3)
//! ```
//!
//! Failures are [`ApiError`]s, answered as `{"error":{"code","message"}}`.

pub mod abuse;
pub mod accounts;
pub mod auth;
pub mod channels;
pub mod chat_token;
pub mod clock;
pub mod error;
pub mod hls;
pub mod ids;
pub mod json;
pub mod json_errors;
pub mod limits;
pub mod live;
pub mod manage;
pub mod media;
pub mod metrics;
pub mod new_video;
pub mod notify;
pub mod object_health;
pub mod password_work;
pub mod passwords;
pub mod playback;
pub mod purge;
pub mod recordings;
pub mod registry;
pub mod related;
pub mod route_table;
pub mod services;
pub mod tags;
pub mod text_schema;
pub mod ticks;
pub mod transcode;
pub mod turn_credentials;
pub mod uploads;
pub mod view;
pub mod views;

pub use auth::AuthUser;
pub use clock::Clock;
pub use error::{ApiError, ErrorBody, ErrorCode};
pub use json::JsonBody;
pub use services::{Services, Settings};

//! # myvid-store — the two storage seams of MyVid
//!
//! MyVid keeps two kinds of state, each behind one async trait:
//!
//! ```text
//!             ┌──────────────── MetaStore ────────────────┐
//!  api/  ───▶ │ users, sessions, videos, full-text search │ ──▶ SqliteMeta (embedded default)
//!  endpoint/  └───────────────────────────────────────────┘     MariaMeta (MariaDB / Galera, production)
//!             ┌─────────────── ObjectStore ───────────────┐
//!        ───▶ │ staging, previews, videos: signed URLs,   │ ──▶ LocalObjects (embedded default)
//!             │ multipart uploads, streamed put/get       │ ──▶ S3Objects (S3 / Ceph RGW, production)
//!             └───────────────────────────────────────────┘
//! ```
//!
//! Both traits return [`StoreError`], which tells apart the cases a caller reacts to
//! differently: not found, conflict, unavailable (retry later; the metadata store says
//! so with its own variant) and read-only.
//! Neither trait reads the clock: every call that depends on time takes `now` (Unix
//! seconds) as an argument, so behaviour is reproducible in tests.

pub mod error;
pub mod meta;
pub mod objects;

pub use error::StoreError;
pub use meta::{
    MetaStore, ServerEntry, ServerKind,
    mariadb::{MariaMeta, MariaOptions},
    sqlite::SqliteMeta,
};
pub use objects::{
    Bucket, ObjectStore,
    local::LocalObjects,
    s3::{S3Objects, S3Options},
};
